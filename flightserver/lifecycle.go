package flightserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// Sentinel errors of a query's life.
var (
	// ErrDraining is a query sent while the server shuts down.
	ErrDraining = errkind.New(errkind.Unavailable, "server is draining")
	// ErrSQLTooLong is a statement longer than Limits.MaxSQLLength.
	ErrSQLTooLong = errkind.New(errkind.Invalid, "statement too long")
	// ErrResultTooLarge is a result over Limits.MaxResultRows or MaxResultBytes.
	ErrResultTooLarge = errkind.New(errkind.Exhausted, "result too large")
	// ErrQueryTimeout is a query that ran longer than Limits.QueryTimeout.
	ErrQueryTimeout = errkind.New(errkind.DeadlineExceeded, "query timeout")
	// ErrQueryCancelled is a query cancelled by CancelFlightInfo, KILL QUERY
	// or its client going away.
	ErrQueryCancelled = errkind.New(errkind.Canceled, "query cancelled")
	// ErrSendTimeout is a client that did not read for Limits.SendTimeout.
	ErrSendTimeout = errkind.New(errkind.DeadlineExceeded, "client stopped reading")
	// ErrAbandoned is a planned query whose endpoints nobody fetched for
	// Limits.IdleTimeout.
	ErrAbandoned = errkind.New(errkind.DeadlineExceeded, "query abandoned")
	// ErrQueryUnknown is a query id that is not running (or not the caller's).
	ErrQueryUnknown = errkind.New(errkind.NotFound, "no such running query")
	// ErrNotAdmin is an admin-only operation by someone else.
	ErrNotAdmin = errkind.New(errkind.PermissionDenied, "admin only")
)

// Limits bound every query.
type Limits struct {
	// QueryTimeout bounds a query from admission to its last batch; 0 is none.
	QueryTimeout time.Duration
	// MaxResultRows and MaxResultBytes fail a query whose result grows
	// past them (the client gets an error, never a silently cut result);
	// 0 is none.
	MaxResultRows  int64
	MaxResultBytes int64
	// MaxSQLLength bounds statement text in bytes; default 1 MiB.
	MaxSQLLength int
	// SendTimeout cuts a stream whose client has not taken a message for
	// this long; default 5 minutes.
	SendTimeout time.Duration
	// IdleTimeout ends a planned query none of whose endpoints is being
	// fetched for this long (its admission slot is freed); default 1 minute.
	IdleTimeout time.Duration
	// PrefetchMessages, when positive, starts a result that has a single
	// proxied endpoint (a lookup, a merged aggregate, a top-k) on the
	// workers as soon as it is planned, buffering up to this many
	// messages until the client's DoGet arrives; 0 waits for the DoGet.
	PrefetchMessages int
}

func (l *Limits) defaults() {
	if l.MaxSQLLength == 0 {
		l.MaxSQLLength = 1 << 20
	}
	if l.SendTimeout == 0 {
		l.SendTimeout = 5 * time.Minute
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = time.Minute
	}
}

// datasets are the warehouse and Iceberg tables a plan reads, with
// their columns' DuckDB types, named as lineage names them.
func datasets(tables []*storage.Table) []lineage.Dataset {
	var out []lineage.Dataset
	for _, t := range tables {
		if t.Virtual {
			continue
		}
		d := lineage.Dataset{Table: t.Name.Name}
		d.Catalog, d.Schema = t.Qualified(planner.CatalogName)
		for _, c := range t.Columns {
			d.Fields = append(d.Fields, lineage.Field{Name: c.Name, Type: duckdbType(c.Type)})
		}
		out = append(out, d)
	}
	return out
}

// fields are a result's columns with their DuckDB types (none for a
// query that ended before it was typed).
func fields(schema *arrow.Schema) []lineage.Field {
	if schema == nil {
		return nil
	}
	out := make([]lineage.Field, schema.NumFields())
	for i, f := range schema.Fields() {
		out[i] = lineage.Field{Name: f.Name, Type: duckdbType(f.Type)}
	}
	return out
}

func duckdbType(t arrow.DataType) string {
	if name, err := engine.DuckDBType(t); err == nil {
		return name
	}
	return t.String()
}

// History keeps the queries that ended; *systables.QueryLog is one.
type History interface {
	// Record receives every query when it ends.
	Record(rec systables.QueryRecord)
	// Lookup finds an ended query, for the progress action.
	Lookup(id string) (systables.QueryRecord, bool)
}

