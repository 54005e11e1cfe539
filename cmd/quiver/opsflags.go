package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quiver-data/quiver/admission"
	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/resultcache"
)

// opsFlags are the coordinator's governance settings: admission control,
// per-query limits, administrators and shutdown.
type opsFlags struct {
	maxRunning   int
	maxQueued    int
	perUser      int
	maxWait      time.Duration
	queryTimeout time.Duration
	maxRows      int64
	maxBytes     byteSize
	maxSQL       byteSize
	sendTimeout  time.Duration
	idleTimeout  time.Duration
	prefetch     int
	adminRole    string
	drainTimeout time.Duration
	httpListen   string
	historyKeep  int
	historyFlush time.Duration
	cacheSize    byteSize
	cacheDir     string
	cacheDisk    byteSize
}

func (o *opsFlags) register(fs *flag.FlagSet) {
	o.maxSQL = 1 << 20
	fs.IntVar(&o.maxRunning, "max-concurrent-queries", 32, "queries that run at once; more wait in the queue")
	fs.IntVar(&o.maxQueued, "max-queued-queries", 128, "queries that may wait for a slot; beyond that new queries get UNAVAILABLE (0 = no queue)")
	fs.IntVar(&o.perUser, "max-queries-per-user", 8, "queries one principal may run at once (0 = --max-concurrent-queries)")
	fs.DurationVar(&o.maxWait, "max-queue-wait", time.Minute, "longest a query waits in the queue before UNAVAILABLE")
	fs.DurationVar(&o.queryTimeout, "query-timeout", 30*time.Minute, "longest a query may run, from admission to its last batch (0 = no limit); DEADLINE_EXCEEDED after")
	fs.Int64Var(&o.maxRows, "max-result-rows", 0, "fail a query whose result has more rows (0 = no limit)")
	fs.Var(&o.maxBytes, "max-result-bytes", "fail a query whose result is larger, e.g. 10GB (0 = no limit)")
	fs.Var(&o.maxSQL, "max-sql-length", "longest statement text accepted, e.g. 64KB")
	fs.DurationVar(&o.sendTimeout, "send-timeout", 5*time.Minute, "cut a result stream whose client reads nothing for this long")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", time.Minute, "end a planned query none of whose endpoints is fetched for this long")
	fs.IntVar(&o.prefetch, "prefetch-messages", 2, "start a result with one proxied endpoint (lookup, merged aggregate, top-k) on the workers when it is planned, buffering up to this many messages until the client fetches; 0 waits for the fetch")
	fs.StringVar(&o.adminRole, "admin-role", "admin", "principals with this role see every query in system.queries and may KILL QUERY any query")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long running queries may take to finish before they are cancelled")
	fs.StringVar(&o.httpListen, "http-listen", "", "address for /metrics, /healthz and /readyz over HTTP, e.g. 127.0.0.1:9815 (off when empty)")
	fs.StringVar(&o.httpListen, "metrics-listen", "", "old name of --http-listen")
	fs.IntVar(&o.historyKeep, "history-keep", 10000, "ended queries system.queries keeps in memory (older ones remain in _system/queries)")
	fs.DurationVar(&o.historyFlush, "history-flush", 10*time.Second, "how often new query history is appended to the warehouse's _system/queries/")
	fs.Var(&o.cacheSize, "result-cache-size", "memory for results of repeated deterministic statements, e.g. 256MB; one result may take an eighth (0 = no result cache)")
	fs.StringVar(&o.cacheDir, "result-cache-dir", "", "directory the result cache spills what it evicts from memory to (emptied of its files at start; none: memory only)")
	fs.Var(&o.cacheDisk, "result-cache-disk-size", "most bytes --result-cache-dir may hold (default 4 × --result-cache-size)")
}

// resultCache returns the result cache, nil without --result-cache-size.
func (o *opsFlags) resultCache(reg prometheus.Registerer) (*resultcache.Cache, error) {
	if o.cacheSize <= 0 {
		return nil, nil
	}
	c, err := resultcache.New(resultcache.Options{MaxBytes: int64(o.cacheSize), Dir: o.cacheDir, MaxDiskBytes: int64(o.cacheDisk), Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("--result-cache-dir %s: %w", o.cacheDir, err)
	}
	return c, nil
}

// admission returns the admission controller.
func (o *opsFlags) admission(reg prometheus.Registerer) *admission.Controller {
	return admission.New(admission.Options{
		MaxRunning: o.maxRunning, MaxQueued: o.maxQueued, PerUser: o.perUser, MaxWait: o.maxWait, Registerer: reg,
	})
}

// limits returns the per-query limits.
func (o *opsFlags) limits() flightserver.Limits {
	return flightserver.Limits{
		QueryTimeout: o.queryTimeout, MaxResultRows: o.maxRows, MaxResultBytes: int64(o.maxBytes),
		MaxSQLLength: int(o.maxSQL), SendTimeout: o.sendTimeout, IdleTimeout: o.idleTimeout,
		PrefetchMessages: o.prefetch,
	}
}

// isAdmin reports whether the caller has the admin role.
func (o *opsFlags) isAdmin(ctx context.Context) bool {
	p, ok := auth.FromContext(ctx)
	return ok && o.adminRole != "" && slices.Contains(p.Roles, o.adminRole)
}

// opsHTTP serves /metrics, /healthz and /readyz over HTTP: an actor of
// the run group, serving until stop closes it.
type opsHTTP struct {
	lis    net.Listener
	web    *http.Server
	logger *slog.Logger
}

// newOpsHTTP builds the server for lis; ready answers /readyz.
func newOpsHTTP(lis net.Listener, reg *prometheus.Registry, ready func() error, logger *slog.Logger) *opsHTTP {
	web := &http.Server{Handler: flightserver.OpsHandler(reg, ready), ReadHeaderTimeout: 10 * time.Second}
	return &opsHTTP{lis: lis, web: web, logger: logger}
}

// serve serves until stop; it returns nil once stopped.
func (o *opsHTTP) serve() error {
	o.logger.Info("operations endpoint", "addr", o.lis.Addr().String(), "paths", "/metrics /healthz /readyz")
	if err := o.web.Serve(o.lis); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", o.lis.Addr(), err)
	}
	return nil
}

// stop closes the listener and every connection.
func (o *opsHTTP) stop() { _ = o.web.Close() }
