package engine

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
	"github.com/quiver-data/quiver/errkind"
	"github.com/stretchr/testify/require"
)

// streamOf returns the streaming reader under a QueryArrow reader, or nil
// when the query took the materializing path.
func streamOf(rdr array.RecordReader) *streamReader {
	cr, ok := rdr.(*connReader)
	if !ok {
		return nil
	}
	sr, _ := cr.RecordReader.(*streamReader)
	return sr
}

// TestStreamingPathIsTaken pins that, with the duckdb-go this module
// builds with, QueryArrow reaches the driver's handles and DuckDB returns
// a streaming result. An upgrade that moves the handles fails here (the
// engine would then quietly materialize every result).
func TestStreamingPathIsTaken(t *testing.T) {
	l, err := findDriverLayout()
	require.NoError(t, err)
	require.NotNil(t, l)
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	require.NotNil(t, db.layout)
	for _, q := range []string{
		"SELECT i FROM range(100000) t(i)",
		"SELECT i % 10 AS k, count(*) AS n FROM range(100000) t(i) GROUP BY k",
	} {
		rdr, err := db.QueryArrow(context.Background(), q)
		require.NoError(t, err)
		sr := streamOf(rdr)
		require.NotNil(t, sr, "%s: the streaming reader", q)
		require.True(t, sr.streaming, "%s: DuckDB made a streaming result", q)
		rdr.Release()
	}

	t.Run("an unknown layout is refused", func(t *testing.T) {
		type conn struct{ conn uintptr }
		// Only the layouts of these types matter: layoutOf reads them by reflection.
		type stmt struct {
			preparedStmt *mapping.PreparedStatement //lint:ignore U1000 read by reflection
		}
		type renamed struct {
			prepared *mapping.PreparedStatement //lint:ignore U1000 read by reflection
		}
		_, err := layoutOf(reflect.TypeFor[conn](), reflect.TypeFor[stmt]())
		require.ErrorContains(t, err, "conn is a uintptr")
		_, err = layoutOf(reflect.TypeFor[duckdb.Conn](), reflect.TypeFor[renamed]())
		require.ErrorContains(t, err, "no field preparedStmt")
	})

	t.Run("without the layout results are materialized", func(t *testing.T) {
		db, err := Open(context.Background(), Options{Threads: 2})
		require.NoError(t, err)
		defer db.Close()
		db.layout = nil
		rdr, err := db.QueryArrow(context.Background(), "SELECT i FROM range(5000) t(i) WHERE i >= ?", int64(1000))
		require.NoError(t, err)
		defer rdr.Release()
		require.Nil(t, streamOf(rdr))
		var n int64
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		require.NoError(t, rdr.Err())
		require.EqualValues(t, 4000, n)
	})
}

