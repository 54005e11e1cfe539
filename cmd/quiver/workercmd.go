package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/quiver-data/quiver/engine"
)

// runWorker is `quiver worker`: configuration, then the components built
// from it, then the run group that serves fragments until a signal, a
// drain, or a fragment whose interrupt did not take (workerrun.go).
func runWorker(ctx context.Context, args []string) (err error) {
	cfg, err := parseWorkerConfig(args)
	if err != nil {
		return err
	}
	app, cleanup, err := buildWorker(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); err == nil {
			err = cerr
		}
	}()
	return app.run(ctx)
}

// workerConfig is the configuration of `quiver worker`: its flags, filled
// from the command line, the QUIVER_* environment and the --config file.
type workerConfig struct {
	wh             warehouseFlags
	logs           logFlags
	res            resourceFlags
	listen         string
	threads        int
	secretFile     string
	interruptGrace time.Duration
	httpListen     string
	drainTimeout   time.Duration
}

func (c *workerConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8816", "address to serve fragments on")
	fs.IntVar(&c.threads, "threads", 0, "DuckDB threads (0 = DuckDB's default)")
	fs.StringVar(&c.secretFile, "secret-file", "", "file with the secret shared with the coordinator (env QUIVER_WORKER_SECRET holds it directly)")
	fs.DurationVar(&c.interruptGrace, "interrupt-grace", 10*time.Second, "a canceled fragment still running this long after DuckDB was interrupted makes the worker exit non-zero, to be restarted")
	fs.StringVar(&c.httpListen, "http-listen", "", "address for the worker's /metrics, /healthz and /readyz over HTTP (off when empty)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long running fragments may take to finish (new ones are refused) before the worker stops")
	c.wh.register(fs)
	c.logs.register(fs)
	c.res.register(fs)
}

// parseWorkerConfig parses worker's arguments and checks the durations.
func parseWorkerConfig(args []string) (*workerConfig, error) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	c := &workerConfig{}
	c.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if c.interruptGrace <= 0 || c.drainTimeout < 0 {
		return nil, errors.New("--interrupt-grace must be positive and --drain-timeout not negative")
	}
	return c, nil
}

// closeWithin closes db, giving up after timeout (the process is exiting
// and the OS reclaims what DuckDB holds).
func closeWithin(db *engine.DB, timeout time.Duration, logger *slog.Logger) {
	done := make(chan struct{})
	go func() { _ = db.Close(); close(done) }() // exiting either way
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
