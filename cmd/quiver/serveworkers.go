package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quiver-data/quiver/systables"
	"github.com/quiver-data/quiver/workerpool"
)

// workerSet is where the coordinator's workers come from: DNS discovery,
// a fixed list (--worker), or worker processes of its own.
type workerSet struct {
	ctx   context.Context // ends when the workers are to stop
	stop  context.CancelFunc
	dns   *workerpool.DNS   // nil unless --worker-dns
	local *workerpool.Local // nil unless local workers
}

// startWorkers fills pool from the configured source. Local workers are
// started (and listening) when it returns; DNS names are resolved once,
// and re-resolved by run.
func startWorkers(ctx context.Context, c *serveConfig, secret []byte, pool *workerpool.Pool, logger *slog.Logger) (*workerSet, error) {
	// The workers outlive ctx (the signal to stop): they go once the
	// clients are drained, when stop is called.
	workerCtx, stop := context.WithCancel(context.Background())
	w := &workerSet{ctx: workerCtx, stop: stop}
	switch {
	case len(c.dist.workerDNS) > 0:
		w.dns = workerpool.NewDNS(workerpool.DNSOptions{
			Names: c.dist.workerDNS, Static: c.workers, Interval: c.dist.dnsInterval, Members: pool, Logger: logger,
		})
		if err := w.dns.Resolve(ctx); err != nil {
			// Pods may not exist yet: queries wait --worker-grace for them.
			logger.Warn("worker discovery", "err", err)
		}
		logger.Info("discovering workers through DNS", "names", []string(c.dist.workerDNS), "interval", c.dist.dnsInterval)
	case len(c.workers) > 0:
		if err := pool.Set(c.workers); err != nil {
			stop()
			return nil, err
		}
		logger.Info("using remote workers", "workers", []string(c.workers))
	default:
		local, err := startLocalWorkers(workerCtx, c, secret, pool, logger)
		if err != nil {
			stop()
			return nil, err
		}
		w.local = local
	}
	return w, nil
}

// run keeps the workers coming until stop: DNS discovery re-resolves the
// names, the local supervisor restarts a worker that exits. It returns once
// the local workers have exited.
func (w *workerSet) run() error {
	switch {
	case w.dns != nil:
		w.dns.Run(w.ctx)
	case w.local != nil:
		w.local.Wait()
	default:
		<-w.ctx.Done()
	}
	return nil
}

// close stops the workers and waits for local ones to exit; safe after
// run has returned.
func (w *workerSet) close() {
	w.stop()
	if w.local != nil {
		w.local.Wait()
	}
}

// startLocalWorkers runs `quiver worker` processes of this same binary.
func startLocalWorkers(ctx context.Context, c *serveConfig, secret []byte, pool *workerpool.Pool, logger *slog.Logger) (*workerpool.Local, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	drain := c.ops.drainTimeout
	command := []string{exe, "worker",
		"--listen", "127.0.0.1:0",
		"--warehouse", c.wh.warehouse,
		"--extension-dir", c.wh.extDir(),
		"--s3-region", c.wh.region(),
		"--s3-path-style", c.wh.s3PathStyle,
		"--log-format", c.logs.format,
		"--log-level", c.logs.level,
		"--threads", strconv.Itoa(c.workerThreads),
	}
	if c.wh.s3Endpoint != "" {
		command = append(command, "--s3-endpoint", c.wh.s3Endpoint)
	}
	for _, l := range c.wh.dataLocations {
		command = append(command, "--data-location", l)
	}
	command = append(command, "--memory-limit", localWorkerMemory(c.workerMemory, c.localWorkers), "--drain-timeout", drain.String())
	if c.workerTemp != "" {
		command = append(command, "--temp-dir", c.workerTemp)
	}
	if c.workerMaxTemp != "" {
		command = append(command, "--max-temp-size", c.workerMaxTemp)
	}
	// Workers get the environment minus Quiver's own variables (their
	// configuration is the command line above) plus the shared secret.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIVER_") {
			env = append(env, kv)
		}
	}
	env = append(env, "QUIVER_WORKER_SECRET="+string(secret))
	return workerpool.StartLocal(ctx, workerpool.LocalOptions{
		N: c.localWorkers, Command: command, Env: env, Logger: logger, StopTimeout: drain + 10*time.Second,
		OnChange: func(addrs []string) {
			if err := pool.Set(addrs); err != nil {
				logger.Error("update worker pool", "err", err)
			}
		},
	})
}

// localWorkerMemory is the memory_limit setting of each local worker:
// the configured one, or, since local workers share this machine (and
// cgroup), an equal share of 60% of it, leaving the rest to the
// coordinator, Arrow buffers and the Go runtimes.
func localWorkerMemory(setting string, n int) string {
	if setting != "" {
		return setting
	}
	return fmt.Sprintf("%d%%", max(1, 60/max(1, n)))
}

// workerRows is system.workers: the pool's members and their own reports.
func workerRows(ctx context.Context, pool *workerpool.Pool) []systables.WorkerRow {
	var rows []systables.WorkerRow
	for _, st := range pool.Status(ctx) {
		r := systables.WorkerRow{
			Address: st.Addr, Healthy: st.Healthy, LastCheck: st.LastCheck, Running: st.Running, Served: st.Served,
			MemoryLimit: st.MemoryLimit, Threads: st.Threads, Draining: st.Draining, Version: st.Version,
		}
		if st.Err != nil {
			r.Error = st.Err.Error()
		}
		rows = append(rows, r)
	}
	return rows
}
