package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/policy"
	"github.com/quiver-data/quiver/reports"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
	"github.com/quiver-data/quiver/workerpool"
)

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var (
		wh             warehouseFlags
		authn          authFlags
		logs           logFlags
		dist           distFlags
		ops            opsFlags
		workers        listFlag
		listen         = fs.String("listen", "127.0.0.1:8815", "address to serve Flight SQL on")
		localWorkers   = fs.Int("local-workers", 2, "worker processes to start on this machine (ignored with --worker or --worker-dns)")
		secretFile     = fs.String("worker-secret-file", "", "file with the secret shared with --worker processes (env QUIVER_WORKER_SECRET holds it directly)")
		insecureNoAuth = fs.Bool("insecure-no-auth", false, "serve non-loopback clients without authentication")
		workerThreads  = fs.Int("worker-threads", 0, "DuckDB threads per local worker (0 = DuckDB's default)")
		workerMemory   = fs.String("worker-memory-limit", "", "DuckDB memory_limit per local worker: a size (4GB) or a share of the memory available (30%); default an equal share of 60% among the local workers")
		workerTemp     = fs.String("worker-temp-dir", "", "where local workers spill (default: the OS temp dir)")
		workerMaxTemp  = fs.String("worker-max-temp-size", "", "most spill space per local worker, e.g. 20GB (default: 90% of the free disk space)")
		coordMemory    = fs.String("coordinator-memory-limit", "20%", "memory_limit of the coordinator's own DuckDB (merges, system tables): a size or a share of the memory available")
		policyFile     = fs.String("policy-file", "", "YAML policy: table grants, column denials and masks, row filters from claims (deny by default once set)")
		auditLog       = fs.String("audit-log", "", "append audit records (JSON lines: principal, statement, tables, decision) to this file instead of the server log")
		ticketTTL      = fs.Duration("ticket-ttl", 5*time.Minute, "how long a query ticket can be redeemed")
	)
	wh.register(fs)
	authn.register(fs)
	logs.register(fs)
	dist.register(fs)
	ops.register(fs)
	var reps reportsFlags // scheduled reports: reportsflags.go
	reps.register(fs)
	fs.Var(&workers, "worker", "address of a remote worker (repeatable; comma-separated in QUIVER_WORKER)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := dist.validate(); err != nil {
		return err
	}
	remote := len(workers) > 0 || len(dist.workerDNS) > 0
	logger, err := logs.logger()
	if err != nil {
		return err
	}

	// Without authentication only this machine may connect.
	loopbackOnly := !*insecureNoAuth && !authn.enabled()
	authOpts, err := authn.serverOptions(ctx, logger)
	if err != nil {
		return err
	}
	if loopbackOnly && !isLoopback(*listen) {
		return fmt.Errorf("--listen %s is not a loopback address and no authentication is configured; "+
			"listen on 127.0.0.1, configure authentication (--jwt-secret-file, --jwt-public-key, --jwks, --users-file or --tls-client-ca), "+
			"or pass --insecure-no-auth to serve everyone who can reach it", *listen)
	}
	// Both listeners are bound before local workers take ports of their
	// own, so a port the caller chose cannot go to a worker meanwhile.
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	defer lis.Close()
	var opsLis net.Listener
	if ops.httpListen != "" {
		if opsLis, err = net.Listen("tcp", ops.httpListen); err != nil {
			return fmt.Errorf("listen %s: %w", ops.httpListen, err)
		}
		defer opsLis.Close()
	}
	if wh.isS3() {
		if _, err := engine.FindHTTPFS(wh.extDir()); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	warehouse, err := storage.Open(ctx, wh.warehouse, withLogger(wh.storageOptions(), logger, reg))
	if err != nil {
		return fmt.Errorf("open warehouse: %w", err)
	}
	// The coordinator's DuckDB only types statements and merges partials:
	// it reads no files at all, so its sandbox allows only the temp directory.
	coordLimit, err := engine.ResolveMemoryLimit(*coordMemory, "")
	if err != nil {
		return fmt.Errorf("--coordinator-memory-limit: %w", err)
	}
	db, err := engine.Open(ctx, engine.Options{Threads: 1, MemoryLimit: coordLimit.Value, Logger: logger, Sandbox: &engine.Sandbox{}})
	if err != nil {
		return fmt.Errorf("open coordinator duckdb: %w", err)
	}
	defer db.Close()

	secret, err := workerSecret(*secretFile, remote)
	if err != nil {
		return err
	}
	signer, err := fragwire.NewSigner(secret)
	if err != nil {
		return err
	}
	pool := workerpool.New(workerpool.Options{HealthInterval: dist.healthInterval, Signer: signer, Logger: logger, Registerer: reg})
	defer pool.Close()

	workerCtx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	var local *workerpool.Local
	discovery := make(chan struct{}) // closed when DNS discovery (if any) has stopped
	defer func() { stopWorkers(); <-discovery }()
	switch {
	case len(dist.workerDNS) > 0:
		d := workerpool.NewDNS(workerpool.DNSOptions{
			Names: dist.workerDNS, Static: workers, Interval: dist.dnsInterval, Members: pool, Logger: logger,
		})
		if err := d.Resolve(ctx); err != nil {
			// Pods may not exist yet: queries wait --worker-grace for them.
			logger.Warn("worker discovery", "err", err)
		}
		logger.Info("discovering workers through DNS", "names", []string(dist.workerDNS), "interval", dist.dnsInterval)
		go func() { defer close(discovery); d.Run(workerCtx) }()
	case len(workers) > 0:
		close(discovery)
		if err := pool.Set(workers); err != nil {
			return err
		}
		logger.Info("using remote workers", "workers", []string(workers))
	default:
		close(discovery)
		if *localWorkers < 1 {
			return errors.New("--local-workers must be at least 1 when no --worker or --worker-dns is given")
		}
		local, err = startLocalWorkers(workerCtx, localWorkerConfig{
			n: *localWorkers, wh: wh, logs: logs, secret: secret,
			threads: *workerThreads, memory: *workerMemory, pool: pool, logger: logger,
			tempDir: *workerTemp, maxTemp: *workerMaxTemp, drain: ops.drainTimeout,
		})
		if err != nil {
			return err
		}
	}

	coord := coordinator.New(coordinator.Options{
		DB: db, Workers: pool, Signer: signer, Logger: logger, Registerer: reg,
		StallTimeout: dist.stallTimeout, Grace: dist.grace, MaxPartialsBytes: int64(dist.maxPartials),
		Parallelism: dist.fragmentsParallel, Spool: warehouse,
	})
	// The spool sweeper deletes what a crashed coordinator's queries left
	// in _spool/; it stops before the warehouse is let go.
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	swept := make(chan struct{})
	go func() { defer close(swept); coord.RunSpoolSweeper(sweepCtx, dist.spoolTTL) }()
	defer func() { stopSweep(); <-swept }()
	var (
		planPolicy planner.Policy
		visible    func(context.Context, storage.TableName) bool
	)
	if *policyFile != "" {
		store, err := policy.OpenStore(*policyFile)
		if err != nil {
			return err
		}
		planPolicy = store
		visible = func(ctx context.Context, n storage.TableName) bool {
			_, err := store.Restrict(ctx, n)
			return err == nil
		}
		logger.Info("policy loaded", "file", *policyFile, "rules", len(store.Policy().Rules))
		// SIGHUP reloads the policy; an invalid file keeps the old one.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					if p, err := store.Reload(); err != nil {
						logger.Error("policy reload rejected; the previous policy stays in force", "file", *policyFile, "err", err)
					} else {
						logger.Info("policy reloaded", "file", *policyFile, "rules", len(p.Rules))
					}
				}
			}
		}()
	}
	// System tables: query history (persisted under the warehouse's
	// _system/ prefix), workers and tables.
	queryLog := systables.NewQueryLog(systables.QueryLogOptions{Keep: ops.historyKeep, Store: warehouse, Logger: logger})
	if err := queryLog.Load(ctx); err != nil {
		logger.Warn("query history not loaded; system.queries starts empty", "err", err)
	}
	reportRuns, err := reps.open(ctx, warehouse, wh.storageOptions(), db, logger)
	if err != nil {
		return err
	}
	system := systables.NewRegistry(queryLog, reportRuns,
		systables.Workers{List: func(ctx context.Context) []systables.WorkerRow { return workerRows(ctx, pool) }},
		systables.Tables{Warehouse: warehouse, Visible: visible})
	broadcastBytes, fromWorkers, err := dist.broadcastBytesFor(!remote, localWorkerMemory(*workerMemory, *localWorkers))
	if err != nil {
		return err
	}
	var broadcastBytesFor func(context.Context) int64
	if fromWorkers {
		smallest := &workerpool.SmallestMemory{Pool: pool}
		broadcastBytesFor = func(ctx context.Context) int64 { return smallest.Bytes(ctx) / 8 }
	}
	logger.Info("joins repartitioned from", "rows", dist.broadcastRows, "bytes", broadcastBytes, "bytesFromWorkers", fromWorkers,
		"finalAggregateGroups", dist.finalGroups)
	plan := planner.New(planner.Options{
		Policy: planPolicy,
		Parser: db, Catalog: systables.Catalog{Warehouse: warehouse, System: system}, TypeName: engine.DuckDBType,
		Partitioner: coordinator.Partitioner{Members: pool}, Typer: coord.Typer(), Functions: db, Footers: warehouse,
		BroadcastRows: dist.broadcastRows, BroadcastBytes: broadcastBytes, BroadcastBytesFor: broadcastBytesFor, FinalGroups: dist.finalGroups, NoCoLocation: !dist.coLocate, Logger: logger, Registerer: reg,
	})
	var auditLogger *slog.Logger
	if *auditLog != "" {
		f, err := os.OpenFile(*auditLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		defer f.Close()
		auditLogger = slog.New(slog.NewJSONHandler(f, nil))
	}
	srv, err := flightserver.New(flightserver.Options{
		AuditLogger: auditLogger, Visible: visible,
		Planner: plan, Runner: coord, Catalog: warehouse, TicketTTL: *ticketTTL, Routing: dist.routing, Compression: dist.compression,
		Version: version, Logger: logger, Registerer: reg, Principal: flightserver.PrincipalName,
		System: system, Admission: ops.admission(reg), Limits: ops.limits(),
		History: queryLog, Lookup: queryLog.Lookup, IsAdmin: ops.isAdmin,
		Actions: reps.actions(), ActionDescriptions: reports.ActionDescriptions,
	})
	if err != nil {
		return err
	}
	queryLog.SetRunning(srv.Running)
	if err := reps.start(ctx, srv, ops.isAdmin, reg); err != nil {
		return err
	}
	defer reps.stop()
	historyCtx, stopHistory := context.WithCancel(context.Background())
	defer stopHistory()
	go queryLog.Run(historyCtx, ops.historyFlush)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	gs := flightserver.NewGRPCServer(srv.FlightService(), flightserver.GRPCOptions{
		LoopbackOnly: loopbackOnly, Logger: logger, ServerOptions: authOpts, Health: hs,
	})

	if ops.httpListen != "" {
		closeHTTP := serveHTTP(opsLis, reg, func() error {
			if srv.Draining() {
				return errors.New("draining: shutting down")
			}
			if len(pool.Healthy()) == 0 {
				return errors.New("no healthy worker")
			}
			return nil
		}, logger)
		defer closeHTTP()
	}

	if loopbackOnly {
		logger.Warn("no authentication configured: accepting connections from this machine only")
	}
	logger.Info("authentication", "enabled", authn.enabled(), "tls", authn.tlsCert != "", "mtls", authn.tlsClientCA != "",
		"passwords", authn.usersFile != "")
	logger.Info("serving", "addr", lis.Addr().String(), "warehouse", warehouse.String(), "workers", pool.Addrs(),
		"resultRouting", dist.routing, "ipcCompression", dist.compression, "version", version)

	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	reps.stop() // running reports end as interrupted; catch-up reruns them
	// Drain: readiness and gRPC health turn false so load balancers stop
	// sending queries, new queries get UNAVAILABLE, running ones get
	// --drain-timeout to finish.
	logger.Info("draining", "timeout", ops.drainTimeout, "running", len(srv.Running()))
	srv.Drain()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	dctx, cancelDrain := context.WithTimeout(context.Background(), ops.drainTimeout)
	if err := srv.WaitIdle(dctx); err != nil {
		logger.Warn("drain", "err", err)
	}
	cancelDrain()
	logger.Info("shutting down")
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		gs.Stop()
	}
	stopHistory()
	fctx, cancelFlush := context.WithTimeout(context.Background(), 10*time.Second)
	if err := queryLog.Flush(fctx); err != nil {
		logger.Error("query history not persisted", "err", err)
	}
	cancelFlush()
	stopWorkers()
	<-discovery
	if local != nil {
		local.Wait()
	}
	return nil
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

