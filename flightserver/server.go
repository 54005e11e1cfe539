package flightserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/quiver-data/quiver/admission"
	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/resultcache"
	"github.com/quiver-data/quiver/search"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// Planner plans SQL; *planner.Planner is one.
type Planner interface {
	Plan(ctx context.Context, sql string) (*planner.Plan, error)
	// Type plans only what a statement's result schema needs (Plan.Probe
	// and Plan.Tables); the plan cannot run.
	Type(ctx context.Context, sql string) (*planner.Plan, error)
}

// Runner types and runs plans; *coordinator.Coordinator is one. Its
// roles are separate interfaces so each can be read (and faked) alone.
type Runner interface {
	Typer
	Streamer
	Exchanger
	Router
}

// Typer gives result schemas without running anything.
type Typer interface {
	Schema(ctx context.Context, plan *planner.Plan, args []any) (*arrow.Schema, error)
	TableSchema(ctx context.Context, t *storage.Table) (*arrow.Schema, error)
	// ParamTypes are the Arrow types a plan's parameters should be sent as.
	ParamTypes(ctx context.Context, plan *planner.Plan) ([]arrow.DataType, error)
}

// Streamer runs what a proxied endpoint streams to its client.
type Streamer interface {
	// Stream relays a fragment of a scan plan from a worker. Every
	// message it gives send is its own: Stream does not touch it again,
	// so send may keep it (a prefetch buffers them). Batches come
	// compressed with job.Codec.
	Stream(ctx context.Context, job coordinator.FragmentJob, send func(*flight.FlightData) error) error
	// Merge runs every fragment of a merge plan and writes the merged
	// result, batches compressed with job.Codec.
	Merge(ctx context.Context, job coordinator.Job, plan *planner.Plan, out flight.DataStreamWriter) error
	// Local runs a local plan's statement on the coordinator over tables.
	Local(ctx context.Context, sql string, tables map[string]array.RecordReader, args []any, out flight.DataStreamWriter) error
}

// Exchanger runs a plan's exchanges into the spool and removes them.
type Exchanger interface {
	// Exchange runs a round of a plan's exchanges (their producers write
	// the spool) and returns the files of each part, parts[x][p], for
	// Plan.Bind.
	Exchange(ctx context.Context, job coordinator.Job, round *planner.Round) ([][][]string, error)
	// Release removes what a query left in the spool; nothing is fine.
	Release(ctx context.Context, queryID string) error
}

// Router hands fragments to clients that fetch them from workers.
type Router interface {
	// Route picks the worker a client fetches a fragment from directly
	// and returns its address and a ticket valid for ttl; the worker
	// compresses batches with job.Codec and streams nothing but the
	// announced schema.
	Route(ctx context.Context, job coordinator.FragmentJob, announced *arrow.Schema, statement string, ttl time.Duration) (string, []byte, error)
}

// Result routing modes (Delivery.Routing).
const (
	// RoutingProxy relays every result through the coordinator.
	RoutingProxy = "proxy"
	// RoutingDirect sends clients of scan plans to the workers themselves.
	RoutingDirect = "direct"
)

