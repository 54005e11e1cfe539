package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/detect"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/lakehouse"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/openlineage"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/policy"
	"github.com/quiver-data/quiver/policy/rego"
	"github.com/quiver-data/quiver/search"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
	"github.com/quiver-data/quiver/violations"
	"github.com/quiver-data/quiver/workerpool"
)

// serveApp is `quiver serve` built from its configuration: the bound
// listeners and the components that the run group runs (serverun.go).
type serveApp struct {
	cfg       *serveConfig
	logger    *slog.Logger
	reg       *prometheus.Registry
	lis       net.Listener
	opsLis    net.Listener // nil without --http-listen
	warehouse *storage.Warehouse
	lake      *lakehouse.Catalogs // nil without --iceberg-catalog
	// catalog is every table with data: the warehouse's and the lake's.
	catalog  systables.DataCatalog
	db       *engine.DB // the coordinator's own DuckDB
	pool     *workerpool.Pool
	workers  *workerSet
	coord    *coordinator.Coordinator
	policy   *policy.Store      // nil without --policy-file or --policy-rego
	meta     *catalogmeta.Store // nil without --catalog-file
	hup      chan os.Signal     // SIGHUP, with a policy or a catalog file
	queryLog *systables.QueryLog
	lineage  *openlineage.Emitter // nil without --openlineage-url
	detect   *detect.Job
	// violations is system.violations.
	violations *violations.Table
	srv        *flightserver.Server
	health     *health.Server
	grpc       *grpc.Server
}

// buildServe opens and starts, in dependency order, what serve runs: by
// the time it returns, local workers listen and the report scheduler runs.
// On error it releases what it had built; otherwise cleanup does, after
// the run group, and returns the error of closing the audit log.
func buildServe(ctx context.Context, cfg *serveConfig) (_ *serveApp, cleanup func() error, err error) {
	var cl closers
	defer func() {
		if err != nil {
			_ = cl.close()
		}
	}()
	a := &serveApp{cfg: cfg, reg: prometheus.NewRegistry()}
	if a.logger, err = cfg.logs.logger(); err != nil {
		return nil, nil, err
	}
	authOpts, err := cfg.authn.serverOptions(ctx, a.logger)
	if err != nil {
		return nil, nil, err
	}
	// An S3 warehouse needs the httpfs extension on disk: say so before
	// taking any port.
	if cfg.wh.isS3() {
		if _, err := engine.FindHTTPFS(cfg.wh.extDir()); err != nil {
			return nil, nil, err
		}
	}
	if err := a.bind(&cl); err != nil {
		return nil, nil, err
	}
	if err := a.openStorage(ctx, &cl); err != nil {
		return nil, nil, err
	}
	signer, err := a.connectWorkers(ctx, &cl)
	if err != nil {
		return nil, nil, err
	}
	a.coord = coordinator.New(coordinator.Options{
		DB: a.db, Workers: a.pool, Signer: signer, Logger: a.logger, Registerer: a.reg,
		StallTimeout: cfg.dist.stallTimeout, Grace: cfg.dist.grace, MaxPartialsBytes: int64(cfg.dist.maxPartials),
		Parallelism: cfg.dist.fragmentsParallel, Spool: a.warehouse,
	})
	if err := a.openPolicy(ctx, &cl); err != nil {
		return nil, nil, err
	}
	if err := a.openCatalogFile(&cl); err != nil {
		return nil, nil, err
	}
	system, err := a.openSystemTables(ctx)
	if err != nil {
		return nil, nil, err
	}
	plan, err := a.buildPlanner(system)
	if err != nil {
		return nil, nil, err
	}
	if err := a.buildFlight(ctx, plan, system, authOpts, &cl); err != nil {
		return nil, nil, err
	}
	return a, cl.close, nil
}

// bind binds both listeners. It comes before the local workers take
// ports of their own, so a port the caller chose cannot go to a worker
// meanwhile.
func (a *serveApp) bind(cl *closers) error {
	var err error
	if a.lis, err = net.Listen("tcp", a.cfg.listen); err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.listen, err)
	}
	cl.add(func() { _ = a.lis.Close() })
	if addr := a.cfg.ops.httpListen; addr != "" {
		if a.opsLis, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		cl.add(func() { _ = a.opsLis.Close() })
	}
	return nil
}

