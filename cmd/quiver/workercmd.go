package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/worker"
	"github.com/quiver-data/quiver/workerpool"
)

// ignoreInterruptsEnv is a test hook, not configuration: the worker ignores
// the cancel of its first N fragments, so tests can see a worker whose
// interrupt does not take recycle itself. Never set it in production.
const ignoreInterruptsEnv = "QUIVER_TEST_IGNORE_INTERRUPTS"

func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var (
		wh             warehouseFlags
		logs           logFlags
		res            resourceFlags
		listen         = fs.String("listen", "127.0.0.1:8816", "address to serve fragments on")
		threads        = fs.Int("threads", 0, "DuckDB threads (0 = DuckDB's default)")
		secretFile     = fs.String("secret-file", "", "file with the secret shared with the coordinator (env QUIVER_WORKER_SECRET holds it directly)")
		interruptGrace = fs.Duration("interrupt-grace", 10*time.Second, "a canceled fragment still running this long after DuckDB was interrupted makes the worker exit non-zero, to be restarted")
		httpListen     = fs.String("http-listen", "", "address for the worker's /metrics, /healthz and /readyz over HTTP (off when empty)")
		drainTimeout   = fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long running fragments may take to finish (new ones are refused) before the worker stops")
	)
	wh.register(fs)
	logs.register(fs)
	res.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := logs.logger()
	if err != nil {
		return err
	}
	if *interruptGrace <= 0 || *drainTimeout < 0 {
		return errors.New("--interrupt-grace must be positive and --drain-timeout not negative")
	}
	ignoreInterrupts := 0
	if v := os.Getenv(ignoreInterruptsEnv); v != "" {
		if ignoreInterrupts, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("%s=%q: want a number of fragments", ignoreInterruptsEnv, v)
		}
	}
	secret, err := workerSecret(*secretFile, true)
	if err != nil {
		return err
	}
	signer, err := fragwire.NewSigner(secret)
	if err != nil {
		return err
	}
	eopts, cleanup, err := res.engineOptions("worker", logger)
	if err != nil {
		return err
	}
	defer cleanup()
	eopts.Threads, eopts.Logger, eopts.Sandbox = *threads, logger, wh.sandbox()
	db, s3, err := wh.openEngine(ctx, eopts)
	if err != nil {
		return fmt.Errorf("open worker duckdb: %w", err)
	}
	// Closing waits for running queries; one whose interrupt did not
	// take would hold the exit forever, so closing is bounded, and skipped
	// when recycling.
	closeDB := true
	defer func() {
		if closeDB {
			closeWithin(db, *interruptGrace, logger)
		}
	}()
	settings, err := db.Resources(ctx)
	if err != nil {
		return err
	}
	logger.Info("worker resources", "memoryLimit", settings.MemoryLimit, "memoryLimitReason", res.reason,
		"tempDirectory", settings.TempDirectory, "maxTempSize", settings.MaxTempSize, "threads", settings.Threads)

	stuck := make(chan string, 1)
	reg := prometheus.NewRegistry()
	opts := worker.ServerOptions{
		DB: db, Signer: signer, Logger: logger, Registerer: reg, TempDir: settings.TempDirectory,
		Info: worker.Info{
			MemoryLimit: settings.MemoryLimit, MaxTempSize: settings.MaxTempSize,
			Threads: settings.Threads, Version: version,
		},
		InterruptGrace:   *interruptGrace,
		IgnoreInterrupts: ignoreInterrupts,
		OnStuck: func(queryID string) {
			select {
			case stuck <- queryID:
			default:
			}
		},
	}
	if s3 != nil {
		opts.Prepare = s3.Ensure
	}
	srv := worker.NewServer(opts)
	if *httpListen != "" {
		opsLis, err := net.Listen("tcp", *httpListen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", *httpListen, err)
		}
		closeHTTP := serveHTTP(opsLis, reg, func() error {
			if srv.Draining() {
				return errors.New("draining")
			}
			return nil
		}, logger)
		defer closeHTTP()
	}

	gs := flightserver.NewGRPCServer(srv, flightserver.GRPCOptions{Logger: logger, ServerOptions: srv.GRPCOptions()})
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	// The coordinator that started this process reads its address here.
	fmt.Fprintln(os.Stdout, workerpool.ListeningPrefix+lis.Addr().String())
	logger.Info("worker serving", "addr", lis.Addr().String(), "warehouse", wh.warehouse, "version", version)
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	recycle := func(queryID string) error {
		closeDB = false
		gs.Stop()
		return fmt.Errorf("worker recycled: a canceled fragment of query %s was still running %s after DuckDB was interrupted", queryID, *interruptGrace)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case q := <-stuck:
		return recycle(q)
	case <-ctx.Done():
	}

	// Drain: refuse new fragments and report NOT_SERVING, so coordinators
	// move on; let the running ones finish.
	srv.Drain()
	logger.Info("worker draining", "running", srv.Running(), "drainTimeout", *drainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), *drainTimeout)
	defer cancel()
	idle := make(chan error, 1)
	go func() { idle <- srv.WaitIdle(dctx) }()
	select {
	case err := <-idle:
		if err != nil {
			logger.Warn("drain deadline passed; canceling the fragments still running", "err", err)
			gs.Stop()
			return nil
		}
	case q := <-stuck:
		return recycle(q)
	}
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		gs.Stop()
	}
	logger.Info("worker stopped")
	return nil
}