// Catalog lists and resolves warehouse tables; *storage.Warehouse is one.
type Catalog interface {
	Tables(ctx context.Context) ([]storage.TableName, error)
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// NamespaceLister is a Catalog that also knows an Iceberg catalog's
// namespaces, empty ones included (systables.DataCatalog is one).
type NamespaceLister interface {
	Namespaces(ctx context.Context, catalog string) ([]string, error)
}

// Options configure the service.
type Options struct {
	Planner Planner
	Runner  Runner
	Catalog Catalog
	// IcebergCatalogs name the Iceberg catalogs Catalog serves besides the
	// warehouse's catalog quiver: a table named {Schema: "<catalog>.<ns>"}
	// is listed as catalog <catalog>, schema <ns>.
	IcebergCatalogs []string
	// Access says who the caller is and what it may see.
	Access Access
	// Delivery says how results reach clients.
	Delivery Delivery
	// Version is reported in GetSqlInfo.
	Version   string
	Allocator memory.Allocator
	Logger    *slog.Logger
	// AuditLogger receives one record per statement, allowed or refused;
	// nil sends them to Logger.
	AuditLogger *slog.Logger
	Registerer  prometheus.Registerer
	// System serves the system tables local plans read; nil has none.
	System *systables.Registry
	// Admission bounds running and queued queries; nil admits everything.
	Admission *admission.Controller
	// Limits bound every query.
	Limits Limits
	// History receives every query when it ends and finds ended ones for
	// the progress action; nil keeps none.
	History History
	// Ended, when set, receives every query as it ends; io gives the
	// tables it read and its result's columns, built only when called
	// (OpenLineage's emitter calls it for the queries it reports).
	Ended func(rec systables.QueryRecord, io func() ([]lineage.Dataset, []lineage.Field))
	// Actions are extra Flight actions by type (e.g. "quiver.report.run").
	Actions map[string]Action
	// Meta is the catalog file in force (descriptions GetTables gives as
	// columns' ARROW:FLIGHT:SQL:REMARKS); nil, or nil returned, is none.
	Meta func() *catalogmeta.Catalog
	// Search answers ActionSearch; nil refuses it (Unimplemented).
	Search *search.Service
	// ResultCache answers repeated deterministic statements; nil caches
	// nothing.
	ResultCache *resultcache.Cache
}

// Access decides who a request's caller is and what it may see. Every
// field may be nil.
type Access struct {
	// Principal names the caller of a request; nil treats everyone as "anonymous".
	Principal func(ctx context.Context) string
	// IsAdmin reports whether the context's principal is an administrator
	// (may see and kill every query); nil: nobody is.
	IsAdmin func(ctx context.Context) bool
	// Visible reports whether the context's principal may see a table in
	// metadata calls; nil shows every table (no policy).
	Visible func(ctx context.Context, name storage.TableName) bool
	// Denied reports the columns of a table the context's principal may
	// not read (lower-cased), for search; nil denies none.
	Denied func(ctx context.Context, name storage.TableName, columns []storage.Column) map[string]bool
}

// Delivery says how results reach clients.
type Delivery struct {
	// Routing is RoutingProxy (default) or RoutingDirect: scan-plan
	// endpoints then name the worker (grpc://host:port) and carry a signed
	// fragment ticket valid for TicketTTL. Merge plans are always proxied.
	Routing string
	// Compression is the IPC compression policy for results:
	// CompressionAuto (default: Zstd for clients on other machines),
	// CompressionOff, "zstd" or "lz4" (every result). Clients choose per
	// query with CompressionHeader; see compressionFor.
	Compression string
	// TicketTTL is how long a query ticket can be redeemed; default 5 minutes.
	TicketTTL time.Duration
}

// Action is an extra Flight action: what runs it and how ListActions
// describes it.
type Action struct {
	Handler     func(ctx context.Context, body []byte) ([]byte, error)
	Description string
}

// Server is the Flight SQL service.
type Server struct {
	flightsql.BaseServer
	opts     Options
	logger   *slog.Logger
	mem      memory.Allocator
	queries  *store[*query]
	prepared *store[*prepared]
	started  *prometheus.CounterVec
	audits   *prometheus.CounterVec
	auditLog *slog.Logger
	live     *registry
	life     *lifecycleMetrics
	draining atomic.Bool
	// mismatches counts streams the schema guard stopped.
	mismatches prometheus.Counter
}

// query is what a ticket redeems: one fragment of a scan plan, a whole
// merge plan, or rows computed while planning (EXPLAIN, KILL QUERY).
type query struct {
	// job's Codec is that of the batches sent to the client.
	job    coordinator.Job
	index  int
	plan   *planner.Plan
	rows   []explainRow
	schema *arrow.Schema // of rows
	// announced is the schema the query's FlightInfo announced; every
	// stream of the ticket is held to it (schemaGuard).
	announced *arrow.Schema
	live      *liveQuery
	// prefetch, when set, is this endpoint's stream already running.
	prefetch *prefetch
	// cached, when set, is the endpoint's messages from the result
	// cache; fill, when set, collects them for it.
	cached []*flight.FlightData
	fill   *fill
}

// New returns the service.
func New(opts Options) (*Server, error) {
	if opts.Delivery.TicketTTL == 0 {
		opts.Delivery.TicketTTL = 5 * time.Minute
	}
	if opts.Limits.PrefetchMessages < 0 {
		return nil, fmt.Errorf("prefetch messages %d (--prefetch-messages): want 0 (off) or more", opts.Limits.PrefetchMessages)
	}
	switch opts.Delivery.Routing {
	case "":
		opts.Delivery.Routing = RoutingProxy
	case RoutingProxy, RoutingDirect:
	default:
		return nil, fmt.Errorf("result routing %q: want %s or %s", opts.Delivery.Routing, RoutingProxy, RoutingDirect)
	}
	policy, err := compressionPolicy(opts.Delivery.Compression)
	if err != nil {
		return nil, err
	}
	opts.Delivery.Compression = policy
	if opts.Access.Principal == nil {
		opts.Access.Principal = func(context.Context) string { return "anonymous" }
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     opts,
		logger:   logger,
		mem:      mem,
		queries:  newStore[*query](opts.Delivery.TicketTTL, 100_000),
		prepared: newStore[*prepared](time.Hour, 100_000),
		started: promauto.With(opts.Registerer).NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_queries_total", Help: "Queries planned, by outcome.",
		}, []string{"outcome"}),
		audits: promauto.With(opts.Registerer).NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_audit_records_total", Help: "Statements audited, by decision (allowed, refused, failed).",
		}, []string{"decision"}),
		auditLog: auditLogger(opts, logger),
		live:     newRegistry(),
		life:     newLifecycleMetrics(opts.Registerer),
		mismatches: promauto.With(opts.Registerer).NewCounter(prometheus.CounterOpts{
			Name: "quiver_schema_mismatch_total", Help: "Result streams stopped before their first batch because their schema differed from the announced one.",
		}),
	}
	s.opts.Limits.defaults()
	s.Alloc = mem
	if err := s.registerSQLInfo(); err != nil {
		return nil, err
	}
	return s, nil
}