// TestStreamMatchesMaterialized: the streaming reader returns exactly what
// duckdb-go's materializing reader returns, schema and values, for the
// types the warehouse holds and the bind arguments workers decode.
func TestStreamMatchesMaterialized(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	ts := time.Date(2024, 3, 5, 6, 7, 8, 123456000, time.UTC)
	cases := []struct {
		name  string
		query string
		args  []any
	}{
		{name: "scalar types over several chunks", query: `SELECT (i % 100)::TINYINT AS i8, i::SMALLINT AS i16, i::INTEGER AS i32, i AS i64,
			i::HUGEINT AS i128, i::UBIGINT AS u64, i::UINTEGER AS u32, i / 7 AS f64, (i / 3)::FLOAT AS f32,
			(i / 100)::DECIMAL(18, 2) AS d18, (i * 1000)::DECIMAL(38, 3) AS d38, (i % 1000 / 10)::DECIMAL(4, 1) AS d4,
			'v' || i AS s, repeat('long string ', (i % 5)::INTEGER) || i AS ls, i % 2 = 0 AS b,
			DATE '2020-01-01' + i::INTEGER AS dt, TIMESTAMP '2020-01-01' + to_seconds(i) AS tsp,
			TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i) AS tstz, (TIMESTAMP '2020-01-01' + to_seconds(i))::TIMESTAMP_MS AS tms,
			TIME '01:02:03' AS tm, to_days(i::INTEGER) AS iv, ('ab' || i)::BLOB AS bl,
			'00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0') AS u_text, uuid_extract_version('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID) AS uv
			FROM range(5000) t(i)`},
		{name: "NULLs in every type", query: `SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS n64,
			CASE WHEN i % 3 = 1 THEN NULL ELSE 'x' || i END AS ns, CASE WHEN i % 2 = 0 THEN NULL ELSE (i / 4)::DECIMAL(10, 2) END AS nd,
			CASE WHEN i % 4 = 0 THEN NULL ELSE DATE '2021-06-01' + i::INTEGER END AS ndt,
			CASE WHEN i % 5 = 0 THEN NULL ELSE TIMESTAMPTZ '2021-06-01 00:00:00+00' + to_seconds(i) END AS ntz,
			CASE WHEN i % 6 = 0 THEN NULL ELSE [i, NULL, i + 1] END AS nl,
			CASE WHEN i % 7 = 0 THEN NULL ELSE {'a': i, 'b': CASE WHEN i % 2 = 0 THEN NULL ELSE 's' || i END} END AS nst,
			NULL AS only_null
			FROM range(4500) t(i)`},
		{name: "nested types", query: `SELECT [i, i + 1, i + 2] AS l, ['a' || i, NULL] AS ls, {'x': i, 'y': [i::DOUBLE], 'z': {'d': DATE '2000-01-01' + i::INTEGER}} AS st,
			[{'k': i, 'v': 'v' || i}] AS lst, MAP {'k' || (i % 3): i} AS m, [i, i]::BIGINT[2] AS arr
			FROM range(3000) t(i)`},
		{name: "enum", query: `SELECT (['a', 'b', 'c'][i % 3 + 1])::ENUM('a', 'b', 'c') AS e FROM range(3000) t(i)`},
		{name: "empty result", query: "SELECT i, 's' || i AS s FROM range(10) t(i) WHERE i > 100"},
		{name: "limit 0", query: "SELECT i::DECIMAL(9, 3) AS d, [i] AS l FROM range(10) t(i) LIMIT 0"},
		{name: "aggregate", query: "SELECT i % 13 AS k, sum(i) AS s, avg(i) AS a, count(*) AS n FROM range(100000) t(i) GROUP BY k ORDER BY k"},
		{name: "typed arguments", query: "SELECT ?::BIGINT AS a, ?::VARCHAR AS b, ?::DOUBLE AS c, ?::BOOLEAN AS d, ?::UBIGINT AS e, ?::BLOB AS f, ?::TIMESTAMP AS g, ?::TIMESTAMPTZ AS h, ? IS NULL AS i",
			args: []any{int64(-42), "héllo", 2.5, true, uint64(1 << 63), []byte{0, 1, 2}, ts, ts, nil}},
		{name: "arguments typed by their use", query: `SELECT i, d, tz FROM (SELECT i, DATE '2024-03-01' + i::INTEGER AS d,
			TIMESTAMPTZ '2024-03-05 00:00:00+00' + to_seconds(i * 3600) AS tz FROM range(5000) t(i))
			WHERE i < ? AND d >= ? AND tz <= ? AND (? OR i % 2 = 0) AND i::DOUBLE >= ? AND 'x' || i <> ? AND ? IS NULL`,
			args: []any{int64(4000), "2024-03-03", ts, false, 1.5, "x7", nil}},
		{name: "bound argument as a range bound", query: "SELECT i FROM range(?) t(i)", args: []any{int64(7000)}},
		{name: "unsigned and float bounds", query: "SELECT i FROM range(10000) t(i) WHERE i < ? AND i > ?", args: []any{uint64(9000), float64(10.5)}},
		{name: "blob and bool arguments", query: "SELECT i, ? AS b, ? AS f FROM range(3000) t(i)", args: []any{[]byte("bytes"), true}},
		{name: "timestamp argument", query: "SELECT ? AS t, i FROM range(3) t(i)", args: []any{ts}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			want, wantSchema := readAll(t, mem, db.QueryArrowMaterialized, tc.query, tc.args)
			defer releaseAll(want)
			got, gotSchema := readAll(t, mem, db.QueryArrow, tc.query, tc.args)
			defer releaseAll(got)
			require.True(t, wantSchema.Equal(gotSchema), "schema\nmaterialized: %s\nstreamed:     %s", wantSchema, gotSchema)
			require.Equal(t, len(want), len(got), "columns")
			for i := range want {
				require.Equal(t, want[i].Len(), got[i].Len(), "rows of %s", wantSchema.Field(i).Name)
				require.True(t, array.Equal(want[i], got[i]), "column %s differs\nmaterialized: %v\nstreamed:     %v",
					wantSchema.Field(i).Name, want[i], got[i])
			}
		})
	}
}