// openStorage opens the warehouse and the coordinator's DuckDB. That
// DuckDB only types statements and merges partials: it reads no files at
// all, so its sandbox allows only the temp directory.
func (a *serveApp) openStorage(ctx context.Context, cl *closers) error {
	wh := &a.cfg.wh
	var err error
	if a.warehouse, err = storage.Open(ctx, wh.warehouse, withLogger(wh.storageOptions(), a.logger, a.reg)); err != nil {
		return fmt.Errorf("open warehouse: %w", err)
	}
	a.catalog = systables.DataCatalog{Warehouse: a.warehouse}
	if a.lake, err = a.cfg.ice.open(ctx, wh, lakehouse.Options{Logger: a.logger}); err != nil {
		return err
	}
	if a.lake != nil {
		cl.add(func() { _ = a.lake.Close() })
		a.catalog.Lake = a.lake
		// Local workers read the catalogs' data too.
		for _, l := range a.lake.Locations() {
			if !slices.Contains(wh.dataLocations, l) {
				wh.dataLocations = append(wh.dataLocations, l)
			}
		}
		a.logger.Info("iceberg catalogs", "names", a.lake.Names(), "locations", a.lake.Locations())
	}
	limit, err := engine.ResolveMemoryLimit(a.cfg.coordMemory, "")
	if err != nil {
		return fmt.Errorf("--coordinator-memory-limit: %w", err)
	}
	a.db, err = engine.Open(ctx, engine.Options{Threads: 1, MemoryLimit: limit.Value, Logger: a.logger, Sandbox: &engine.Sandbox{}})
	if err != nil {
		return fmt.Errorf("open coordinator duckdb: %w", err)
	}
	cl.add(func() { _ = a.db.Close() })
	return nil
}

// lakeNames are the Iceberg catalogs' names (none without any).
func (a *serveApp) lakeNames() []string {
	if a.lake == nil {
		return nil
	}
	return a.lake.Names()
}

func withLogger(o storage.Options, logger *slog.Logger, reg prometheus.Registerer) storage.Options {
	o.Logger, o.Registerer = logger, reg
	return o
}

// connectWorkers makes the pool the coordinator sends fragments to and
// fills it (serveworkers.go); it returns the signer of fragment tickets.
func (a *serveApp) connectWorkers(ctx context.Context, cl *closers) (*fragwire.Signer, error) {
	secret, err := workerSecret(a.cfg.secretFile, a.cfg.remote())
	if err != nil {
		return nil, err
	}
	signer, err := fragwire.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	a.pool = workerpool.New(workerpool.Options{HealthInterval: a.cfg.dist.healthInterval, Signer: signer, Logger: a.logger, Registerer: a.reg})
	cl.add(func() { _ = a.pool.Close() })
	if a.workers, err = startWorkers(ctx, a.cfg, secret, a.pool, a.logger); err != nil {
		return nil, err
	}
	cl.add(a.workers.close)
	return signer, nil
}

// openPolicy loads --policy-file or --policy-rego, if any. SIGHUP
// reloads it (serverun.go); it is caught from here on, so that one sent
// before the run group starts does not end the process.
func (a *serveApp) openPolicy(ctx context.Context, cl *closers) error {
	var load policy.Loader
	switch {
	case a.cfg.policyFile != "":
		// Columns are checked against the warehouse on every load, so
		// that a misspelt denied column refuses the file instead of
		// staying visible.
		check := func(ctx context.Context, p *policy.Policy) error { return p.Check(ctx, a.catalog) }
		load = policy.FileLoader(a.cfg.policyFile, check)
	case a.cfg.policyRego != "":
		load = rego.Loader(a.cfg.policyRego, rego.Options{Package: a.cfg.regoPackage})
	default:
		return nil
	}
	store, err := policy.Open(ctx, load, a.policyResources)
	if err != nil {
		return err
	}
	a.policy = store
	a.catchHUP(cl)
	a.logger.Info("policy loaded", "file", a.policySource())
	return nil
}

