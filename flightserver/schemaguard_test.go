package flightserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/worker"
)

// hiveTable is a test table with Hive partition keys written in an order
// that is not alphabetical, so DuckDB's own order of partition columns
// (alphabetical) differs from the directory order the catalog announces.
type hiveTable struct {
	name string
	// keys are the partition keys in directory order, with the SQL that
	// computes each from i.
	keys [][2]string
	// columns are the table's columns as the catalog orders them.
	columns []string
	// one is a filter that prunes to one partition, none one that prunes to none.
	one, none string
}

var hiveTables = []hiveTable{
	{name: "hive.k0", columns: []string{"id", "v", "label"}, one: "v = 1.5", none: "v < 0"},
	{name: "hive.k1", keys: [][2]string{{"month", "i % 3 + 1"}},
		columns: []string{"id", "v", "label", "month"}, one: "month = 2", none: "month = 99"},
	{name: "hive.k2", keys: [][2]string{{"region", "CASE WHEN i % 2 = 0 THEN 'EU' ELSE 'US' END"}, {"bucket", "i % 3"}},
		columns: []string{"id", "v", "label", "region", "bucket"}, one: "region = 'EU' AND bucket = 1", none: "region = 'APAC'"},
	{name: "hive.k3", keys: [][2]string{{"zone", "'z' || (i % 2)"}, {"day", "DATE '2025-01-01' + (i % 2)::INT"}, {"batch", "i % 2 + 7"}},
		columns: []string{"id", "v", "label", "zone", "day", "batch"}, one: "zone = 'z1' AND day = DATE '2025-01-02' AND batch = 8", none: "day = DATE '2030-01-01'"},
}

// writeHiveTables writes hiveTables into the warehouse dir.
func writeHiveTables(ctx context.Context, dir string, db *engine.DB) error {
	for _, ht := range hiveTables {
		schema, table, _ := strings.Cut(ht.name, ".")
		cols := "i AS id, (i * 0.5)::DOUBLE AS v, 'l' || (i % 5) AS label"
		var keys []string
		for _, k := range ht.keys {
			cols += ", " + k[1] + " AS " + k[0]
			keys = append(keys, k[0])
		}
		target := filepath.Join(dir, schema, table)
		opts := "FORMAT parquet"
		if len(keys) > 0 {
			opts += ", PARTITION_BY (" + strings.Join(keys, ", ") + ")"
		} else {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			target = filepath.Join(target, "part-0.parquet")
		}
		q := fmt.Sprintf("COPY (SELECT %s FROM range(0, 240) t(i)) TO '%s' (%s)", cols, target, opts)
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("write %s: %w", ht.name, err)
		}
	}
	return nil
}

// hiveShapes are the query shapes over a hive table t (with alias x),
// with the columns each result has in order.
func hiveShapes(ht hiveTable) []struct{ sql, cols string } {
	all := strings.Join(ht.columns, ", ")
	rest := strings.Join(ht.columns[1:], ", ")
	return []struct{ sql, cols string }{
		{"SELECT * FROM " + ht.name, all},
		{"SELECT * FROM " + ht.name + " WHERE " + ht.one, all},
		{"SELECT * FROM " + ht.name + " WHERE " + ht.none, all},
		{"SELECT x.*, o.item FROM " + ht.name + " x JOIN shop.orders o ON o.id = x.id", all + ", item"},
		{"SELECT o.item, x.* FROM shop.orders o JOIN " + ht.name + " x ON o.id = x.id WHERE x.id < 50", "item, " + all},
		{"SELECT * EXCLUDE (id) FROM " + ht.name, rest},
		{"SELECT * REPLACE (v * 2 AS v) FROM " + ht.name, all},
		{"SELECT * FROM " + ht.name + " ORDER BY id LIMIT 7", all},
		{"SELECT DISTINCT * EXCLUDE (id, v) FROM " + ht.name, strings.Join(ht.columns[2:], ", ")},
		{"SELECT * FROM (SELECT * FROM " + ht.name + ") s WHERE " + ht.one, all},
	}
}