// readAll reads a query's whole result and returns it column by column.
func readAll(t *testing.T, mem memory.Allocator, query func(context.Context, string, ...any) (array.RecordReader, error),
	sql string, args []any) ([]arrow.Array, *arrow.Schema) {
	t.Helper()
	rdr, err := query(context.Background(), sql, args...)
	require.NoError(t, err)
	defer rdr.Release()
	schema := rdr.Schema()
	chunks := make([][]arrow.Array, schema.NumFields())
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := range chunks {
			rec.Column(i).Retain()
			chunks[i] = append(chunks[i], rec.Column(i))
		}
	}
	require.NoError(t, rdr.Err())
	cols := make([]arrow.Array, len(chunks))
	for i, c := range chunks {
		if len(c) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, schema.Field(i).Type, 0)
			continue
		}
		col, err := array.Concatenate(c, mem)
		require.NoError(t, err)
		releaseAll(c)
		cols[i] = col
	}
	return cols, schema
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}

// TestStreamIsNotMaterialized: a result far too large to materialize
// (8 TB) is read batch by batch and released. Materializing would run
// until the deadline fails the test.
func TestStreamIsNotMaterialized(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2, MemoryLimit: "256MB", TempDirectory: t.TempDir(), MaxTempSize: "0B"})
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdr, err := db.QueryArrow(ctx, "SELECT i, 'v' || i AS s FROM range(1000000000000) t(i)")
	require.NoError(t, err)
	var rows int64
	for rows < 1000000 && rdr.Next() {
		rec := rdr.RecordBatch()
		require.EqualValues(t, rows, rec.Column(0).(*array.Int64).Value(0), "in order")
		rows += rec.NumRows()
	}
	require.NoError(t, rdr.Err())
	require.GreaterOrEqual(t, rows, int64(1000000))
	rdr.Release()
	require.NoError(t, ctx.Err())
}

// TestStreamErrorMidStream: an error DuckDB raises after rows were
// delivered ends the stream with DuckDB's error, classified as before.
func TestStreamErrorMidStream(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	// range is scanned in order, and a streaming result runs only a few
	// chunks ahead of its reader: row 8 million is far past the first batch.
	rdr, err := db.QueryArrow(context.Background(),
		"SELECT (CASE WHEN i < 8000000 THEN i::VARCHAR ELSE 'not a number' END)::BIGINT AS n FROM range(10000000) t(i)")
	require.NoError(t, err, "the error is not raised before the first batch")
	defer rdr.Release()
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	require.Positive(t, rows)
	require.Less(t, rows, int64(8000000)+1)
	require.Error(t, rdr.Err())
	require.Contains(t, rdr.Err().Error(), "Conversion Error")
	require.Contains(t, rdr.Err().Error(), "not a number")
	require.Equal(t, errkind.Invalid, Classify(rdr.Err()), "%v", rdr.Err())
	require.False(t, rdr.Next(), "the stream stays ended")
}