// FlightService returns the Flight service to register with gRPC: Flight
// SQL, plus SQL-text descriptors and query tickets handled here.
func (s *Server) FlightService() flight.FlightServer {
	return &service{FlightServer: flightsql.NewFlightServerWithAllocator(s, s.mem), srv: s}
}

type service struct {
	flight.FlightServer
	srv *Server
}

// isFlightSQL reports whether cmd is a Flight SQL command (an Any of the
// Flight SQL protocol) rather than SQL text.
func isFlightSQL(cmd []byte) bool {
	var a anypb.Any
	if err := proto.Unmarshal(cmd, &a); err != nil {
		return false
	}
	return strings.HasPrefix(a.GetTypeUrl(), "type.googleapis.com/arrow.flight.protocol.sql.")
}

// sqlText returns the SQL of a plain-Flight descriptor, if it is one.
func sqlText(desc *flight.FlightDescriptor) (string, bool) {
	if desc.GetType() != flight.DescriptorCMD || isFlightSQL(desc.GetCmd()) || !utf8.Valid(desc.GetCmd()) {
		return "", false
	}
	return string(desc.GetCmd()), true
}

func (s *service) GetFlightInfo(ctx context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if q, ok := sqlText(desc); ok {
		info, err := s.srv.flightInfo(ctx, q, nil, desc, "")
		return info, err
	}
	return s.FlightServer.GetFlightInfo(ctx, desc)
}

