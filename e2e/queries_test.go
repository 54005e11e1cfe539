package e2e_test

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	_ "github.com/apache/arrow-go/v18/arrow/flight/flightsql/driver" // registers "flightsql"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestQueriesS3 runs the corpus against an S3 (MinIO) warehouse.
func TestQueriesS3(t *testing.T) {
	runCorpus(t, newS3Fixture(t))
}

// TestQueriesLocal runs the corpus against a local-directory warehouse.
func TestQueriesLocal(t *testing.T) {
	runCorpus(t, newLocalFixture(t, nil, nil))
}

// runCorpus sends every corpus query through arrow-go's flightsql.Client and
// its database/sql driver, then prepared statements through both, comparing
// each with the oracle.
func runCorpus(t *testing.T, fx *fixture) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	cl := dialFlightSQL(t, fx.server.Addr(), mem)
	db, err := sql.Open("flightsql", "flightsql://"+fx.server.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	for _, q := range loadCorpus(t) {
		t.Run(q.Name, func(t *testing.T) {
			ctx := queryCtx(t)
			want, err := fx.oracle.Query(ctx, q.SQL)
			require.NoError(t, err, "oracle cannot run %s (line %d)", q.Name, q.Line)
			defer want.Release()

			t.Run("flightsql", func(t *testing.T) {
				got, err := harness.RunFlightSQL(ctx, cl, q.SQL)
				require.NoError(t, err, "%s\n%s", q.SQL, describe(err))
				defer got.Release()
				harness.Compare(t, q.Name, want, got, q.Ordered)
			})

			t.Run("database_sql", func(t *testing.T) {
				wantRows, err := harness.SQLRows(want)
				var noValue harness.ErrNoSQLValue
				if errors.As(err, &noValue) {
					t.Skipf("%v", err)
				}
				require.NoError(t, err)
				rows, err := db.QueryContext(ctx, q.SQL)
				require.NoError(t, err, "%s\n%s", q.SQL, describe(err))
				defer rows.Close()
				got, err := harness.ScanSQLRows(rows)
				require.NoError(t, err, "%s\n%s", q.SQL, describe(err))
				harness.CompareRows(t, q.Name, wantRows, got, q.Ordered)
			})
		})
	}

	t.Run("prepared", func(t *testing.T) {
		runPrepared(t, fx, cl, db)
	})

	require.NoError(t, cl.Close())
	mem.AssertSize(t, 0)
}

// preparedCase is one parameterized statement: the same query with the
// parameter spliced in as a literal is what the oracle runs.
type preparedCase struct {
	name      string
	query     string
	param     func(mem memory.Allocator) arrow.Array // for flightsql.Client
	sqlQuery  string                                 // for database/sql; "" = query
	sqlArg    any
	oracleSQL string
}

func preparedCases() []preparedCase {
	return []preparedCase{
		{
			name:  "string_param",
			query: "SELECT count(*) AS plays, sum(duration_seconds) AS seconds FROM demo.plays WHERE device = ?",
			param: func(mem memory.Allocator) arrow.Array {
				b := array.NewStringBuilder(mem)
				defer b.Release()
				b.Append("tv")
				return b.NewArray()
			},
			sqlArg:    "tv",
			oracleSQL: "SELECT count(*) AS plays, sum(duration_seconds) AS seconds FROM demo.plays WHERE device = 'tv'",
		},
		{
			name:  "date_param_on_partition_column",
			query: "SELECT count(*) AS plays, sum(revenue) AS revenue FROM demo.plays WHERE day = ?",
			param: func(mem memory.Allocator) arrow.Array {
				b := array.NewDate32Builder(mem)
				defer b.Release()
				b.Append(arrow.Date32FromTime(mustDate("2025-01-05")))
				return b.NewArray()
			},
			// arrow-go's database/sql driver cannot bind a DATE parameter
			// (no Date32 builder support), so it compares the day as text.
			sqlQuery:  "SELECT count(*) AS plays, sum(revenue) AS revenue FROM demo.plays WHERE strftime(day, '%Y-%m-%d') = ?",
			sqlArg:    "2025-01-05",
			oracleSQL: "SELECT count(*) AS plays, sum(revenue) AS revenue FROM demo.plays WHERE day = DATE '2025-01-05'",
		},
		{
			name:  "int_param_rows",
			query: "SELECT title_id, name, price FROM demo.titles WHERE title_id <= ? ORDER BY title_id",
			param: func(mem memory.Allocator) arrow.Array {
				b := array.NewInt64Builder(mem)
				defer b.Release()
				b.Append(12)
				return b.NewArray()
			},
			sqlArg:    int64(12),
			oracleSQL: "SELECT title_id, name, price FROM demo.titles WHERE title_id <= 12 ORDER BY title_id",
		},
	}
}

// runPrepared runs each preparedCase through flightsql.Client (Prepare,
// bind a one-row parameter batch, Execute, DoGet) and through database/sql
// with a bound argument.
func runPrepared(t *testing.T, fx *fixture, cl *flightsql.Client, db *sql.DB) {
	for _, tc := range preparedCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx := queryCtx(t)
			want, err := fx.oracle.Query(ctx, tc.oracleSQL)
			require.NoError(t, err)
			defer want.Release()

			t.Run("flightsql", func(t *testing.T) {
				stmt, err := cl.Prepare(ctx, tc.query)
				require.NoError(t, err, "prepare %s\n%s", tc.query, describe(err))
				defer func() { require.NoError(t, stmt.Close(ctx)) }()

				param := tc.param(cl.Alloc)
				defer param.Release()
				name := "0"
				if ps := stmt.ParameterSchema(); ps != nil && ps.NumFields() == 1 {
					name = ps.Field(0).Name
				}
				schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: param.DataType(), Nullable: true}}, nil)
				rec := array.NewRecordBatch(schema, []arrow.Array{param}, 1)
				defer rec.Release()
				stmt.SetParameters(rec)

				info, err := stmt.Execute(ctx)
				require.NoError(t, err, "execute %s\n%s", tc.query, describe(err))
				got, err := harness.FetchAll(ctx, cl, info)
				require.NoError(t, err, "fetch %s\n%s", tc.query, describe(err))
				defer got.Release()
				harness.Compare(t, tc.name, want, got, true)
			})

			t.Run("database_sql", func(t *testing.T) {
				query := tc.sqlQuery
				if query == "" {
					query = tc.query
				}
				wantRows, err := harness.SQLRows(want)
				require.NoError(t, err)
				rows, err := db.QueryContext(ctx, query, tc.sqlArg)
				require.NoError(t, err, "%s\n%s", query, describe(err))
				defer rows.Close()
				got, err := harness.ScanSQLRows(rows)
				require.NoError(t, err, "%s\n%s", query, describe(err))
				harness.CompareRows(t, tc.name, wantRows, got, true)
			})
		})
	}
}

// mustDate parses YYYY-MM-DD as midnight UTC.
func mustDate(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}
