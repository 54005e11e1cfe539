package systables

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/storage"
)

// QueriesPrefix is where query history is persisted in the warehouse.
const QueriesPrefix = "_system/queries/"

var tsType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// queriesSchema is system.queries.
var queriesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "query_id", Type: arrow.BinaryTypes.String},
	{Name: "principal", Type: arrow.BinaryTypes.String},
	{Name: "sql", Type: arrow.BinaryTypes.String},
	{Name: "state", Type: arrow.BinaryTypes.String},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "submitted", Type: tsType},
	{Name: "finished", Type: tsType, Nullable: true},
	{Name: "queued_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "planning_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "execution_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "rows", Type: arrow.PrimitiveTypes.Int64},
	{Name: "bytes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "tables", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "strategy", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "fragments", Type: arrow.PrimitiveTypes.Int64},
	{Name: "fragments_done", Type: arrow.PrimitiveTypes.Int64},
	{Name: "workers", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "retries", Type: arrow.PrimitiveTypes.Int64},
	{Name: "stages", Type: arrow.PrimitiveTypes.Int64},
	{Name: "spool_rows", Type: arrow.PrimitiveTypes.Int64},
	{Name: "spool_bytes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "spill_bytes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "report", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "run_id", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// lineageEdgeType is one lineage.Edge in history files.
var lineageEdgeType = arrow.StructOf(
	arrow.Field{Name: "output", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "catalog", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "schema", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "table", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "column", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "kind", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "policy", Type: arrow.FixedWidthTypes.Boolean},
)

// historySchema is what history files hold: system.queries' columns,
// then the report run's output and the lineage (system.lineage).
var historySchema = arrow.NewSchema(append(queriesSchema.Fields(),
	arrow.Field{Name: "output", Type: arrow.BinaryTypes.String, Nullable: true},
	arrow.Field{Name: "lineage", Type: arrow.ListOf(lineageEdgeType)},
), nil)

// historyColumnsV1 is how many columns history files written before
// stages and the spool were recorded have, historyColumnsV2 before spill
// was, historyColumnsV3 before report runs and lineage were: they read
// with those zero.
const (
	historyColumnsV1 = 18
	historyColumnsV2 = 21
	historyColumnsV3 = 22
)

// Store is where history is persisted; *storage.Warehouse is one.
type Store interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	List(ctx context.Context, prefix string) ([]storage.Object, error)
}

// QueryLogOptions configure a QueryLog.
type QueryLogOptions struct {
	// Keep is how many ended queries stay in memory; default 10000.
	Keep int
	// Store persists history under QueriesPrefix; nil keeps it in memory only.
	Store Store
	// Running lists the queries that have not ended (shown too).
	Running func() []QueryRecord
	Logger  *slog.Logger
}

// QueryLog is system.queries: the queries running now and the ended ones,
// appended to the warehouse as Parquet so they survive restarts.
type QueryLog struct {
	opts    QueryLogOptions
	mu      sync.Mutex
	ended   []QueryRecord // oldest first, at most Keep
	pending []QueryRecord // ended, not yet persisted
	mem     memory.Allocator
}

// NewQueryLog returns an empty log; Load fills it from the store.
func NewQueryLog(opts QueryLogOptions) *QueryLog {
	if opts.Keep <= 0 {
		opts.Keep = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &QueryLog{opts: opts, mem: memory.DefaultAllocator}
}

// SetRunning sets the source of running queries (the server is built
// after the log).
func (l *QueryLog) SetRunning(f func() []QueryRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opts.Running = f
}

// Name implements Table.
func (l *QueryLog) Name() string { return "queries" }

// Schema implements Table.
func (l *QueryLog) Schema() *arrow.Schema { return queriesSchema }

// Record adds an ended query.
func (l *QueryLog) Record(rec QueryRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = append(l.ended, rec)
	if over := len(l.ended) - l.opts.Keep; over > 0 {
		l.ended = slices.Delete(l.ended, 0, over)
	}
	if l.opts.Store != nil {
		l.pending = append(l.pending, rec)
	}
}

// Lookup finds an ended query by id.
func (l *QueryLog) Lookup(id string) (QueryRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.ended) - 1; i >= 0; i-- {
		if l.ended[i].ID == id {
			return l.ended[i], true
		}
	}
	return QueryRecord{}, false
}

// LatestRuns are the latest ended query of each report (by name), with
// its lineage: what each report publishes now.
func (l *QueryLog) LatestRuns() []QueryRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	latest := map[string]QueryRecord{}
	for _, r := range l.ended {
		if r.Run.Report == "" {
			continue
		}
		if prev, ok := latest[r.Run.Report]; !ok || !r.Submitted.Before(prev.Submitted) {
			latest[r.Run.Report] = r
		}
	}
	out := make([]QueryRecord, 0, len(latest))
	for _, name := range slices.Sorted(maps.Keys(latest)) {
		out = append(out, latest[name])
	}
	return out
}

// Rows implements Table: admins see every query, others their own.
func (l *QueryLog) Rows(_ context.Context, v Viewer) (arrow.RecordBatch, error) {
	recs := l.visible(v)
	return encodeQueries(l.mem, queriesSchema, recs), nil
}

// visible is what v may see of the log: every query for admins, their
// own for others.
func (l *QueryLog) visible(v Viewer) []QueryRecord {
	l.mu.Lock()
	recs := slices.Clone(l.ended)
	running := l.opts.Running
	l.mu.Unlock()
	if running != nil {
		recs = append(recs, running()...)
	}
	if !v.Admin {
		recs = slices.DeleteFunc(recs, func(r QueryRecord) bool { return r.Principal != v.Principal })
	}
	return recs
}

// encodeQueries encodes recs as schema: queriesSchema or historySchema.
func encodeQueries(mem memory.Allocator, schema *arrow.Schema, recs []QueryRecord) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	i64 := func(i int) *array.Int64Builder { return b.Field(i).(*array.Int64Builder) }
	ts := func(i int) *array.TimestampBuilder { return b.Field(i).(*array.TimestampBuilder) }
	opt := func(i int, v string) {
		if v == "" {
			str(i).AppendNull()
		} else {
			str(i).Append(v)
		}
	}
	list := func(i int, vals []string) {
		lb := b.Field(i).(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, v := range vals {
			vb.Append(v)
		}
	}
	for _, r := range recs {
		str(0).Append(r.ID)
		str(1).Append(r.Principal)
		str(2).Append(r.SQL)
		str(3).Append(r.State)
		opt(4, r.Error)
		ts(5).Append(arrow.Timestamp(r.Submitted.UnixMicro()))
		if r.Finished.IsZero() {
			ts(6).AppendNull()
		} else {
			ts(6).Append(arrow.Timestamp(r.Finished.UnixMicro()))
		}
		i64(7).Append(r.Queued.Milliseconds())
		i64(8).Append(r.Planning.Milliseconds())
		i64(9).Append(r.Execution.Milliseconds())
		i64(10).Append(r.Rows)
		i64(11).Append(r.Bytes)
		list(12, r.Tables)
		opt(13, r.Strategy)
		i64(14).Append(int64(r.Fragments))
		i64(15).Append(int64(r.FragmentsDone))
		list(16, r.Workers)
		i64(17).Append(int64(r.Retries))
		i64(18).Append(int64(r.Stages))
		i64(19).Append(r.SpoolRows)
		i64(20).Append(r.SpoolBytes)
		i64(21).Append(r.SpillBytes)
		opt(22, r.Run.Report)
		opt(23, r.Run.RunID)
		if schema == historySchema {
			opt(24, r.Run.Output)
			appendEdges(b.Field(25).(*array.ListBuilder), r.Lineage)
		}
	}
	return b.NewRecordBatch()
}

func appendEdges(lb *array.ListBuilder, edges []lineage.Edge) {
	lb.Append(true)
	sb := lb.ValueBuilder().(*array.StructBuilder)
	for _, e := range edges {
		sb.Append(true)
		for i, v := range []string{e.Output, e.Source.Catalog, e.Source.Schema, e.Source.Table, e.Source.Column, string(e.Kind)} {
			sb.FieldBuilder(i).(*array.StringBuilder).Append(v)
		}
		sb.FieldBuilder(6).(*array.BooleanBuilder).Append(e.Policy)
	}
}

// decodeEdges reads row's edges of a history file's lineage column.
func decodeEdges(a *array.List, row int) []lineage.Edge {
	start, end := a.ValueOffsets(row)
	if start == end {
		return nil
	}
	st := a.ListValues().(*array.Struct)
	s := func(f, j int) string { return st.Field(f).(*array.String).Value(j) }
	out := make([]lineage.Edge, 0, end-start)
	for j := int(start); j < int(end); j++ {
		out = append(out, lineage.Edge{
			Output: s(0, j), Source: lineage.Column{Catalog: s(1, j), Schema: s(2, j), Table: s(3, j), Column: s(4, j)},
			Kind: lineage.Kind(s(5, j)), Policy: st.Field(6).(*array.Boolean).Value(j),
		})
	}
	return out
}

func decodeQueries(rec arrow.RecordBatch) ([]QueryRecord, error) {
	// Parquet adds field metadata and may rename list elements: compare
	// names and type kinds.
	got := rec.Schema()
	if n := got.NumFields(); !slices.Contains([]int{historySchema.NumFields(), historyColumnsV1, historyColumnsV2, historyColumnsV3}, n) {
		return nil, fmt.Errorf("query history has %d columns, want %d (or %d, %d or %d from before stages, spill or lineage were recorded)",
			n, historySchema.NumFields(), historyColumnsV1, historyColumnsV2, historyColumnsV3)
	}
	for i, f := range historySchema.Fields()[:got.NumFields()] {
		if g := got.Field(i); g.Name != f.Name || g.Type.ID() != f.Type.ID() {
			return nil, fmt.Errorf("query history column %d is %s %s, want %s %s", i, g.Name, g.Type, f.Name, f.Type)
		}
	}
	col := func(i int) arrow.Array { return rec.Column(i) }
	str := func(i, row int) string {
		if i >= int(rec.NumCols()) {
			return ""
		}
		a := col(i).(*array.String)
		if a.IsNull(row) {
			return ""
		}
		return a.Value(row)
	}
	i64 := func(i, row int) int64 {
		if i >= int(rec.NumCols()) {
			return 0 // a column older history files lack
		}
		return col(i).(*array.Int64).Value(row)
	}
	ts := func(i, row int) time.Time {
		a := col(i).(*array.Timestamp)
		if a.IsNull(row) {
			return time.Time{}
		}
		return time.UnixMicro(int64(a.Value(row))).UTC()
	}
	list := func(i, row int) []string {
		a := col(i).(*array.List)
		start, end := a.ValueOffsets(row)
		vals := a.ListValues().(*array.String)
		out := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, vals.Value(int(j)))
		}
		return out
	}
	ms := func(i, row int) time.Duration { return time.Duration(i64(i, row)) * time.Millisecond }
	out := make([]QueryRecord, 0, rec.NumRows())
	edges := func(int) []lineage.Edge { return nil }
	if rec.NumCols() > 25 {
		l := col(25).(*array.List)
		edges = func(row int) []lineage.Edge { return decodeEdges(l, row) }
	}
	for r := range int(rec.NumRows()) {
		out = append(out, QueryRecord{
			ID: str(0, r), Principal: str(1, r), SQL: str(2, r), State: str(3, r), Error: str(4, r),
			Submitted: ts(5, r), Finished: ts(6, r), Queued: ms(7, r), Planning: ms(8, r), Execution: ms(9, r),
			Rows: i64(10, r), Bytes: i64(11, r), Tables: list(12, r), Strategy: str(13, r),
			Fragments: int(i64(14, r)), FragmentsDone: int(i64(15, r)), Workers: list(16, r), Retries: int(i64(17, r)),
			Stages: int(i64(18, r)), SpoolRows: i64(19, r), SpoolBytes: i64(20, r), SpillBytes: i64(21, r),
			Run: lineage.Run{Report: str(22, r), RunID: str(23, r), Output: str(24, r)}, Lineage: edges(r),
		})
	}
	return out, nil
}