func (s *service) GetSchema(ctx context.Context, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	if q, ok := sqlText(desc); ok {
		res, err := s.srv.schemaResult(ctx, q, nil)
		return res, err
	}
	return s.FlightServer.GetSchema(ctx, desc)
}

func (s *service) DoGet(tkt *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	if id, ok := decodeTicket(tkt.GetTicket()); ok {
		return s.srv.doGetQuery(stream.Context(), id, stream)
	}
	if fragwire.IsFragmentTicket(tkt.GetTicket()) {
		return fmt.Errorf("%w: redeem it at its endpoint's location, the worker the FlightInfo names (grpc://host:port), not at the Quiver server", ErrTicketMisdirected)
	}
	err := s.FlightServer.DoGet(tkt, stream)
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument && strings.HasPrefix(st.Message(), "unable to parse ticket") {
		// arrow-go's message names protobuf's wire format, which tells a
		// client nothing about what it sent.
		return fmt.Errorf("%w; redeem the tickets of a FlightInfo this server returned", ErrTicketMalformed)
	}
	return err
}

// flightInfo admits and plans sql and returns endpoints for its
// fragments: one per fragment of a scan plan, one for a merge plan or an
// EXPLAIN. routing overrides Delivery.Routing when set.
func (s *Server) flightInfo(ctx context.Context, sql string, args []any, desc *flight.FlightDescriptor, routing string) (info *flight.FlightInfo, err error) {
	if s.draining.Load() {
		return nil, fmt.Errorf("%w: it no longer takes queries; retry on another replica or after the restart", ErrDraining)
	}
	if n := len(sql); n > s.opts.Limits.MaxSQLLength {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d (--max-sql-length)", ErrSQLTooLong, n, s.opts.Limits.MaxSQLLength)
	}
	if routing == "" {
		routing = s.opts.Delivery.Routing
	}
	queryID, err := newID()
	if err != nil {
		return nil, err
	}
	principal := s.opts.Access.Principal(ctx)
	lq := s.begin(ctx, queryID, principal, sql)
	var plan *planner.Plan
	defer func() {
		if err != nil {
			lq.end(err)
		}
	}()
	// The client and the query's history read errors about the SQL it sent.
	defer func() { err = inStatement(sql, plan, err) }()
	if m := killPattern.FindStringSubmatch(sql); m != nil {
		rows, kerr := s.kill(ctx, m[1])
		if kerr != nil {
			return nil, kerr
		}
		if err = lq.admit(ctx); err != nil {
			return nil, err
		}
		return s.staticInfo(ctx, lq, desc, killSchema, rows)
	}
	if err = lq.admit(ctx); err != nil {
		return nil, err
	}
	defer func() { s.audit(ctx, "query", sql, plan, err) }()
	wargs, err := encodeArgs(args)
	if err != nil {
		return nil, err
	}
	codec, err := s.compressionFor(ctx)
	if err != nil {
		return nil, err
	}
	pctx, lookup, err := s.resultProbe(ctx, wargs, codec)
	if err != nil {
		return nil, err
	}
	plan, err = s.opts.Planner.Plan(pctx, sql)
	if err != nil {
		s.started.WithLabelValues("plan_error").Inc()
		return nil, err
	}
	cacheKey := lookup.key(plan)
	if plan.Hit && lookup.entry != nil {
		if err = checkStatementParams(plan, args); err != nil {
			return nil, err
		}
		return s.cachedInfo(ctx, lq, desc, plan, lookup.entry)
	}
	if plan.Explain && !plan.Analyze {
		return s.staticInfo(ctx, lq, desc, explainSchema, explain(plan))
	}
	if plan.Analyze {
		lq.mu.Lock()
		lq.analysis = &analysis{}
		lq.mu.Unlock()
	}
	if err = checkStatementParams(plan, args); err != nil {
		s.started.WithLabelValues("plan_error").Inc()
		return nil, err
	}
	schema, err := s.resultSchema(ctx, plan, args)
	if err != nil {
		s.started.WithLabelValues("plan_error").Inc()
		return nil, err
	}
	job := coordinator.Job{QueryID: queryID, Args: wargs, Codec: codec, Credentials: plan.Credentials()}
	stages := 1
	if plan.Next() != nil {
		if stages, err = s.exchange(ctx, lq, plan, job); err != nil {
			return nil, err
		}
	}
	if plan.Analyze {
		rows, err := s.analyze(ctx, lq, plan, job)
		if err != nil {
			return nil, err
		}
		return s.staticInfo(ctx, lq, desc, explainSchema, rows)
	}
	info = s.newInfo(desc, schema, queryID)
	// A result with one proxied endpoint starts on the workers now.
	depth := s.opts.Limits.PrefetchMessages
	// Fragments that read the spool are proxied: the spool goes when the
	// query ends, and a query whose endpoints are all direct ends here,
	// before its client fetches them.
	spooled := plan.Spooled()
	direct := routing == RoutingDirect && !plan.Local && !spooled
	eager := depth > 0 && !plan.Local && (plan.Merge != nil || (len(plan.Fragments) == 1 && !direct))
	var f *fill // every endpoint proxied: the result can be cached
	if cacheKey != "" && !direct {
		n := len(plan.Fragments)
		if plan.Merge != nil {
			n = 1
		}
		if n > 0 {
			f = newFill(s.opts.ResultCache, cacheKey, n, schema)
		}
	}
	endpoint := func(q *query) error {
		if eager {
			s.startPrefetch(q, depth)
		}
		id, err := s.queries.put(principal, q)
		if err != nil {
			return err
		}
		lq.addTicket(id)
		info.Endpoint = append(info.Endpoint, &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: encodeTicket(id)}})
		return nil
	}
	proxied := 0
	switch {
	case plan.Merge != nil:
		err = endpoint(&query{job: job, plan: plan, announced: schema, live: lq, fill: f})
		proxied = 1
	default:
		for i, frag := range plan.Fragments {
			if direct {
				fj := coordinator.FragmentJob{Job: job, Index: i, Fragment: frag}
				addr, ticket, rerr := s.opts.Runner.Route(ctx, fj, schema, sql, s.opts.Delivery.TicketTTL)
				if rerr != nil {
					return nil, rerr
				}
				info.Endpoint = append(info.Endpoint, &flight.FlightEndpoint{
					Ticket:   &flight.Ticket{Ticket: ticket},
					Location: []*flight.Location{{Uri: "grpc://" + addr}},
				})
				continue
			}
			one := *plan
			one.Fragments = []planner.Fragment{frag}
			if err = endpoint(&query{job: job, index: i, plan: &one, announced: schema, live: lq, fill: f}); err != nil {
				break
			}
			proxied++
		}
	}
	if err != nil {
		return nil, err
	}
	s.recordPlan(lq, plan, schema, plan.Decisions.Strategy, plan.Work(), proxied, stages) // progress counts producers done too
	s.started.WithLabelValues("planned").Inc()
	s.logger.Info("query planned", "queryID", queryID, "principal", principal, "tables", len(plan.Tables),
		"fragments", len(plan.Fragments), "merge", plan.Merge != nil, "explain", plan.Explain,
		"strategy", plan.Decisions.Strategy, "routing", routing, "compression", codec.String())
	return info, nil
}

