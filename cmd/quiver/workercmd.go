package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/worker"
)

func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var (
		wh         warehouseFlags
		logs       logFlags
		listen     = fs.String("listen", "127.0.0.1:8816", "address to serve fragments on")
		threads    = fs.Int("threads", 0, "DuckDB threads (0 = DuckDB's default)")
		memory     = fs.String("memory-limit", "", "DuckDB memory_limit, e.g. 4GB")
		secretFile = fs.String("secret-file", "", "file with the secret shared with the coordinator (env QUIVER_WORKER_SECRET holds it directly)")
	)
	wh.register(fs)
	logs.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := logs.logger()
	if err != nil {
		return err
	}
	secret, err := workerSecret(*secretFile, true)
	if err != nil {
		return err
	}
	signer, err := worker.NewSigner(secret)
	if err != nil {
		return err
	}
	db, s3, err := wh.openEngine(ctx, engine.Options{Threads: *threads, MemoryLimit: *memory, Logger: logger, Sandbox: wh.sandbox()})
	if err != nil {
		return fmt.Errorf("open worker duckdb: %w", err)
	}
	defer db.Close()
	opts := worker.ServerOptions{DB: db, Signer: signer, Logger: logger, Registerer: prometheus.NewRegistry()}
	if s3 != nil {
		opts.Prepare = s3.Ensure
	}
	gs := flightserver.NewGRPCServer(worker.NewServer(opts), flightserver.GRPCOptions{Logger: logger})
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	// The coordinator that started this process reads its address here.
	fmt.Fprintln(os.Stdout, worker.ListeningPrefix+lis.Addr().String())
	logger.Info("worker serving", "addr", lis.Addr().String(), "warehouse", wh.warehouse)
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		gs.Stop()
	}
	return nil
}