// TestHiveColumnOrderIsTheAnnouncedOne runs every shape over tables with
// 0–3 partition keys, 1–3 workers, proxied and routed directly: the
// announced schema is the catalog's column order, every endpoint streams
// exactly that schema, GetSchema and a prepared statement announce it too,
// and the rows equal DuckDB's over the same files.
func TestHiveColumnOrderIsTheAnnouncedOne(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		for _, routing := range []string{RoutingProxy, RoutingDirect} {
			t.Run(fmt.Sprintf("workers=%d/%s", workers, routing), func(t *testing.T) {
				e := newTestEnvWith(t, envOptions{workers: workers, routing: routing, tables: writeHiveTables})
				ctx := context.Background()
				for _, ht := range hiveTables {
					for _, shape := range hiveShapes(ht) {
						t.Run(shape.sql, func(t *testing.T) {
							announced := e.requireSchemaContract(t, ctx, shape.sql)
							require.Equal(t, shape.cols, strings.Join(fieldNames(announced), ", "))
							// DuckDB orders Hive columns its own way: the
							// oracle names them in the announced order.
							oracle := strings.ReplaceAll(fmt.Sprintf("SELECT %s FROM (%s)", quoted(fieldNames(announced)), shape.sql),
								ht.name, fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning = true)", e.dir, strings.ReplaceAll(ht.name, ".", "/")))
							oracle = strings.ReplaceAll(oracle, "shop.orders", fmt.Sprintf("read_parquet('%s/shop/orders/**/*.parquet', hive_partitioning = true)", e.dir))
							info, err := e.client.Execute(ctx, shape.sql)
							require.NoError(t, err)
							_, recs := e.fetch(t, ctx, info)
							require.Equal(t, e.oracle(t, oracle), rowStrings(recs))
						})
					}
				}
				require.Zero(t, testutil.ToFloat64(e.srv.mismatches))
			})
		}
	}
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}

func quoted(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = engine.QuoteIdent(n)
	}
	return strings.Join(out, ", ")
}

// requireSchemaContract checks sql's schema everywhere a client can see
// it: GetFlightInfo, every endpoint's stream, GetSchema, and a prepared
// statement's dataset schema and its endpoints. It returns the schema.
func (e *testEnv) requireSchemaContract(t *testing.T, ctx context.Context, sql string) *arrow.Schema {
	t.Helper()
	info, err := e.client.Execute(ctx, sql)
	require.NoError(t, err)
	announced, err := flight.DeserializeSchema(info.Schema, e.mem)
	require.NoError(t, err)
	e.requireEndpointsStream(t, ctx, info, announced)

	res, err := e.client.GetExecuteSchema(ctx, sql)
	require.NoError(t, err)
	typed, err := flight.DeserializeSchema(res.Schema, e.mem)
	require.NoError(t, err)
	require.NoError(t, fragwire.CheckSchema(announced, typed), "GetSchema")

	prep, err := e.client.Prepare(ctx, sql)
	require.NoError(t, err)
	defer prep.Close(ctx)
	require.NoError(t, fragwire.CheckSchema(announced, prep.DatasetSchema()), "prepared statement dataset schema")
	pinfo, err := prep.Execute(ctx)
	require.NoError(t, err)
	pannounced, err := flight.DeserializeSchema(pinfo.Schema, e.mem)
	require.NoError(t, err)
	require.NoError(t, fragwire.CheckSchema(announced, pannounced), "prepared statement FlightInfo")
	e.requireEndpointsStream(t, ctx, pinfo, announced)
	return announced
}

// requireEndpointsStream reads every endpoint of info and checks that its
// stream's schema is want.
func (e *testEnv) requireEndpointsStream(t *testing.T, ctx context.Context, info *flight.FlightInfo, want *arrow.Schema) {
	t.Helper()
	for i, ep := range info.Endpoint {
		rdr, closeFn := e.doGet(t, ctx, ep)
		require.NoError(t, fragwire.CheckSchema(want, rdr.Schema()), "endpoint %d", i)
		for rdr.Next() {
		}
		require.NoError(t, rdr.Err())
		closeFn()
	}
}

// doGet redeems an endpoint where it says: on the coordinator, or on the
// worker its location names.
func (e *testEnv) doGet(t *testing.T, ctx context.Context, ep *flight.FlightEndpoint) (*flight.Reader, func()) {
	t.Helper()
	if len(ep.Location) == 0 {
		rdr, err := e.client.DoGet(ctx, ep.Ticket)
		require.NoError(t, err)
		return rdr, rdr.Release
	}
	addr, ok := strings.CutPrefix(ep.Location[0].Uri, "grpc://")
	require.True(t, ok, ep.Location[0].Uri)
	wc, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	rdr, err := wc.DoGet(ctx, ep.Ticket)
	require.NoError(t, err)
	return rdr, func() { rdr.Release(); wc.Close() }
}