// recordPlan records in the query's history what it reads, how it was
// planned, its lineage and how many endpoints its client will fetch.
func (s *Server) recordPlan(lq *liveQuery, plan *planner.Plan, schema *arrow.Schema, strategy string, fragments, endpoints, stages int) {
	tables := make([]string, len(plan.Tables))
	for i, t := range plan.Tables {
		tables[i] = t.Name.String()
		if t.Virtual {
			tables[i] = systables.Schema + "." + t.Name.Name
		}
	}
	lq.mu.Lock()
	lq.rec.Stages = stages
	if plan.Lineage != nil {
		names := make([]string, schema.NumFields())
		for i, f := range schema.Fields() {
			names[i] = f.Name
		}
		lq.rec.Lineage = plan.Lineage.Edges(names)
	}
	lq.tables, lq.schema = plan.Tables, schema
	lq.mu.Unlock()
	lq.planned(tables, strategy, fragments, endpoints)
}

// cachedInfo answers a query from the result cache: one endpoint per
// endpoint of the run that filled it, each replaying its messages.
func (s *Server) cachedInfo(ctx context.Context, lq *liveQuery, desc *flight.FlightDescriptor, plan *planner.Plan, e *resultcache.Entry) (*flight.FlightInfo, error) {
	schema := e.Schema
	info := s.newInfo(desc, schema, lq.rec.ID)
	principal := s.opts.Access.Principal(ctx)
	for i, msgs := range e.Endpoints {
		id, err := s.queries.put(principal, &query{job: coordinator.Job{QueryID: lq.rec.ID}, index: i, cached: msgs, announced: schema, live: lq})
		if err != nil {
			return nil, err
		}
		lq.addTicket(id)
		info.Endpoint = append(info.Endpoint, &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: encodeTicket(id)}})
	}
	s.recordPlan(lq, plan, schema, StrategyCached, 0, len(e.Endpoints), 0)
	s.started.WithLabelValues("cached").Inc()
	s.logger.Info("query answered from the result cache", "queryID", lq.rec.ID, "principal", principal, "endpoints", len(e.Endpoints), "bytes", e.Size())
	return info, nil
}

