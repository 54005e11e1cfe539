package flightserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/systables"
)

// writeJoinTables writes shop.facts (6 files, half of its rows on key 0,
// every 11th key NULL) and shop.dims (3 files, keys 0-9 and a NULL), two
// tables the planner repartitions on k when their joins are exchanged.
func writeJoinTables(ctx context.Context, dir string, db *engine.DB) error {
	for _, t := range []string{"facts", "dims"} {
		if err := os.MkdirAll(filepath.Join(dir, "shop", t), 0o755); err != nil {
			return err
		}
	}
	var stmts []string
	for f := range 6 {
		stmts = append(stmts, fmt.Sprintf(`COPY (SELECT i AS id,
		        CASE WHEN i %% 11 = 0 THEN NULL WHEN i %% 2 = 0 THEN 0 ELSE i %% 10 END AS k, (i %% 97)::DOUBLE AS amount
		      FROM range(%d, %d) t(i)) TO '%s/shop/facts/part-%d.parquet' (FORMAT parquet)`, f*2000, (f+1)*2000, dir, f))
	}
	for f := range 3 {
		stmts = append(stmts, fmt.Sprintf(`COPY (SELECT CASE WHEN i = 0 THEN NULL ELSE i %% 10 END AS k, i AS v, 'd' || i AS label
		      FROM range(%d, %d) t(i)) TO '%s/shop/dims/part-%d.parquet' (FORMAT parquet)`, f*7, (f+1)*7, dir, f))
	}
	for _, q := range stmts {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// joinOracle runs sql in one DuckDB over the join tables' files.
func (e *testEnv) joinOracle(t *testing.T, sql string) []string {
	t.Helper()
	for _, tbl := range []string{"facts", "dims"} {
		sql = strings.ReplaceAll(sql, "shop."+tbl, fmt.Sprintf("read_parquet('%s/shop/%s/*.parquet')", e.dir, tbl))
	}
	return e.oracle(t, sql)
}

// spoolEntries lists what the spool holds.
func (e *testEnv) spoolEntries(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.dir, "_spool"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

var repartitionedQueries = []struct {
	name, sql string
	// repartition is what EXPLAIN's strategy says with two or more
	// workers, "" for a plan without exchanges.
	repartition string
}{
	{"grouped aggregate over the join", "SELECT a.k, count(*) AS n, sum(b.v) AS s, avg(a.amount) AS m FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY a.k", "repartition shop.facts on k and shop.dims on k"},
	{"scan of a USING join", "SELECT a.id, b.label FROM shop.facts a JOIN shop.dims b USING (k) WHERE a.id % 13 = 0", "repartition shop.facts on k and shop.dims on k"},
	{"implicit join with filters on both sides", "SELECT count(*) AS n, sum(a.amount) AS s FROM shop.facts a, shop.dims b WHERE a.k = b.k AND b.v > 5 AND a.amount < 50", "repartition shop.facts on k and shop.dims on k"},
	{"top-k over the join", "SELECT a.id, b.v FROM shop.facts a JOIN shop.dims b ON b.k = a.k ORDER BY a.id DESC, b.v LIMIT 7", "repartition shop.facts on k and shop.dims on k"},
	{"three tables, one broadcast", "SELECT c.sku, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k JOIN shop.lines c ON c.line_id = a.id GROUP BY c.sku", "repartition shop.lines on line_id and shop.facts on id"},
	{"left join grouped on the preserved key", "SELECT a.k, count(b.v) AS n FROM shop.facts a LEFT JOIN shop.dims b ON a.k = b.k GROUP BY a.k", "repartition shop.facts on k and shop.dims on k"},
	{"left join grouped on the null-supplying key", "SELECT b.k, count(*) AS n, sum(a.amount) AS s FROM shop.facts a LEFT JOIN shop.dims b ON a.k = b.k AND b.v > 3 GROUP BY b.k", "repartition shop.facts on k and shop.dims on k"},
	{"left join with a filter on the null-supplying side", "SELECT a.id, b.v FROM shop.facts a LEFT JOIN shop.dims b ON a.k = b.k WHERE b.v IS NULL AND a.id % 5 = 0", "repartition shop.facts on k and shop.dims on k"},
	{"right join", "SELECT a.k, b.label, count(*) AS n FROM shop.dims b RIGHT JOIN shop.facts a ON a.k = b.k GROUP BY a.k, b.label", "repartition shop.facts on k and shop.dims on k"},
	{"semi join", "SELECT count(*) AS n, sum(a.amount) AS s FROM shop.facts a SEMI JOIN shop.dims b ON a.k = b.k AND b.v > 12", "repartition shop.facts on k and shop.dims on k"},
	{"anti join", "SELECT count(*) AS n, sum(a.amount) AS s FROM shop.facts a ANTI JOIN shop.dims b ON a.k = b.k AND b.v > 12", "repartition shop.facts on k and shop.dims on k"},
	{"full join", "SELECT count(*) AS n, count(a.id) AS l, count(b.v) AS r FROM shop.facts a FULL JOIN shop.dims b ON a.k = b.k AND b.v > 4", "repartition shop.facts on k and shop.dims on k"},
	{"full join scan with a filter on both sides", "SELECT a.id, b.v FROM shop.facts a FULL JOIN shop.dims b ON a.k = b.k WHERE a.id IS NULL OR (a.id % 17 = 0 AND b.v IS NULL)", "repartition shop.facts on k and shop.dims on k"},
}

// TestRepartitionedJoins runs joins of two tables above the broadcast
// threshold with 1, 2 and 3 workers: with two or more, both tables are
// hash-partitioned on the key into the spool and fragment p joins part p;
// NULL keys, a key holding half the rows and parts with no rows included.
// Results equal one DuckDB's, EXPLAIN shows the exchanges, and the spool
// is empty once each query ended.
func TestRepartitionedJoins(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			e := newTestEnvWith(t, envOptions{workers: workers, broadcastRows: 10, tables: writeJoinTables})
			ctx := context.Background()
			for _, q := range repartitionedQueries {
				t.Run(q.name, func(t *testing.T) {
					steps := e.explain(t, ctx, q.sql)
					if q.repartition != "" && workers > 1 {
						require.Contains(t, steps["strategy"], q.repartition, "%v", steps)
						require.Contains(t, steps, "exchange 1 producer 0")
						require.Regexp(t, `^hash\(\w+\) of shop\.\w+ \(about [1-9]\d* rows\) into \d parts by \d producers$`, steps["exchange 1"])
					} else {
						require.NotContains(t, steps["strategy"], "repartition", "%v", steps)
					}
					info, err := e.client.Execute(ctx, q.sql)
					require.NoError(t, err)
					_, recs := e.fetch(t, ctx, info)
					require.Equal(t, e.joinOracle(t, q.sql), rowStrings(recs))
					require.Eventually(t, func() bool { return len(e.spoolEntries(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
						"spool after the query: %v", e.spoolEntries(t))
				})
			}
		})
	}
}

// TestRepartitionedSpoolRemovedOnEveryEnd ends repartitioned queries
// every other way than success: a run-time error in a consumer fragment,
// a cancel with endpoints unread, and an endpoint nobody fetches before
// the idle timeout. Each query's spool is gone once it ended.
func TestRepartitionedSpoolRemovedOnEveryEnd(t *testing.T) {
	e := newTestEnvWith(t, envOptions{broadcastRows: 10, tables: writeJoinTables,
		tweak: func(o *Options) { o.Limits.IdleTimeout = 200 * time.Millisecond }})
	ctx := context.Background()
	empty := func(t *testing.T) {
		t.Helper()
		require.Eventually(t, func() bool { return len(e.spoolEntries(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
			"spool after the query: %v", e.spoolEntries(t))
	}
	t.Run("a consumer fails", func(t *testing.T) {
		const q = "SELECT CAST(b.label || 'x' AS INTEGER) AS bad FROM shop.facts a JOIN shop.dims b ON a.k = b.k"
		require.Contains(t, e.explain(t, ctx, q)["strategy"], "repartition")
		require.Error(t, e.firstError(ctx, q))
		empty(t)
	})
	t.Run("cancelled", func(t *testing.T) {
		info, err := e.client.Execute(ctx, "SELECT a.id, b.label FROM shop.facts a JOIN shop.dims b USING (k)")
		require.NoError(t, err)
		require.NotEmpty(t, e.spoolEntries(t), "the exchange wrote the spool")
		_, err = e.client.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
		require.NoError(t, err)
		empty(t)
	})
	t.Run("abandoned", func(t *testing.T) {
		_, err := e.client.Execute(ctx, "SELECT count(*) AS n FROM shop.facts a JOIN shop.dims b USING (k)")
		require.NoError(t, err)
		empty(t) // the idle timeout ended it
	})
}

// TestRepartitionedJoinWithParameters binds a parameter of a filter on
// the exchanged table: producers do not take the filter (they have no
// parameters), the fragments do.
func TestRepartitionedJoinWithParameters(t *testing.T) {
	e := newTestEnvWith(t, envOptions{broadcastRows: 10, tables: writeJoinTables})
	ctx := context.Background()
	const q = "SELECT count(*) AS n, sum(a.amount) AS s FROM shop.facts a JOIN shop.dims b ON a.k = b.k WHERE b.v > ? AND a.amount < 50"
	stmt, err := e.client.Prepare(ctx, q)
	require.NoError(t, err)
	defer stmt.Close(ctx)
	params := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil))
	defer params.Release()
	params.Field(0).(*array.Int64Builder).Append(5)
	rec := params.NewRecordBatch()
	defer rec.Release()
	stmt.SetParameters(rec)
	info, err := stmt.Execute(ctx)
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.Equal(t, e.joinOracle(t, strings.Replace(q, "?", "5", 1)), rowStrings(recs))
	require.Contains(t, e.explain(t, ctx, strings.Replace(q, "?", "5", 1))["strategy"], "repartition shop.facts on k and shop.dims on k")
}

// TestRepartitionedQueryHistory shows a repartitioned query's two stages
// and what its exchanges wrote in system.queries, with the producers
// counted among its fragments, all of them done.
func TestRepartitionedQueryHistory(t *testing.T) {
	log := systables.NewQueryLog(systables.QueryLogOptions{})
	e := newTestEnvWith(t, envOptions{workers: 2, broadcastRows: 10, tables: writeJoinTables, system: log})
	log.SetRunning(e.srv.Running)
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT a.k, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY a.k")
	require.NoError(t, err)
	e.fetch(t, ctx, info)
	id := queryID(t, info)
	require.Eventually(t, func() bool { _, ok := log.Lookup(id); return ok }, 10*time.Second, 10*time.Millisecond)
	info, err = e.client.Execute(ctx, "SELECT stages, spool_rows, spool_bytes, fragments, fragments_done FROM system.queries WHERE query_id = '"+id+"'")
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.Equal(t, int64(1), rows(recs))
	got := rowStrings(recs)[0]
	cells := strings.Split(got, "|")
	require.Equal(t, "2", cells[0], got)
	require.NotEqual(t, "0", cells[1], "spool rows: %s", got)
	require.NotEqual(t, "0", cells[2], "spool bytes: %s", got)
	require.Equal(t, cells[3], cells[4], "every fragment and producer done: %s", got)
}