// reorderingQuerier is a worker that swaps its results' first two columns
// (names and data): the kind of bug the schema guard exists for. Results
// of one column pass unchanged.
type reorderingQuerier struct{ db *engine.DB }

func (r reorderingQuerier) QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error) {
	rdr, err := r.db.QueryArrow(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	fields := rdr.Schema().Fields()
	if len(fields) < 2 {
		return rdr, nil
	}
	defer rdr.Release()
	fields[0], fields[1] = fields[1], fields[0]
	schema := arrow.NewSchema(fields, nil)
	var recs []arrow.RecordBatch
	for rdr.Next() {
		rec := rdr.RecordBatch()
		cols := rec.Columns()
		cols = append([]arrow.Array{cols[1], cols[0]}, cols[2:]...)
		recs = append(recs, array.NewRecordBatch(schema, cols, rec.NumRows()))
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	out, err := array.NewRecordReader(schema, recs)
	for _, r := range recs {
		r.Release()
	}
	return out, err
}

// TestSchemaGuard holds any writer (a merge, local rows) to the announced
// schema: the same schema passes, any other stops before its first
// message reaches the client.
func TestSchemaGuard(t *testing.T) {
	want := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	for _, tc := range []struct {
		name   string
		schema *arrow.Schema
		err    string
	}{
		{"same", want, ""},
		{"reordered", arrow.NewSchema([]arrow.Field{want.Field(1), want.Field(0)}, nil), "at column 1: announced (a int64, b utf8), streamed (b utf8, a int64)"},
		{"retyped", arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, want.Field(1)}, nil), "at column 1"},
		{"not null", arrow.NewSchema([]arrow.Field{want.Field(0), {Name: "b", Type: arrow.BinaryTypes.String}}, nil), "streamed (a int64, b utf8 not null)"},
		{"renamed", arrow.NewSchema([]arrow.Field{want.Field(0), {Name: "B", Type: arrow.BinaryTypes.String, Nullable: true}}, nil), "at column 2"},
		{"extra column", arrow.NewSchema(append(want.Fields(), arrow.Field{Name: "c", Type: arrow.PrimitiveTypes.Int64}), nil), "at column 3"},
		{"missing column", arrow.NewSchema(want.Fields()[:1], nil), "at column 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			srv, err := New(Options{Allocator: mem})
			require.NoError(t, err)
			var passed []*flight.FlightData
			g := &schemaGuard{next: sendFunc(func(fd *flight.FlightData) error { passed = append(passed, fd); return nil }),
				srv: srv, q: &query{job: coordinator.Job{QueryID: "q"}, announced: want}}
			b := array.NewRecordBuilder(mem, tc.schema)
			defer b.Release()
			rec := b.NewRecordBatch()
			defer rec.Release()
			w := flight.NewRecordWriter(g, ipc.WithSchema(tc.schema), ipc.WithAllocator(mem))
			err = w.Write(rec)
			w.Close()
			if tc.err == "" {
				require.NoError(t, err)
				require.Len(t, passed, 2, "schema and batch")
				return
			}
			require.ErrorIs(t, err, fragwire.ErrSchemaMismatch)
			require.ErrorContains(t, err, tc.err)
			require.Empty(t, passed, "nothing reaches the client")
			require.Equal(t, 1.0, testutil.ToFloat64(srv.mismatches))
		})
	}
}

// sendFunc is a flight.DataStreamWriter.
type sendFunc func(*flight.FlightData) error

func (f sendFunc) Send(fd *flight.FlightData) error { return f(fd) }

