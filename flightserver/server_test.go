package flightserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
	"github.com/quiver-data/quiver/worker"
	"github.com/quiver-data/quiver/workerpool"
)

// testEnv is a whole Quiver in one process: a local warehouse written by
// DuckDB, in-process workers, the coordinator and the Flight SQL service
// with the distributed planner, reached by arrow-go's real Flight SQL
// client.
type testEnv struct {
	client  *flightsql.Client
	raw     flight.Client
	mem     *memory.CheckedAllocator
	dir     string
	db      *engine.DB
	workers []string
	// workerRegs are the workers' metric registries, by worker.
	workerRegs []*prometheus.Registry
	srv        *Server
}

// envOptions vary the test environment.
type envOptions struct {
	workers int    // default 2
	routing string // default proxy
	tweak   func(*Options)
	system  *systables.QueryLog // serve system.queries and system.tables from it
	// tables, when set, runs with the warehouse's DuckDB after the shop
	// tables are written, to add tables of a test's own.
	tables func(ctx context.Context, dir string, db *engine.DB) error
	// broadcastRows is the planner's exchange threshold (0: never).
	broadcastRows int64
	// finalGroups is the planner's final-aggregate threshold (0: never).
	finalGroups int64
	// querier, when set, is what worker i runs fragments with instead of
	// its DuckDB (a test worker that misbehaves).
	querier func(i int, db *engine.DB) worker.Querier
	// policy, when set, is the planner's.
	policy planner.Policy
}

func newTestEnv(t *testing.T) *testEnv {
	return newTestEnvWith(t, envOptions{})
}

func newTestEnvWith(t testing.TB, o envOptions) *testEnv {
	t.Helper()
	if o.workers == 0 {
		o.workers = 2
	}
	ctx := context.Background()
	dir := t.TempDir()
	db, err := engine.Open(ctx, engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "shop", "orders"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "shop", "lines"), 0o755))
	stmts := []string{
		`COPY (SELECT i AS id, 'item-' || i AS item, (i * 1.25)::DECIMAL(10,2) AS price,
		        CASE WHEN i % 4 = 0 THEN NULL ELSE i % 3 END AS qty, 'EU' AS region
		      FROM range(1, 101) t(i)) TO '` + dir + `/shop/orders' (FORMAT parquet, PARTITION_BY (region))`,
	}
	// shop.lines: six files, so plans split it across workers.
	for f := range 6 {
		stmts = append(stmts, fmt.Sprintf(`COPY (SELECT i AS line_id, i %% 7 AS sku, (i %% 13)::DOUBLE AS amount,
		        CASE WHEN i %% 5 = 0 THEN NULL ELSE 'c' || (i %% 4) END AS country
		      FROM range(%d, %d) t(i)) TO '%s/shop/lines/part-%d.parquet' (FORMAT parquet)`, f*5000, (f+1)*5000, dir, f))
	}
	for _, q := range stmts {
		_, err := db.SQL().ExecContext(ctx, q)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shop", "orders", "README.txt"), []byte("not parquet"), 0o644))
	if o.tables != nil {
		require.NoError(t, o.tables(ctx, dir, db))
	}

	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	signer, err := fragwire.NewSigner([]byte("test-secret-0123456789"))
	require.NoError(t, err)

	var addrs []string
	var regs []*prometheus.Registry
	for i := range o.workers {
		wdb, err := engine.Open(ctx, engine.Options{Threads: 1})
		require.NoError(t, err)
		t.Cleanup(func() { wdb.Close() })
		var q worker.Querier = wdb
		if o.querier != nil {
			q = o.querier(i, wdb)
		}
		wlis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		reg := prometheus.NewRegistry()
		regs = append(regs, reg)
		wgs := NewGRPCServer(worker.NewServer(worker.ServerOptions{DB: q, Signer: signer, BatchRows: 1000, Registerer: reg}), GRPCOptions{})
		go wgs.Serve(wlis)
		t.Cleanup(wgs.Stop)
		addrs = append(addrs, wlis.Addr().String())
	}

	pool := workerpool.New(workerpool.Options{})
	require.NoError(t, pool.Set(addrs))
	t.Cleanup(func() { pool.Close() })

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	coord := coordinator.New(coordinator.Options{DB: db, Workers: pool, Signer: signer, Allocator: mem, Grace: time.Second, Spool: wh})
	var catalog planner.Catalog = wh
	var reg *systables.Registry
	if o.system != nil {
		reg = systables.NewRegistry(o.system, systables.Tables{Warehouse: wh})
		catalog = systables.Catalog{Warehouse: wh, System: reg}
	}
	opts := Options{
		System: reg,
		Planner: planner.New(planner.Options{
			Parser: db, Catalog: catalog, TypeName: engine.DuckDBType,
			Partitioner: coordinator.Partitioner{Members: pool}, Typer: coord.Typer(), Functions: db, Footers: wh,
			BroadcastRows: o.broadcastRows, FinalGroups: o.finalGroups, Policy: o.policy,
		}),
		Runner:   coord,
		Catalog:  wh,
		Delivery: Delivery{Routing: o.routing},
		Access: Access{Principal: func(ctx context.Context) string {
			md, _ := metadata.FromIncomingContext(ctx)
			if u := md.Get("x-user"); len(u) > 0 {
				return u[0]
			}
			return "anonymous"
		}},
		Allocator: mem,
		// As `quiver serve` does by default: single-endpoint results start
		// when planned, so every test here also covers the prefetch.
		Limits: Limits{PrefetchMessages: 2},
	}
	if o.system != nil {
		opts.History = o.system
	}
	if o.tweak != nil {
		o.tweak(&opts)
	}
	srv, err := New(opts)
	require.NoError(t, err)
	gs := NewGRPCServer(srv.FlightService(), GRPCOptions{LoopbackOnly: true})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)

	cl, err := flightsql.NewClient(lis.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	raw, err := flight.NewClientWithMiddleware(lis.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return &testEnv{client: cl, raw: raw, mem: mem, dir: dir, db: db, workers: addrs, workerRegs: regs, srv: srv}
}

// fetch reads every endpoint of info into one table's worth of rows, each
// where its location says (the coordinator, or a worker).
func (e *testEnv) fetch(t *testing.T, ctx context.Context, info *flight.FlightInfo) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	var recs []arrow.RecordBatch
	var schema *arrow.Schema
	for _, ep := range info.Endpoint {
		rdr, closeFn := e.doGet(t, ctx, ep)
		schema = rdr.Schema()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		require.NoError(t, rdr.Err())
		closeFn()
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return schema, recs
}

func rows(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

func TestStatementQuery(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT region, count(*) AS n, sum(price) AS total, count(qty) AS with_qty FROM shop.orders GROUP BY region")
	require.NoError(t, err)
	want, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	require.NoError(t, err)
	schema, recs := e.fetch(t, ctx, info)
	require.True(t, want.Equal(schema), "FlightInfo schema %s, stream schema %s", want, schema)
	require.EqualValues(t, 1, rows(recs))
	rec := recs[0]
	require.Equal(t, "EU", rec.Column(0).(*array.String).Value(0))
	require.EqualValues(t, 100, rec.Column(1).(*array.Int64).Value(0))
	require.Equal(t, "6312.5", rec.Column(2).ValueStr(0))
	require.EqualValues(t, 75, rec.Column(3).(*array.Int64).Value(0))
}

func TestEmptyResultStillHasSchema(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT id, item FROM shop.orders WHERE id < 0")
	require.NoError(t, err)
	schema, recs := e.fetch(t, ctx, info)
	require.Equal(t, []string{"id", "item"}, []string{schema.Field(0).Name, schema.Field(1).Name})
	require.Zero(t, rows(recs))
}

func TestPreparedStatementWithParameter(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	stmt, err := e.client.Prepare(ctx, "SELECT count(*) AS n FROM shop.orders WHERE id <= ? AND region = ?")
	require.NoError(t, err)
	defer stmt.Close(ctx)
	require.Equal(t, "n", stmt.DatasetSchema().Field(0).Name)
	// JDBC accepts parameters only when the server declares them.
	ps := stmt.ParameterSchema()
	require.NotNil(t, ps)
	require.Equal(t, []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String},
		[]arrow.DataType{ps.Field(0).Type, ps.Field(1).Type})

	params := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.BinaryTypes.String},
	}, nil))
	defer params.Release()
	params.Field(0).(*array.Int64Builder).Append(10)
	params.Field(1).(*array.StringBuilder).Append("EU")
	rec := params.NewRecordBatch()
	defer rec.Release()
	stmt.SetParameters(rec)
	info, err := stmt.Execute(ctx)
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 10, recs[0].Column(0).(*array.Int64).Value(0))
}