// newInfo is a FlightInfo for a query, its id in the app_metadata.
func (s *Server) newInfo(desc *flight.FlightDescriptor, schema *arrow.Schema, queryID string) *flight.FlightInfo {
	meta, _ := json.Marshal(infoMetadata{QueryID: queryID})
	return &flight.FlightInfo{
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(schema, s.mem),
		TotalRecords:     -1,
		TotalBytes:       -1,
		AppMetadata:      meta,
	}
}

// staticInfo returns rows computed while planning as one endpoint.
func (s *Server) staticInfo(ctx context.Context, lq *liveQuery, desc *flight.FlightDescriptor, schema *arrow.Schema, rows []explainRow) (*flight.FlightInfo, error) {
	info := s.newInfo(desc, schema, lq.rec.ID)
	info.TotalRecords = int64(len(rows))
	id, err := s.queries.put(s.opts.Access.Principal(ctx), &query{job: coordinator.Job{QueryID: lq.rec.ID}, rows: rows, schema: schema, announced: schema, live: lq})
	if err != nil {
		return nil, err
	}
	lq.addTicket(id)
	info.Endpoint = []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: encodeTicket(id)}}}
	lq.planned(nil, "static", 0, 1)
	return info, nil
}

// resultSchema is the schema of what the plan's endpoints stream.
func (s *Server) resultSchema(ctx context.Context, plan *planner.Plan, args []any) (*arrow.Schema, error) {
	if plan.Explain {
		return explainSchema, nil
	}
	return s.opts.Runner.Schema(ctx, plan, args)
}