// TestSchemaMismatchFailsTheQuery makes every worker stream its columns
// in another order than the announced one. Proxied, the coordinator stops
// the stream before its first batch; routed directly, the worker does,
// against the schema in its signed ticket. Either way the client gets
// Internal naming both schemas, never a mislabeled batch, and the
// mismatch is counted.
func TestSchemaMismatchFailsTheQuery(t *testing.T) {
	const q = "SELECT line_id, sku, amount FROM shop.lines WHERE sku = 2"
	const announced = "announced (line_id int64, sku int64, amount float64), streamed (sku int64, line_id int64, amount float64)"
	swap := func(_ int, db *engine.DB) worker.Querier { return reorderingQuerier{db} }
	requireMismatch := func(t *testing.T, err error) {
		t.Helper()
		require.Equal(t, codes.Internal, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "result schema differs from the announced schema at column 1")
		require.ErrorContains(t, err, announced)
	}
	t.Run("proxy", func(t *testing.T) {
		e := newTestEnvWith(t, envOptions{querier: swap})
		ctx := context.Background()
		info, err := e.client.Execute(ctx, q)
		require.NoError(t, err)
		require.NotEmpty(t, info.Endpoint)
		rdr, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
		if err == nil {
			for rdr.Next() {
				require.Fail(t, "a batch reached the client")
			}
			err = rdr.Err()
			rdr.Release()
		}
		requireMismatch(t, err)
		require.Equal(t, 1.0, testutil.ToFloat64(e.srv.mismatches))
		// The server goes on serving everyone else.
		info, err = e.client.Execute(ctx, "SELECT 1 AS one")
		require.NoError(t, err)
		_, recs := e.fetch(t, ctx, info)
		require.Equal(t, int64(1), rows(recs))
	})
	t.Run("direct", func(t *testing.T) {
		e := newTestEnvWith(t, envOptions{querier: swap, routing: RoutingDirect})
		ctx := context.Background()
		info, err := e.client.Execute(ctx, q)
		require.NoError(t, err)
		require.NotEmpty(t, info.Endpoint)
		rdr, closeFn, err := e.doGetErr(t, ctx, info.Endpoint[0])
		if err == nil {
			for rdr.Next() {
				require.Fail(t, "a batch reached the client")
			}
			err = rdr.Err()
			closeFn()
		}
		requireMismatch(t, err)
		var sum float64
		for _, reg := range e.workerRegs {
			n, err := testutil.GatherAndCount(reg, "quiver_schema_mismatch_total")
			require.NoError(t, err)
			require.Equal(t, 1, n)
			mfs, err := reg.Gather()
			require.NoError(t, err)
			for _, mf := range mfs {
				if mf.GetName() == "quiver_schema_mismatch_total" {
					sum += mf.GetMetric()[0].GetCounter().GetValue()
				}
			}
		}
		require.Equal(t, 1.0, sum)
	})
}

// doGetErr is doGet for a stream expected to fail: the error of the call
// itself comes back instead of failing the test.
func (e *testEnv) doGetErr(t *testing.T, ctx context.Context, ep *flight.FlightEndpoint) (*flight.Reader, func(), error) {
	t.Helper()
	addr, ok := strings.CutPrefix(ep.Location[0].Uri, "grpc://")
	require.True(t, ok, ep.Location[0].Uri)
	wc, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { wc.Close() })
	rdr, err := wc.DoGet(ctx, ep.Ticket)
	if err != nil {
		return nil, func() {}, err
	}
	return rdr, rdr.Release, nil
}

// BenchmarkSchemaGuard is what the guard adds to one endpoint: decoding
// its schema message and comparing it, here for 16 columns.
func BenchmarkSchemaGuard(b *testing.B) {
	fields := make([]arrow.Field, 16)
	for i := range fields {
		typ := arrow.DataType(arrow.PrimitiveTypes.Int64)
		if i%2 == 1 {
			typ = arrow.BinaryTypes.String
		}
		fields[i] = arrow.Field{Name: fmt.Sprintf("column_%d", i), Type: typ, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	srv, err := New(Options{})
	require.NoError(b, err)
	var msg *flight.FlightData
	w := flight.NewRecordWriter(sendFunc(func(fd *flight.FlightData) error {
		msg = &flight.FlightData{DataHeader: append([]byte(nil), fd.DataHeader...)}
		return nil
	}), ipc.WithSchema(schema))
	require.NoError(b, w.Close())
	discard := sendFunc(func(*flight.FlightData) error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		g := &schemaGuard{next: discard, srv: srv, q: &query{announced: schema}}
		if err := g.Send(msg); err != nil {
			b.Fatal(err)
		}
	}
}
