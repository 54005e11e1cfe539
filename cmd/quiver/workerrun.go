package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	rungroup "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/worker"
	"github.com/quiver-data/quiver/workerpool"
)

// workerApp is `quiver worker` built from its configuration.
type workerApp struct {
	cfg    *workerConfig
	logger *slog.Logger
	srv    *worker.Server
	grpc   *grpc.Server
	lis    net.Listener
	ops    *opsHTTP    // nil without --http-listen
	stuck  chan string // the query of a fragment whose interrupt did not take

	// Set by the lifecycle actor before it returns, read by the ones
	// stopped after it.
	hardStop bool // stop gRPC at once instead of gracefully
	recycled bool // leave DuckDB open: a fragment still running would hold Close
}

// buildWorker opens the worker's DuckDB and builds its servers, with
// both listeners bound. On error it releases what it had built; otherwise
// cleanup does, after the run group.
func buildWorker(ctx context.Context, cfg *workerConfig) (_ *workerApp, cleanup func() error, err error) {
	var cl closers
	defer func() {
		if err != nil {
			_ = cl.close()
		}
	}()
	a := &workerApp{cfg: cfg, stuck: make(chan string, 1)}
	if a.logger, err = cfg.logs.logger(); err != nil {
		return nil, nil, err
	}
	ignoreInterrupts, err := ignoreInterruptsHook()
	if err != nil {
		return nil, nil, err
	}
	secret, err := workerSecret(cfg.secretFile, true)
	if err != nil {
		return nil, nil, err
	}
	signer, err := fragwire.NewSigner(secret)
	if err != nil {
		return nil, nil, err
	}
	opts, err := a.openEngine(ctx, &cl)
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	opts.Signer, opts.Logger, opts.Registerer = signer, a.logger, reg
	opts.InterruptGrace, opts.IgnoreInterrupts = cfg.interruptGrace, ignoreInterrupts
	opts.OnStuck = func(queryID string) {
		select {
		case a.stuck <- queryID:
		default:
		}
	}
	if err := a.buildServers(opts, reg, &cl); err != nil {
		return nil, nil, err
	}
	return a, cl.close, nil
}

// openEngine opens the worker's DuckDB in a spill directory of its own
// and returns the server options that describe it: the DuckDB, the
// settings it resolved, and the refresh of its S3 credentials.
func (a *workerApp) openEngine(ctx context.Context, cl *closers) (worker.ServerOptions, error) {
	c := a.cfg
	eopts, removeSpill, err := c.res.engineOptions("worker", a.logger)
	if err != nil {
		return worker.ServerOptions{}, err
	}
	cl.add(removeSpill)
	eopts.Threads, eopts.Logger, eopts.Sandbox = c.threads, a.logger, c.wh.sandbox()
	db, s3, err := c.wh.openEngine(ctx, eopts)
	if err != nil {
		return worker.ServerOptions{}, fmt.Errorf("open worker duckdb: %w", err)
	}
	// Closing waits for running queries; one whose interrupt did not
	// take would hold the exit forever, so closing is bounded, and skipped
	// when recycling.
	cl.add(func() {
		if !a.recycled {
			closeWithin(db, c.interruptGrace, a.logger)
		}
	})
	settings, err := db.Resources(ctx)
	if err != nil {
		return worker.ServerOptions{}, err
	}
	a.logger.Info("worker resources", "memoryLimit", settings.MemoryLimit, "memoryLimitReason", c.res.reason,
		"tempDirectory", settings.TempDirectory, "maxTempSize", settings.MaxTempSize, "threads", settings.Threads)
	opts := worker.ServerOptions{
		DB: db, TempDir: settings.TempDirectory,
		Info: worker.Info{
			MemoryLimit: settings.MemoryLimit, MaxTempSize: settings.MaxTempSize,
			Threads: settings.Threads, Version: version,
		},
	}
	if s3 != nil {
		opts.Prepare = s3.Ensure
		opts.Vended = worker.NewVended(db, s3.Base())
	}
	return opts, nil
}