// liveQuery is a query from submission to its end: it holds the admission
// slot, the context every stream of it runs under, and its record.
type liveQuery struct {
	srv *Server
	// ctx ends when the query does; its cause is why.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// tables and schema are what the query read and returns, for
	// Options.Ended (set under mu when planned).
	tables []*storage.Table
	schema *arrow.Schema

	mu        sync.Mutex
	rec       systables.QueryRecord
	admitted  time.Time
	release   func()
	endpoints int
	done      map[int]bool
	active    int
	idle      *time.Timer
	deadline  *time.Timer
	workers   map[string]bool
	ended     bool
	// spooled queries wrote exchange parts to the spool, which the
	// query's end removes.
	spooled bool
	// tickets are the query's handles in Server.queries. When it ends
	// they are stripped to the query alone: a plan with its pinned file
	// lists must not outlive its query, but a late DoGet should still
	// learn why the query ended.
	tickets []string
	// analysis collects what every fragment did, for EXPLAIN ANALYZE.
	analysis *analysis
}

type lifecycleMetrics struct {
	ended    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rows     prometheus.Counter
}

func newLifecycleMetrics(reg prometheus.Registerer) *lifecycleMetrics {
	f := promauto.With(reg)
	return &lifecycleMetrics{
		ended: f.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_queries_ended_total", Help: "Queries that ended, by state (finished, failed, cancelled).",
		}, []string{"state"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "quiver_query_duration_seconds", Help: "Query latency from submission to the end of its last stream, by state.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"state"}),
		rows: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_result_rows_total", Help: "Result rows sent to clients.",
		}),
	}
}

// registry holds the queries that have not ended.
type registry struct {
	mu      sync.Mutex
	queries map[string]*liveQuery
	empty   chan struct{} // closed and replaced when the last query ends
}

func newRegistry() *registry {
	return &registry{queries: map[string]*liveQuery{}, empty: make(chan struct{})}
}

func (r *registry) add(q *liveQuery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries[q.rec.ID] = q
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.queries, id)
	if len(r.queries) == 0 {
		close(r.empty)
		r.empty = make(chan struct{})
	}
}

func (r *registry) get(id string) (*liveQuery, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queries[id]
	return q, ok
}

func (r *registry) list() []*liveQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*liveQuery, 0, len(r.queries))
	for _, q := range r.queries {
		out = append(out, q)
	}
	return out
}

// idle returns a channel closed once no query is live.
func (r *registry) idle() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queries) == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return r.empty
}

// begin registers a new query (a report run's when reqCtx says so).
func (s *Server) begin(reqCtx context.Context, id, principal, sql string) *liveQuery {
	ctx, cancel := context.WithCancelCause(context.Background())
	run, _ := lineage.RunFrom(reqCtx)
	q := &liveQuery{
		srv: s, ctx: ctx, cancel: cancel,
		rec:     systables.QueryRecord{ID: id, Principal: principal, SQL: sql, State: systables.StateQueued, Submitted: time.Now(), Run: run},
		done:    map[int]bool{},
		workers: map[string]bool{},
	}
	s.live.add(q)
	return q
}

// admit waits for an admission slot (under reqCtx, the caller's request)
// and starts the query's clock.
func (q *liveQuery) admit(reqCtx context.Context) error {
	release := func() {}
	if ac := q.srv.opts.Admission; ac != nil {
		r, _, err := ac.Acquire(reqCtx, q.rec.Principal)
		if err != nil {
			return err
		}
		release = r
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended {
		// Ended while queued (drain, shutdown): give the slot back.
		release()
		return q.endErr()
	}
	q.release = release
	q.admitted = time.Now()
	q.rec.Queued = q.admitted.Sub(q.rec.Submitted)
	q.rec.State = systables.StateRunning
	if t := q.srv.opts.Limits.QueryTimeout; t > 0 {
		q.deadline = time.AfterFunc(t, func() {
			q.end(fmt.Errorf("%w: the query ran longer than %s (--query-timeout)", ErrQueryTimeout, t))
		})
	}
	return nil
}

// planned records what the planner decided and how many endpoints the
// client will fetch; with none (direct routing: workers serve the client)
// the query ends here.
func (q *liveQuery) planned(tables []string, strategy string, fragments, endpoints int) {
	q.mu.Lock()
	q.rec.Planning = time.Since(q.admitted)
	q.rec.Tables = tables
	q.rec.Strategy = strategy
	q.rec.Fragments = fragments
	q.endpoints = endpoints
	q.mu.Unlock()
	if endpoints == 0 {
		q.end(nil)
		return
	}
	q.armIdle()
}

func (q *liveQuery) armIdle() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended || q.active > 0 {
		return
	}
	if q.idle != nil {
		q.idle.Stop()
	}
	t := q.srv.opts.Limits.IdleTimeout
	if q.srv.draining.Load() {
		// Shutting down: a client that planned before the drain began
		// has a moment to start fetching, not the whole idle timeout.
		t = min(t, drainIdleTimeout)
	}
	q.idle = time.AfterFunc(t, func() {
		q.end(fmt.Errorf("%w: no endpoint was fetched for %s", ErrAbandoned, t))
	})
}