func TestPlainFlightSQLText(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	info, err := e.raw.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("SELECT max(id) AS m FROM shop.orders")})
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 100, recs[0].Column(0).(*array.Int64).Value(0))
}

func TestGetTablesWithSchema(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	orders := "orders"
	info, err := e.client.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true, TableNameFilterPattern: &orders})
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 1, rows(recs))
	rec := recs[0]
	require.Equal(t, "quiver", rec.Column(0).ValueStr(0))
	require.Equal(t, "shop", rec.Column(1).ValueStr(0))
	require.Equal(t, "orders", rec.Column(2).ValueStr(0))
	schema, err := flight.DeserializeSchema(rec.Column(4).(*array.Binary).Value(0), memory.DefaultAllocator)
	require.NoError(t, err)

	q, err := e.client.Execute(ctx, "SELECT * FROM shop.orders")
	require.NoError(t, err)
	got, _ := e.fetch(t, ctx, q)
	require.True(t, schema.Equal(got), "GetTables %s vs SELECT * %s", schema, got)
	require.Equal(t, "region", schema.Field(schema.NumFields()-1).Name, "hive column last")
}

func TestErrorsBecomeStatusCodes(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	cases := []struct {
		name string
		sql  string
		code codes.Code
		msg  string
	}{
		{"unknown table", "SELECT * FROM shop.nope", codes.NotFound, "shop.nope"},
		{"syntax", "SELEC 1", codes.InvalidArgument, "syntax error"},
		{"binder", "SELECT nope FROM shop.orders", codes.InvalidArgument, "nope"},
		{"write", "DELETE FROM shop.orders", codes.PermissionDenied, "DELETE statements are not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.Execute(ctx, tc.sql)
			require.Equal(t, tc.code, status.Code(err), "%v", err)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	// The server keeps serving.
	_, err := e.client.Execute(ctx, "SELECT 1")
	require.NoError(t, err)
}

func TestTicketsAreBoundToPrincipal(t *testing.T) {
	e := newTestEnv(t)
	alice := metadata.AppendToOutgoingContext(context.Background(), "x-user", "alice")
	bob := metadata.AppendToOutgoingContext(context.Background(), "x-user", "bob")
	info, err := e.client.Execute(alice, "SELECT 1")
	require.NoError(t, err)
	// The error surfaces when the stream opens or at its first read.
	rdr, err := e.client.DoGet(bob, info.Endpoint[0].Ticket)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	_, recs := e.fetch(t, alice, info)
	require.EqualValues(t, 1, rows(recs))
}