// buildServers builds the fragment server, its gRPC server and the
// operations endpoint, and binds their listeners.
func (a *workerApp) buildServers(opts worker.ServerOptions, reg *prometheus.Registry, cl *closers) error {
	c := a.cfg
	a.srv = worker.NewServer(opts)
	if c.httpListen != "" {
		opsLis, err := net.Listen("tcp", c.httpListen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", c.httpListen, err)
		}
		cl.add(func() { _ = opsLis.Close() })
		a.ops = newOpsHTTP(opsLis, reg, func() error {
			if a.srv.Draining() {
				return errors.New("draining")
			}
			return nil
		}, a.logger)
	}
	a.grpc = flightserver.NewGRPCServer(a.srv, flightserver.GRPCOptions{Logger: a.logger, ServerOptions: a.srv.GRPCOptions()})
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.listen, err)
	}
	cl.add(func() { _ = lis.Close() })
	a.lis = lis
	return nil
}

// run serves fragments until ctx ends (SIGTERM, interrupt), a fragment's
// interrupt does not take, or a server fails. The lifecycle actor decides
// how the others stop: gracefully after a drain, or at once.
func (a *workerApp) run(ctx context.Context) error {
	var g rungroup.Group
	lifeCtx, stopLife := context.WithCancel(context.Background())
	addInOrder(&g, func() error { return a.lifecycle(ctx, lifeCtx) }, stopLife)
	served := make(chan struct{})
	addInOrder(&g, func() error { defer close(served); return serveGRPC(a.grpc, a.lis) }, func() { a.stopGRPC(served) })
	if a.ops != nil {
		addInOrder(&g, a.ops.serve, a.ops.stop)
	}
	// The coordinator that started this process reads its address here.
	fmt.Fprintln(os.Stdout, workerpool.ListeningPrefix+a.lis.Addr().String())
	a.logger.Info("worker serving", "addr", a.lis.Addr().String(), "warehouse", a.cfg.wh.warehouse, "version", version)
	return g.Run()
}

// lifecycle waits for ctx to end, then drains. A stuck fragment, before or
// during the drain, recycles the worker: its error is the process's.
// stopped ends the wait when another actor returned first.
func (a *workerApp) lifecycle(ctx, stopped context.Context) error {
	select {
	case q := <-a.stuck:
		return a.recycle(q)
	case <-stopped.Done():
		return nil
	case <-ctx.Done():
	}
	// Drain: refuse new fragments and report NOT_SERVING, so coordinators
	// move on; let the running ones finish.
	a.srv.Drain()
	a.logger.Info("worker draining", "running", a.srv.Running(), "drainTimeout", a.cfg.drainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.drainTimeout)
	defer cancel()
	idle := make(chan error, 1)
	go func() { idle <- a.srv.WaitIdle(dctx) }()
	select {
	case err := <-idle:
		if err != nil {
			a.logger.Warn("drain deadline passed; canceling the fragments still running", "err", err)
			a.hardStop = true
		}
		return nil
	case q := <-a.stuck:
		return a.recycle(q)
	}
}

// recycle ends the worker without closing DuckDB, for its supervisor to
// start a fresh one.
func (a *workerApp) recycle(queryID string) error {
	a.hardStop, a.recycled = true, true
	return fmt.Errorf("worker recycled: a canceled fragment of query %s was still running %s after DuckDB was interrupted", queryID, a.cfg.interruptGrace)
}

// stopGRPC stops the gRPC server: at once after a recycle, a missed drain
// deadline or a failed Serve (served closed), else gracefully.
func (a *workerApp) stopGRPC(served <-chan struct{}) {
	select {
	case <-served:
		a.hardStop = true
	default:
	}
	if a.hardStop {
		a.grpc.Stop()
		return
	}
	stopGRPCWithin(a.grpc, 5*time.Second)
	a.logger.Info("worker stopped")
}
