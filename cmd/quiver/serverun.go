package main

import (
	"context"
	"errors"
	"time"

	rungroup "github.com/oklog/run"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// run runs serve's actors until ctx ends (SIGTERM, interrupt) or one of
// them fails, then stops them in the order they are added: reports end as
// interrupted, clients are drained and the Flight server stops, the query
// history is flushed, the workers stop, and the operations endpoint and
// the spool sweeper go last.
func (a *serveApp) run(ctx context.Context) error {
	var g rungroup.Group
	signalled, stopSignalled := untilDone(ctx)
	addInOrder(&g, signalled, stopSignalled)
	if a.hup != nil {
		hupCtx, stopHUP := context.WithCancel(context.Background())
		addInOrder(&g, func() error { return a.reloadOnHUP(hupCtx) }, stopHUP)
	}
	// buildServe started the scheduler; this actor only stops it.
	reportsRunning, stopReports := untilDone(context.Background())
	addInOrder(&g, reportsRunning, func() { a.cfg.reps.stop(); stopReports() })
	served := make(chan struct{})
	addInOrder(&g, func() error { defer close(served); return serveGRPC(a.grpc, a.lis) }, func() { a.stopFlight(served) })
	historyCtx, stopHistory := context.WithCancel(context.Background())
	addInOrder(&g, func() error { return a.runHistory(historyCtx) }, stopHistory)
	if a.cfg.detect.schedule != "" {
		detectCtx, stopDetect := context.WithCancel(context.Background())
		addInOrder(&g, func() error { return a.runDetectSchedule(detectCtx) }, stopDetect)
	}
	if a.lineage != nil {
		// Stopped after the reports and the queries: their last events
		// get a few seconds to be delivered.
		lineageCtx, stopLineage := context.WithCancel(context.Background())
		addInOrder(&g, func() error { a.lineage.Run(lineageCtx); return nil }, stopLineage)
	}
	addInOrder(&g, a.workers.run, a.workers.stop)
	if a.opsLis != nil {
		ops := newOpsHTTP(a.opsLis, a.reg, a.ready, a.logger)
		addInOrder(&g, ops.serve, ops.stop)
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	addInOrder(&g, func() error { a.coord.RunSpoolSweeper(sweepCtx, a.cfg.dist.spoolTTL); return nil }, stopSweep)

	if a.cfg.loopbackOnly() {
		a.logger.Warn("no authentication configured: accepting connections from this machine only")
	}
	authn := &a.cfg.authn
	a.logger.Info("authentication", "enabled", authn.enabled(), "tls", authn.tlsCert != "", "mtls", authn.tlsClientCA != "",
		"passwords", authn.usersFile != "")
	a.logger.Info("serving", "addr", a.lis.Addr().String(), "warehouse", a.warehouse.String(), "workers", a.pool.Addrs(),
		"resultRouting", a.cfg.dist.routing, "ipcCompression", a.cfg.dist.compression, "version", version)
	return g.Run()
}

// ready answers /readyz: not while draining, nor before a worker has
// answered a health check as serving.
func (a *serveApp) ready() error {
	if a.srv.Draining() {
		return errors.New("draining: shutting down")
	}
	if !a.pool.Ready() {
		return errors.New("no worker has answered a health check")
	}
	return nil
}

// stopFlight drains the Flight server and stops it. Readiness and gRPC
// health turn false so load balancers stop sending queries, new queries
// get UNAVAILABLE, running ones get --drain-timeout to finish. served is
// closed when serveFlight has returned: then there is nothing to drain.
func (a *serveApp) stopFlight(served <-chan struct{}) {
	select {
	case <-served:
		a.grpc.Stop()
		return
	default:
	}
	timeout := a.cfg.ops.drainTimeout
	a.logger.Info("draining", "timeout", timeout, "running", len(a.srv.Running()))
	a.srv.Drain()
	a.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	dctx, cancelDrain := context.WithTimeout(context.Background(), timeout)
	if err := a.srv.WaitIdle(dctx); err != nil {
		a.logger.Warn("drain", "err", err)
	}
	cancelDrain()
	a.logger.Info("shutting down")
	stopGRPCWithin(a.grpc, 10*time.Second)
}

// runHistory appends new query history to the warehouse every
// --history-flush until ctx ends, then flushes what is left.
func (a *serveApp) runHistory(ctx context.Context) error {
	a.queryLog.Run(ctx, a.cfg.ops.historyFlush)
	fctx, cancelFlush := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelFlush()
	if err := a.queryLog.Flush(fctx); err != nil {
		a.logger.Error("query history not persisted", "err", err)
	}
	return nil
}

// reloadOnHUP reloads the policy and the catalog file on every SIGHUP
// until ctx ends; a file that does not load keeps the one in force.
func (a *serveApp) reloadOnHUP(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.hup:
			if a.policy != nil {
				file := a.policySource()
				if _, err := a.policy.Reload(ctx); err != nil {
					a.logger.Error("policy reload rejected; the previous policy stays in force", "file", file, "err", err)
				} else {
					a.logger.Info("policy reloaded", "file", file)
				}
			}
			if a.meta != nil {
				file := a.cfg.catalogFile
				if c, err := a.meta.Reload(); err != nil {
					a.logger.Error("catalog file reload rejected; the previous one stays in force", "file", file, "err", err)
				} else {
					a.logger.Info("catalog file reloaded", "file", file, "tables", len(c.Tables()))
				}
			}
			a.checkViolations(ctx)
		}
	}
}