// enter starts a stream of endpoint index under reqCtx: the returned
// context ends with the request or with the query, whichever is first.
func (q *liveQuery) enter(reqCtx context.Context) (context.Context, func(), error) {
	q.mu.Lock()
	if q.ended {
		q.mu.Unlock()
		return nil, nil, q.endErr()
	}
	q.active++
	if q.idle != nil {
		q.idle.Stop()
	}
	q.mu.Unlock()
	ctx, cancel := context.WithCancelCause(reqCtx)
	stop := context.AfterFunc(q.ctx, func() { cancel(context.Cause(q.ctx)) })
	return coordinator.WithTrace(ctx, q.trace()), func() { stop(); cancel(nil) }, nil
}

// trace reports a stream's rows, workers, fragments and retries to q.
func (q *liveQuery) trace() *coordinator.Trace {
	return &coordinator.Trace{
		Rows:         q.addRows,
		Worker:       q.addWorker,
		FragmentDone: func() { q.mu.Lock(); q.rec.FragmentsDone++; q.mu.Unlock() },
		Retry:        func() { q.mu.Lock(); q.rec.Retries++; q.mu.Unlock() },
		Spooled: func(rows, bytes int64) {
			q.mu.Lock()
			q.rec.SpoolRows += rows
			q.rec.SpoolBytes += bytes
			q.mu.Unlock()
		},
		Fragment: func(st coordinator.FragmentStats) {
			q.mu.Lock()
			q.rec.SpillBytes = max(q.rec.SpillBytes, st.Spill)
			if q.analysis != nil {
				q.analysis.fragments = append(q.analysis.fragments, st)
			}
			q.mu.Unlock()
		},
	}
}

// leave ends a stream: the query ends when every endpoint has been fully
// fetched, or at the first stream that fails.
func (q *liveQuery) leave(reqCtx context.Context, index int, err error) {
	q.mu.Lock()
	q.active--
	if err == nil {
		q.done[index] = true
	}
	complete := len(q.done) >= q.endpoints
	q.mu.Unlock()
	switch {
	case err != nil && reqCtx.Err() != nil && q.ctx.Err() == nil:
		q.end(fmt.Errorf("%w: the client went away", ErrQueryCancelled))
	case err != nil:
		q.end(err)
	case complete:
		q.end(nil)
	default:
		q.armIdle()
	}
}

func (q *liveQuery) addRows(n int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rec.Rows += n
	lim := q.srv.opts.Limits
	if lim.MaxResultRows > 0 && q.rec.Rows > lim.MaxResultRows {
		return fmt.Errorf("%w: more than %d rows (--max-result-rows); add a LIMIT or aggregate", ErrResultTooLarge, lim.MaxResultRows)
	}
	return nil
}

func (q *liveQuery) addBytes(n int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rec.Bytes += n
	lim := q.srv.opts.Limits
	if lim.MaxResultBytes > 0 && q.rec.Bytes > lim.MaxResultBytes {
		return fmt.Errorf("%w: more than %d bytes (--max-result-bytes); select fewer columns or rows", ErrResultTooLarge, lim.MaxResultBytes)
	}
	return nil
}

func (q *liveQuery) addWorker(addr string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.workers[addr] = true
}

// endErr is the error streams of an ended query get.
func (q *liveQuery) endErr() error {
	if err := context.Cause(q.ctx); err != nil && !errors.Is(err, errQueryDone) {
		return err
	}
	return fmt.Errorf("%w: query %s has finished; plan it again", ErrTicketUnknown, q.rec.ID)
}

// errQueryDone is the cause of a query context that ended normally.
var errQueryDone = errors.New("query finished")