// policySource is the file or bundle the policy is read from.
func (a *serveApp) policySource() string {
	if a.cfg.policyRego != "" {
		return a.cfg.policyRego
	}
	return a.cfg.policyFile
}

// openCatalogFile loads --catalog-file, if any; SIGHUP reloads it with
// the policy.
func (a *serveApp) openCatalogFile(cl *closers) error {
	if a.cfg.catalogFile == "" {
		return nil
	}
	store, err := catalogmeta.OpenStore(a.cfg.catalogFile)
	if err != nil {
		return err
	}
	a.meta = store
	a.catchHUP(cl)
	a.logger.Info("catalog file loaded", "file", a.cfg.catalogFile, "tables", len(store.Catalog().Tables()))
	return nil
}

// catchHUP catches SIGHUP from here on (once), so that one sent before the
// run group starts does not end the process.
func (a *serveApp) catchHUP(cl *closers) {
	if a.hup != nil {
		return
	}
	a.hup = make(chan os.Signal, 1)
	signal.Notify(a.hup, syscall.SIGHUP)
	cl.add(func() { signal.Stop(a.hup) })
}

// searchService indexes every table and column with what the catalog
// file and Iceberg say about them; a reload of the file rebuilds it.
func (a *serveApp) searchService() *search.Service {
	return &search.Service{
		Load: func(ctx context.Context) ([]search.Doc, error) {
			return systables.SearchDocs(ctx, a.catalog, a.metaCatalog())
		},
		Version: a.metaVersion,
	}
}

// denied reports the columns the policy denies the caller in a table;
// nil without a policy.
func (a *serveApp) denied() func(context.Context, storage.TableName, []storage.Column) map[string]bool {
	if a.policy == nil {
		return nil
	}
	return a.policy.Denied
}

// visible reports whether the policy lets the caller see a table; it is
// nil, every table visible, without a policy.
func (a *serveApp) visible() func(context.Context, storage.TableName) bool {
	if a.policy == nil {
		return nil
	}
	return a.policy.Visible
}

// openSystemTables builds the system tables: query history and its
// lineage (persisted under the warehouse's _system/ prefix), report runs,
// workers and tables.
func (a *serveApp) openSystemTables(ctx context.Context) (*systables.Registry, error) {
	a.queryLog = systables.NewQueryLog(systables.QueryLogOptions{Keep: a.cfg.ops.historyKeep, Store: a.warehouse, Logger: a.logger})
	if err := a.queryLog.Load(ctx); err != nil {
		a.logger.Warn("query history not loaded; system.queries starts empty", "err", err)
	}
	reportRuns, err := a.cfg.reps.open(ctx, a.warehouse, a.cfg.wh.storageOptions(), a.db, a.logger)
	if err != nil {
		return nil, err
	}
	pool := a.pool
	a.detect = a.newDetectJob()
	if err := a.detect.Load(ctx); err != nil {
		a.logger.Warn("detection findings not loaded; system.detections starts empty", "err", err)
	}
	a.violations = a.violationsTable()
	a.checkViolations(ctx)
	tables := []systables.Table{a.queryLog, systables.LineageTable{Log: a.queryLog}, reportRuns,
		detect.Table{Job: a.detect, Visible: a.visible(), Denied: a.denied(), Meta: a.metaCatalog}, a.violations,
		systables.Workers{List: func(ctx context.Context) []systables.WorkerRow { return workerRows(ctx, pool) }},
		systables.Tables{Warehouse: a.catalog, Visible: a.visible(), Meta: a.metaCatalog},
		systables.Columns{Warehouse: a.catalog, Visible: a.visible(), Denied: a.denied(), Meta: a.metaCatalog},
		systables.Schemas{Warehouse: a.catalog, Visible: a.visible(), Meta: a.metaCatalog}}
	if a.lake != nil {
		tables = append(tables, systables.IcebergSnapshots{Lake: a.lake, Visible: a.visible()}, systables.IcebergFiles{Lake: a.lake, Visible: a.visible()})
	}
	return systables.NewRegistry(tables...), nil
}