// Flush appends the queries ended since the last flush as one Parquet
// file under QueriesPrefix; on failure they stay pending.
func (l *QueryLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(pending) == 0 || l.opts.Store == nil {
		return nil
	}
	data, err := l.parquet(pending)
	if err == nil {
		key := fmt.Sprintf("%s%s-%s.parquet", QueriesPrefix, time.Now().UTC().Format("20060102T150405.000000Z"), randomSuffix())
		err = l.opts.Store.Put(ctx, key, data)
	}
	if err != nil {
		l.mu.Lock()
		l.pending = append(pending, l.pending...)
		l.mu.Unlock()
		return fmt.Errorf("persist query history: %w", err)
	}
	return nil
}

func (l *QueryLog) parquet(recs []QueryRecord) ([]byte, error) {
	rec := encodeQueries(l.mem, historySchema, recs)
	defer rec.Release()
	return EncodeParquet(rec)
}

// Load reads persisted history, newest Keep queries.
func (l *QueryLog) Load(ctx context.Context) error {
	if l.opts.Store == nil {
		return nil
	}
	objs, err := l.opts.Store.List(ctx, QueriesPrefix)
	if err != nil {
		return fmt.Errorf("list query history: %w", err)
	}
	var recs []QueryRecord
	// Keys sort by time: read newest first until Keep are loaded.
	slices.SortFunc(objs, func(a, b storage.Object) int { return strings.Compare(b.Key, a.Key) })
	for _, o := range objs {
		if len(recs) >= l.opts.Keep {
			break
		}
		if !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		data, err := l.opts.Store.Get(ctx, o.Key)
		if err != nil {
			return fmt.Errorf("read query history %s: %w", o.Key, err)
		}
		got, err := readQueries(ctx, data)
		if err != nil {
			l.opts.Logger.Warn("skipping unreadable query history file", "key", o.Key, "err", err)
			continue
		}
		recs = append(got, recs...)
	}
	if over := len(recs) - l.opts.Keep; over > 0 {
		recs = recs[over:]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = append(recs, l.ended...)
	return nil
}

func readQueries(ctx context.Context, data []byte) ([]QueryRecord, error) {
	var out []QueryRecord
	err := DecodeParquet(ctx, data, func(rec arrow.RecordBatch) error {
		got, err := decodeQueries(rec)
		out = append(out, got...)
		return err
	})
	return out, err
}

// Run flushes every interval until ctx ends, then once more.
func (l *QueryLog) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.Flush(ctx); err != nil {
				l.opts.Logger.Warn("query history", "err", err)
			}
		}
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