// end finishes the query once: err nil is success. It frees the
// admission slot, stops every stream still running and records the query.
func (q *liveQuery) end(err error) {
	q.mu.Lock()
	if q.ended {
		q.mu.Unlock()
		return
	}
	q.ended = true
	now := time.Now()
	q.rec.Finished = now
	if !q.admitted.IsZero() {
		q.rec.Execution = now.Sub(q.admitted)
	}
	switch {
	case err == nil:
		q.rec.State = systables.StateFinished
	case errors.Is(err, ErrQueryCancelled), errors.Is(err, context.Canceled):
		q.rec.State, q.rec.Error = systables.StateCancelled, err.Error()
	default:
		q.rec.State, q.rec.Error = systables.StateFailed, err.Error()
	}
	for w := range q.workers {
		q.rec.Workers = append(q.rec.Workers, w)
	}
	slices.Sort(q.rec.Workers)
	for _, t := range []*time.Timer{q.idle, q.deadline} {
		if t != nil {
			t.Stop()
		}
	}
	release := q.release
	rec, tables, schema := q.rec, q.tables, q.schema
	tickets := q.tickets
	spooled := q.spooled
	q.mu.Unlock()
	for _, id := range tickets {
		q.srv.queries.update(rec.Principal, id, &query{job: coordinator.Job{QueryID: rec.ID}, live: q})
	}

	if err == nil {
		err = errQueryDone
	}
	q.cancel(err)
	if release != nil {
		release()
	}
	s := q.srv
	if spooled {
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		if rerr := s.opts.Runner.Release(ctx, rec.ID); rerr != nil {
			// The spool's sweeper removes it after its TTL.
			s.logger.Warn("query spool not removed", "queryID", rec.ID, "err", rerr)
		}
		cancel()
	}
	s.live.remove(rec.ID)
	s.life.ended.WithLabelValues(rec.State).Inc()
	s.life.duration.WithLabelValues(rec.State).Observe(rec.Finished.Sub(rec.Submitted).Seconds())
	s.life.rows.Add(float64(rec.Rows))
	if s.opts.History != nil {
		s.opts.History.Record(rec)
	}
	if s.opts.Ended != nil {
		s.opts.Ended(rec, func() ([]lineage.Dataset, []lineage.Field) { return datasets(tables), fields(schema) })
	}
	s.logger.Info("query ended", "queryID", rec.ID, "principal", rec.Principal, "state", rec.State,
		"rows", rec.Rows, "bytes", rec.Bytes, "queued", rec.Queued, "execution", rec.Execution, "err", rec.Error)
}

// addTicket records a handle of the query; one added after the query
// ended is stripped at once.
func (q *liveQuery) addTicket(id string) {
	q.mu.Lock()
	ended := q.ended
	if !ended {
		q.tickets = append(q.tickets, id)
	}
	q.mu.Unlock()
	if ended {
		q.srv.queries.update(q.rec.Principal, id, &query{job: coordinator.Job{QueryID: q.rec.ID}, live: q})
	}
}

// snapshot is the query's record as of now.
func (q *liveQuery) snapshot() systables.QueryRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	rec := q.rec
	rec.Tables = slices.Clone(rec.Tables)
	rec.Workers = rec.Workers[:0:0]
	for w := range q.workers {
		rec.Workers = append(rec.Workers, w)
	}
	slices.Sort(rec.Workers)
	if !q.admitted.IsZero() {
		rec.Execution = time.Since(q.admitted)
	}
	return rec
}

// Running returns the records of every query that has not ended.
func (s *Server) Running() []systables.QueryRecord {
	live := s.live.list()
	out := make([]systables.QueryRecord, 0, len(live))
	for _, q := range live {
		out = append(out, q.snapshot())
	}
	return out
}

// drainIdleTimeout is the idle timeout while draining.
const drainIdleTimeout = 5 * time.Second

// Drain makes the server refuse new queries with UNAVAILABLE; queries
// already admitted keep running, and planned queries nobody fetches end
// after drainIdleTimeout.
func (s *Server) Drain() {
	s.draining.Store(true)
	for _, q := range s.live.list() {
		q.armIdle()
	}
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// WaitIdle waits until no query is live or ctx ends; at ctx's end the
// queries still running are cancelled.
func (s *Server) WaitIdle(ctx context.Context) error {
	select {
	case <-s.live.idle():
		return nil
	case <-ctx.Done():
	}
	live := s.live.list()
	for _, q := range live {
		q.end(fmt.Errorf("%w: the server is shutting down and the drain deadline passed", ErrDraining))
	}
	return fmt.Errorf("drain deadline passed with %d queries running", len(live))
}

// cancelQuery ends query id on behalf of the caller: its owner or an admin.
func (s *Server) cancelQuery(ctx context.Context, id, why string) error {
	q, ok := s.live.get(id)
	if !ok {
		return fmt.Errorf("%w: %q", ErrQueryUnknown, id)
	}
	principal := s.opts.Access.Principal(ctx)
	if q.rec.Principal != principal && !s.isAdmin(ctx) {
		return fmt.Errorf("%w: %q", ErrQueryUnknown, id)
	}
	q.end(fmt.Errorf("%w by %s: %s", ErrQueryCancelled, principal, why))
	return nil
}

func (s *Server) isAdmin(ctx context.Context) bool {
	return s.opts.Access.IsAdmin != nil && s.opts.Access.IsAdmin(ctx)
}