// buildPlanner builds the planner, with the limits under which a join
// broadcasts its smaller side rather than repartitioning both.
func (a *serveApp) buildPlanner(system *systables.Registry) (*planner.Planner, error) {
	c := a.cfg
	broadcastBytes, fromWorkers, err := c.dist.broadcastBytesFor(!c.remote(), localWorkerMemory(c.workerMemory, c.localWorkers))
	if err != nil {
		return nil, err
	}
	var broadcastBytesFor func(context.Context) int64
	if fromWorkers {
		smallest := &workerpool.SmallestMemory{Pool: a.pool}
		broadcastBytesFor = func(ctx context.Context) int64 { return smallest.Bytes(ctx) / 8 }
	}
	a.logger.Info("joins repartitioned from", "rows", c.dist.broadcastRows, "bytes", broadcastBytes, "bytesFromWorkers", fromWorkers,
		"finalAggregateGroups", c.dist.finalGroups)
	var policy planner.Policy // a nil *PolicyStore would be a non-nil Policy
	if a.policy != nil {
		policy = a.policy
	}
	return planner.New(planner.Options{
		Policy: policy,
		Parser: a.db, Catalog: systables.Catalog{Warehouse: a.catalog, System: system}, TypeName: engine.DuckDBType,
		Partitioner: coordinator.Partitioner{Members: a.pool}, Typer: a.coord.Typer(), Functions: a.db, Footers: a.warehouse,
		BroadcastRows: c.dist.broadcastRows, BroadcastBytes: broadcastBytes, BroadcastBytesFor: broadcastBytesFor,
		FinalGroups: c.dist.finalGroups, CorrelatedStageRows: c.dist.correlatedRows, EagerStageRows: c.dist.eagerRows, NoCoLocation: !c.dist.coLocate, Logger: a.logger, Registerer: a.reg,
	}), nil
}

// buildFlight builds the Flight SQL server and its gRPC server, and
// starts the report scheduler, which runs its queries through it.
func (a *serveApp) buildFlight(ctx context.Context, plan *planner.Planner, system *systables.Registry, authOpts []grpc.ServerOption, cl *closers) error {
	c := a.cfg
	var auditLogger *slog.Logger
	if c.auditLog != "" {
		l, closeLog, err := openAuditLog(c.auditLog)
		if err != nil {
			return err
		}
		cl.addErr(closeLog)
		auditLogger = l
	}
	ol, err := c.ol.emitter(a.logger, a.reg)
	if err != nil {
		return err
	}
	var ended func(systables.QueryRecord, func() ([]lineage.Dataset, []lineage.Field))
	if ol != nil {
		a.lineage, ended, c.reps.observe = ol, ol.QueryEnded, ol.ReportRecorded
	}
	cache, err := c.ops.resultCache(a.reg)
	if err != nil {
		return err
	}
	srv, err := flightserver.New(flightserver.Options{
		Planner: plan, Runner: a.coord, Catalog: a.catalog, IcebergCatalogs: a.lakeNames(),
		Access:   flightserver.Access{Principal: flightserver.PrincipalName, IsAdmin: c.ops.isAdmin, Visible: a.visible(), Denied: a.denied()},
		Delivery: flightserver.Delivery{Routing: c.dist.routing, Compression: c.dist.compression, TicketTTL: c.ticketTTL},
		Version:  version, Logger: a.logger, AuditLogger: auditLogger, Registerer: a.reg,
		System: system, Admission: c.ops.admission(a.reg), Limits: c.ops.limits(),
		History: a.queryLog, Ended: ended, Actions: a.actions(), Meta: a.metaCatalog, Search: a.searchService(),
		ResultCache: cache,
	})
	if err != nil {
		return err
	}
	a.srv = srv
	a.queryLog.SetRunning(srv.Running)
	if err := c.reps.start(ctx, srv, c.ops.isAdmin, a.reg); err != nil {
		return err
	}
	cl.add(c.reps.stop)
	a.health = health.NewServer()
	a.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	a.grpc = flightserver.NewGRPCServer(srv.FlightService(), flightserver.GRPCOptions{
		LoopbackOnly: c.loopbackOnly(), Logger: a.logger, ServerOptions: authOpts, Health: a.health,
	})
	return nil
}