func (s *Server) schemaResult(ctx context.Context, sql string, args []any) (*flight.SchemaResult, error) {
	plan, err := s.opts.Planner.Type(ctx, sql)
	if err != nil {
		return nil, inStatement(sql, nil, err)
	}
	schema, err := s.resultSchema(ctx, plan, args)
	if err != nil {
		return nil, inStatement(sql, plan, err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(schema, s.mem)}, nil
}

// doGetQuery redeems a query ticket: it relays the ticket's fragment from
// a worker message by message, runs a merge plan, or writes rows computed
// while planning. The stream runs under the query's context: a cancel,
// the query timeout or a limit stops it.
func (s *Server) doGetQuery(ctx context.Context, id string, out flight.DataStreamWriter) error {
	principal := s.opts.Access.Principal(ctx)
	q, ok := s.queries.get(principal, id)
	if !ok {
		if owner, live := s.queries.owner(id); live && owner != principal {
			return fmt.Errorf("%w: the ticket was issued to another principal", ErrTicketForeign)
		}
		return fmt.Errorf("%w: tickets are valid for %s and only for the principal that planned the query", ErrTicketUnknown, s.opts.Delivery.TicketTTL)
	}
	qctx, done, err := q.live.enter(ctx)
	if err != nil {
		return err
	}
	defer done()
	g := newGuardedStream(q.live, out.Send, s.opts.Limits.SendTimeout)
	defer g.close()
	var w flight.DataStreamWriter = &schemaGuard{next: g, srv: s, q: q}
	var fw *fillWriter
	if q.fill != nil {
		fw = q.fill.writer(q.index, w)
		w = fw
	}
	if q.prefetch.claim() {
		err = q.prefetch.drain(qctx, w)
	} else {
		err = s.stream(qctx, q, w)
	}
	if err != nil && qctx.Err() != nil {
		// The query ended under the stream: report why it ended.
		if cause := context.Cause(qctx); cause != nil && !errors.Is(cause, errQueryDone) {
			err = cause
		}
	}
	err = inQuery(q, err)
	if fw != nil {
		fw.end(err)
	}
	q.live.leave(ctx, q.index, err)
	return err
}

func (s *Server) stream(ctx context.Context, q *query, out flight.DataStreamWriter) error {
	switch {
	case q.cached != nil:
		return sendCached(q, out)
	case q.rows != nil || q.schema != nil:
		return s.writeRows(q.schema, q.rows, out)
	case q.plan.Merge != nil:
		return s.opts.Runner.Merge(ctx, q.job, q.plan, out)
	case q.plan.Local:
		return s.runLocal(ctx, q, out)
	}
	for _, frag := range q.plan.Fragments {
		if err := s.opts.Runner.Stream(ctx, coordinator.FragmentJob{Job: q.job, Index: q.index, Fragment: frag}, out.Send); err != nil {
			return err
		}
	}
	return nil
}

// GetFlightInfoStatement plans a Flight SQL statement query.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, fmt.Errorf("%w: transactions are not supported; Quiver is read-only", planner.ErrUnsupported)
	}
	info, err := s.flightInfo(ctx, cmd.GetQuery(), nil, desc, "")
	return info, err
}

// GetSchemaStatement returns a statement's result schema without running it.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	res, err := s.schemaResult(ctx, cmd.GetQuery(), nil)
	return res, err
}

// runLocal runs a plan of system tables over the rows the caller may see.
func (s *Server) runLocal(ctx context.Context, q *query, out flight.DataStreamWriter) error {
	if s.opts.System == nil {
		return fmt.Errorf("%w: this server has no system tables", planner.ErrTableNotFound)
	}
	viewer := systables.Viewer{Principal: s.opts.Access.Principal(ctx), Admin: s.isAdmin(ctx)}
	tables := map[string]array.RecordReader{}
	defer func() {
		for _, r := range tables {
			r.Release()
		}
	}()
	for _, t := range q.plan.Tables {
		st, ok := s.opts.System.Get(t.Name.Name)
		if !ok {
			return fmt.Errorf("%w: system.%s", planner.ErrTableNotFound, t.Name.Name)
		}
		rec, err := st.Rows(ctx, viewer)
		if err != nil {
			return fmt.Errorf("system.%s: %w", t.Name.Name, err)
		}
		rdr, err := array.NewRecordReader(st.Schema(), []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			return fmt.Errorf("system.%s: %w", t.Name.Name, err)
		}
		tables[planner.LocalTableName(t.Name)] = rdr
	}
	args := make([]any, len(q.job.Args))
	for i, a := range q.job.Args {
		v, err := a.Decode()
		if err != nil {
			return fmt.Errorf("%w: parameter %d: %v", ErrBadParameters, i+1, err)
		}
		args[i] = v
	}
	return s.opts.Runner.Local(ctx, q.plan.Fragments[0].SQL, tables, args, out)
}