// closeWithin closes db, giving up after timeout (the process is exiting
// and the OS reclaims what DuckDB holds).
func closeWithin(db *engine.DB, timeout time.Duration, logger *slog.Logger) {
	done := make(chan struct{})
	go func() { db.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		logger.Warn("duckdb did not close in time; exiting anyway", "timeout", timeout)
	}
}

// resourceFlags bound an embedded DuckDB's memory and spill files. The
// worker registers them; the coordinator can use the same for its own DuckDB.
type resourceFlags struct {
	memoryLimit string
	tempDir     string
	maxTempSize string
	// reason says how the memory limit was chosen, after engineOptions.
	reason string
}

func (r *resourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.memoryLimit, "memory-limit", "", "DuckDB memory_limit: a size (4GB, 512MiB) or a share of the memory available (60%); "+
		"default 75% of the cgroup memory limit (memory.max, memory.limit_in_bytes), or of the host RAM without one")
	fs.StringVar(&r.tempDir, "temp-dir", "", "directory under which DuckDB spills what does not fit in memory; each process uses its own subdirectory, removed on exit (default: the OS temp dir)")
	fs.StringVar(&r.maxTempSize, "max-temp-size", "", "DuckDB max_temp_directory_size: the most spill files may take, e.g. 20GB; 0 disables spilling (default: 90% of the free disk space)")
}

// engineOptions resolves the flags into engine options (memory limit,
// spill directory and limit) and creates the process's spill directory;
// cleanup removes it. role names the process in the directory's name.
func (r *resourceFlags) engineOptions(role string, logger *slog.Logger) (engine.Options, func(), error) {
	limit, err := engine.ResolveMemoryLimit(r.memoryLimit, "")
	if err != nil {
		return engine.Options{}, nil, fmt.Errorf("--memory-limit: %w", err)
	}
	r.reason = limit.Reason
	maxTemp := r.maxTempSize
	if maxTemp != "" {
		n, err := engine.ParseSize(maxTemp)
		if err != nil {
			return engine.Options{}, nil, fmt.Errorf("--max-temp-size: %w", err)
		}
		maxTemp = strconv.FormatInt(n, 10) + "B"
	}
	base := r.tempDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return engine.Options{}, nil, fmt.Errorf("--temp-dir: %w", err)
	}
	dir, err := os.MkdirTemp(base, "quiver-"+role+"-")
	if err != nil {
		return engine.Options{}, nil, fmt.Errorf("--temp-dir: %w", err)
	}
	cleanup := func() {
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("remove spill directory", "dir", dir, "err", err)
		}
	}
	return engine.Options{MemoryLimit: limit.Value, TempDirectory: dir, MaxTempSize: maxTemp}, cleanup, nil
}