// interruptedStream starts query as a stream on a connection of its own,
// reads the first batch, then interrupts DuckDB on that connection without
// ending the context: what DuckDB 1.5 does itself when one of its threads
// fails, a race TestStreamErrorMidStream otherwise meets about once in a
// hundred runs. It returns the rows read to the end and the stream's error.
func interruptedStream(t *testing.T, db *DB, query string) (int64, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var raw mapping.Connection
	require.NoError(t, conn.Raw(func(dc any) error {
		raw = db.layout.connection(dc.(*duckdb.Conn))
		return nil
	}))
	rdr, err := db.queryArrowOn(ctx, conn, query, nil)
	require.NoError(t, err)
	defer rdr.Release()
	require.True(t, rdr.Next())
	rows := rdr.RecordBatch().NumRows()
	mapping.Interrupt(raw)
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	return rows, rdr.Err()
}

// TestStreamUnrequestedInterruptFindsTheError: an interrupt the context
// did not ask for is not reported as a cancel. The query runs again to
// its error, which is reported as DuckDB's own.
func TestStreamUnrequestedInterruptFindsTheError(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	rows, err := interruptedStream(t, db,
		"SELECT (CASE WHEN i < 8000000 THEN i::VARCHAR ELSE 'not a number' END)::BIGINT AS n FROM range(10000000) t(i)")
	require.Less(t, rows, int64(8000000), "the interrupt, not the error, ended the first run")
	require.Error(t, err)
	require.Contains(t, err.Error(), "Conversion Error")
	require.Contains(t, err.Error(), "not a number")
	require.Equal(t, errkind.Invalid, Classify(err), "%v", err)
}

// TestStreamUnrequestedInterruptWithoutError: when running the query again
// does not fail, the stream still ends with an error, an internal one that
// says what happened, not a cancel.
func TestStreamUnrequestedInterruptWithoutError(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	rows, err := interruptedStream(t, db, "SELECT i FROM range(10000000) t(i)")
	require.Less(t, rows, int64(10000000))
	require.Error(t, err)
	require.Contains(t, err.Error(), "interrupt nobody requested")
	require.Equal(t, errkind.Internal, Classify(err), "%v", err)
}

// TestStreamErrorBeforeFirstBatch: errors from the blocking phases of the
// plan (here an aggregate) come from QueryArrow itself, so a worker can
// still retry a fragment that ran out of memory before sending anything.
func TestStreamErrorBeforeFirstBatch(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2, MemoryLimit: "64MB", TempDirectory: t.TempDir(), MaxTempSize: "0B"})
	require.NoError(t, err)
	defer db.Close()
	cases := []struct {
		name, query string
		kind        errkind.Kind
	}{
		{"out of memory in an aggregate", "SELECT i, string_agg(i::VARCHAR || repeat('x', 100), ',') AS s FROM range(20000000) t(i) GROUP BY i", errkind.Exhausted},
		{"conversion in an aggregate", "SELECT sum((CASE WHEN i < 500000 THEN i::VARCHAR ELSE 'x' END)::BIGINT) FROM range(1000000) t(i)", errkind.Invalid},
		{"binder", "SELECT nope FROM range(3)", errkind.Invalid},
		{"catalog", "SELECT * FROM no_such_table", errkind.NotFound},
		{"bad argument", "SELECT i FROM range(10) t(i) WHERE i < ?::INTEGER", errkind.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []any{}
			if tc.name == "bad argument" {
				args = append(args, "not a number")
			}
			rdr, err := db.QueryArrow(context.Background(), tc.query, args...)
			require.Nil(t, rdr)
			require.Error(t, err)
			require.Equal(t, tc.kind, Classify(err), "%v", err)
			// The materializing path reports the same.
			rdr, merr := db.QueryArrowMaterialized(context.Background(), tc.query, args...)
			require.Nil(t, rdr)
			require.Equal(t, Classify(merr), Classify(err))
		})
	}
}