func withLogger(o storage.Options, logger *slog.Logger, reg prometheus.Registerer) storage.Options {
	o.Logger, o.Registerer = logger, reg
	return o
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// workerSecret is the key that signs fragment tickets. Local workers get a
// fresh random one; remote workers must be given the same one as the
// coordinator.
func workerSecret(file string, remote bool) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read worker secret: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if s := os.Getenv("QUIVER_WORKER_SECRET"); s != "" {
		return []byte(s), nil
	}
	if remote {
		return nil, errors.New("--worker needs the secret the workers were started with: --worker-secret-file or QUIVER_WORKER_SECRET")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate worker secret: %w", err)
	}
	return []byte(hex.EncodeToString(b)), nil
}

type localWorkerConfig struct {
	n       int
	wh      warehouseFlags
	logs    logFlags
	secret  []byte
	threads int
	memory  string
	tempDir string
	maxTemp string
	drain   time.Duration
	pool    *workerpool.Pool
	logger  *slog.Logger
}

// startLocalWorkers runs `quiver worker` processes of this same binary.
func startLocalWorkers(ctx context.Context, c localWorkerConfig) (*workerpool.Local, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	command := []string{exe, "worker",
		"--listen", "127.0.0.1:0",
		"--warehouse", c.wh.warehouse,
		"--extension-dir", c.wh.extDir(),
		"--s3-region", c.wh.region(),
		"--s3-path-style", c.wh.s3PathStyle,
		"--log-format", c.logs.format,
		"--log-level", c.logs.level,
		"--threads", strconv.Itoa(c.threads),
	}
	if c.wh.s3Endpoint != "" {
		command = append(command, "--s3-endpoint", c.wh.s3Endpoint)
	}
	command = append(command, "--memory-limit", localWorkerMemory(c.memory, c.n), "--drain-timeout", c.drain.String())
	if c.tempDir != "" {
		command = append(command, "--temp-dir", c.tempDir)
	}
	if c.maxTemp != "" {
		command = append(command, "--max-temp-size", c.maxTemp)
	}
	// Workers get the environment minus Quiver's own variables (their
	// configuration is the command line above) plus the shared secret.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIVER_") {
			env = append(env, kv)
		}
	}
	env = append(env, "QUIVER_WORKER_SECRET="+string(c.secret))
	return workerpool.StartLocal(ctx, workerpool.LocalOptions{
		N: c.n, Command: command, Env: env, Logger: c.logger, StopTimeout: c.drain + 10*time.Second,
		OnChange: func(addrs []string) {
			if err := c.pool.Set(addrs); err != nil {
				c.logger.Error("update worker pool", "err", err)
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