// TestStreamCanceledDuringFetch: a cancel while the reader waits in DuckDB
// for the next chunk interrupts DuckDB; Next returns with the context's
// error, the connection is discarded and the database goes on working.
func TestStreamCanceledDuringFetch(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	warm, err := db.QueryArrow(context.Background(), "SELECT 1")
	require.NoError(t, err)
	warm.Release()
	open := db.SQL().Stats().OpenConnections

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A million rows at once, then minutes of filtering that finds
	// nothing more. (DuckDB hands out rows of a batch a thread is still
	// working on only when that batch is done, so some of the million stay
	// behind too.)
	rdr, err := db.QueryArrow(ctx, "SELECT i FROM range(3000000000) t(i) WHERE i < 1000000 OR md5(i::VARCHAR) < '0'")
	require.NoError(t, err)
	var rows atomic.Int64
	done := make(chan bool, 1)
	go func() {
		for rdr.Next() {
			rows.Add(rdr.RecordBatch().NumRows())
		}
		done <- true
	}()
	require.Eventually(t, func() bool { return rows.Load() >= 500000 }, time.Minute, 10*time.Millisecond)
	// The reader soon waits in DuckDB for a chunk that only minutes of
	// work could produce. Nothing announces that it got there: the row
	// count stops moving, which five polls in a row tell from a pause.
	last, same := int64(-1), 0
	require.Eventually(t, func() bool {
		n := rows.Load()
		if n == last {
			same++
		} else {
			last, same = n, 1
		}
		return same >= 5
	}, time.Minute, 40*time.Millisecond, "the reader never stopped receiving rows")
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Next still running 60s after the cancel: the interrupt did not reach DuckDB")
	}
	require.LessOrEqual(t, rows.Load(), int64(1000000))
	require.ErrorIs(t, rdr.Err(), context.Canceled)
	require.Equal(t, errkind.Canceled, Classify(rdr.Err()))
	rdr.Release()
	require.Equal(t, open-1, db.SQL().Stats().OpenConnections, "the interrupted connection was closed")

	var n int64
	require.NoError(t, db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM range(7)").Scan(&n))
	require.EqualValues(t, 7, n)
}

// TestStreamReleasedEarly: releasing a reader that was not drained ends
// the query and frees what it held; the connection goes back to the pool
// and serves the next query.
func TestStreamReleasedEarly(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	db.SQL().SetMaxOpenConns(1) // the next query runs on the same connection
	ctx := context.Background()
	inUse := func() int64 {
		var n int64
		require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()").Scan(&n))
		return n
	}
	before := inUse()
	for range 3 {
		// The sort holds its data in DuckDB's buffer pool until the result is destroyed.
		rdr, err := db.QueryArrow(ctx, "SELECT i, 'v' || i AS s FROM range(3000000) t(i) ORDER BY i DESC")
		require.NoError(t, err)
		require.True(t, rdr.Next())
		require.EqualValues(t, 2999999, rdr.RecordBatch().Column(0).(*array.Int64).Value(0))
		sr := streamOf(rdr)
		require.NotNil(t, sr)
		rdr.Release()
		require.False(t, sr.hasRes, "the result is destroyed")
		require.Nil(t, sr.stmt, "the statement is destroyed")
		require.False(t, rdr.Next())
	}
	require.Less(t, inUse()-before, int64(16<<20), "the sorts' memory was freed")
	require.Equal(t, 1, db.SQL().Stats().OpenConnections)
	var n int64
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM range(5)").Scan(&n))
	require.EqualValues(t, 5, n)
}

// TestStreamArgumentErrors: argument errors from duckdb-go's binder are
// returned as they are.
func TestStreamArgumentErrors(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.QueryArrow(context.Background(), "SELECT ?::BIGINT + ?::BIGINT", int64(1))
	require.Error(t, err)
	require.Contains(t, err.Error(), "argument count")
}
