package flightserver

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/systables"
)

var finalQueries = []struct {
	name, sql string
	// merge is the start of the coordinator's step over the final
	// fragments' results ("" when they are streamed as they are).
	merge string
}{
	{"expression keys and every partial kind", "SELECT id % 500 AS g, count(*) AS n, sum(amount) AS s, avg(amount) AS m, min(id) AS lo, max(id) AS hi, count(DISTINCT k) AS ks FROM shop.facts GROUP BY id % 500", ""},
	{"a NULL key and a key with half the rows", "SELECT k, count(*) AS n, sum(id) AS s FROM shop.facts GROUP BY k", ""},
	{"HAVING, ORDER BY and LIMIT with OFFSET", "SELECT id % 500 AS g, count(*) AS n FROM shop.facts GROUP BY id % 500 HAVING count(*) > 23 ORDER BY n DESC, g LIMIT 5 OFFSET 1", "SELECT * FROM quiver_partials ORDER BY n DESC, g LIMIT 5 OFFSET 1"},
	{"no row survives the filter", "SELECT id % 7 AS g, count(*) AS n, sum(amount) AS s FROM shop.facts WHERE id % 2 = 3 GROUP BY id % 7", ""},
	{"over a broadcast join", "SELECT b.label, a.id % 3 AS r, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY b.label, a.id % 3", ""},
	{"global count(DISTINCT) exchanged on its argument", "SELECT count(DISTINCT id % 700) AS d, avg(DISTINCT id % 700) AS a, count(*) AS n, sum(amount) AS s FROM shop.facts", "SELECT CAST(sum(q0) AS BIGINT) AS d, (CAST(sum(q1) AS DOUBLE) / sum(q2)) AS a"},
	{"global count(DISTINCT) of no rows", "SELECT count(DISTINCT id % 700) AS d, count(*) AS n, sum(amount) AS s FROM shop.facts WHERE id % 2 = 3", "SELECT CAST(sum(q"},
}

// TestFinalAggregateOnWorkers runs grouped aggregates whose partials are
// exchanged on their group keys and merged by one final fragment per part
// on the workers: the answers are those of one DuckDB, EXPLAIN shows the
// final stage, and the spool is empty once each query ended.
func TestFinalAggregateOnWorkers(t *testing.T) {
	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			e := newTestEnvWith(t, envOptions{workers: workers, finalGroups: 1, tables: writeJoinTables})
			ctx := context.Background()
			for _, q := range finalQueries {
				t.Run(q.name, func(t *testing.T) {
					steps := e.explain(t, ctx, q.sql)
					if workers > 1 {
						require.Regexp(t, `; final (k0|d0)[ ,]`, steps["strategy"])
						require.Regexp(t, `^hash\((k0(, k\d)*|d0)\) of the fragments' partials \(about \d+ groups\) into [23] parts by [23] producers$`, steps["final exchange"])
						require.Contains(t, steps["final fragments"], "FROM quiver_partials")
						if q.merge != "" {
							require.True(t, strings.HasPrefix(steps["merge"], q.merge), "merge %q, want it to start with %q", steps["merge"], q.merge)
						} else {
							require.NotContains(t, steps, "merge")
						}
					} else {
						require.NotContains(t, steps, "final exchange", "one worker runs the whole query")
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

// TestFinalDistinctPairsOnWorkers groups few keys (10 values of k, one
// with half the rows, and NULL) with count(DISTINCT) over many values: the
// partials are exchanged on (k0, d0), each final fragment counts its
// part's distinct values per group on a worker, and the coordinator adds
// up a few rows per part. The answers are those of one DuckDB.
func TestFinalDistinctPairsOnWorkers(t *testing.T) {
	e := newTestEnvWith(t, envOptions{workers: 3, finalGroups: 100, tables: writeJoinTables})
	ctx := context.Background()
	for _, q := range []string{
		"SELECT k, count(DISTINCT id) AS ids, count(*) AS n, sum(amount) AS s FROM shop.facts GROUP BY k",
		"SELECT k, count(DISTINCT id) AS ids FROM shop.facts GROUP BY k HAVING count(*) > 100 ORDER BY ids DESC, k LIMIT 4",
	} {
		steps := e.explain(t, ctx, q)
		require.Regexp(t, `; final k0, d0 \(about 12000 pairs of group and distinct value\) into [23] parts$`, steps["strategy"], q)
		require.True(t, strings.HasPrefix(steps["merge"], "SELECT k0 AS k, CAST(sum(q0) AS BIGINT) AS ids"), steps["merge"])
		info, err := e.client.Execute(ctx, q)
		require.NoError(t, err)
		_, recs := e.fetch(t, ctx, info)
		require.Equal(t, e.joinOracle(t, q), rowStrings(recs), q)
		require.Eventually(t, func() bool { return len(e.spoolEntries(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
			"spool after the query: %v", e.spoolEntries(t))
	}
}

// TestFinalAggregateStages counts a query's stages in system.queries: the
// partial fragments and the final ones (2), and with a repartitioned join
// under the aggregate, its producers first (3).
func TestFinalAggregateStages(t *testing.T) {
	log := systables.NewQueryLog(systables.QueryLogOptions{})
	e := newTestEnvWith(t, envOptions{workers: 2, broadcastRows: 10, finalGroups: 1, tables: writeJoinTables, system: log})
	log.SetRunning(e.srv.Running)
	ctx := context.Background()
	for _, q := range []struct {
		sql    string
		stages string
	}{
		{"SELECT id % 100 AS g, count(*) AS n FROM shop.facts GROUP BY id % 100", "2"},
		{"SELECT b.label, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY b.label", "3"},
		// Grouped on the join key, each fragment's groups are whole: no final stage.
		{"SELECT a.k, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY a.k", "2"},
	} {
		info, err := e.client.Execute(ctx, q.sql)
		require.NoError(t, err)
		_, recs := e.fetch(t, ctx, info)
		require.Equal(t, e.joinOracle(t, q.sql), rowStrings(recs))
		cells := strings.Split(e.history(t, ctx, log, info, "stages, spool_rows, fragments, fragments_done")[0], "|")
		require.Equal(t, q.stages, cells[0], "%s: %v", q.sql, cells)
		require.NotEqual(t, "0", cells[1], "spool rows: %v", cells)
		require.Equal(t, cells[2], cells[3], "every fragment and producer done: %v", cells)
	}
}

// TestExplainAnalyze runs queries of every stage shape under EXPLAIN
// ANALYZE: the plan's rows come first, then one row per stage and per
// fragment and producer with its worker, rows and times; the rows each
// stage reports add up to what the next one read, the result row counts
// what the query returns, and the spool is gone afterwards.
func TestExplainAnalyze(t *testing.T) {
	e := newTestEnvWith(t, envOptions{workers: 2, broadcastRows: 10, finalGroups: 1, tables: writeJoinTables})
	ctx := context.Background()
	for _, q := range []struct {
		name, sql string
		stages    int
	}{
		{"scan", "SELECT id, amount FROM shop.facts WHERE id % 3 = 0", 1},
		{"join exchanged, groups whole", "SELECT a.k, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY a.k", 2},
		{"final on workers", "SELECT id % 100 AS g, count(*) AS n FROM shop.facts GROUP BY id % 100", 2},
		{"join exchanged, final on workers", "SELECT b.label, count(*) AS n FROM shop.facts a JOIN shop.dims b ON a.k = b.k GROUP BY b.label", 3},
	} {
		t.Run(q.name, func(t *testing.T) {
			want := e.joinOracle(t, q.sql)
			steps := e.steps(t, ctx, "EXPLAIN ANALYZE "+q.sql)
			require.Contains(t, steps, "strategy")
			for _, k := range slices.Sorted(maps.Keys(steps)) {
				if strings.HasPrefix(k, "analyze") {
					t.Logf("%s: %s", k, steps[k])
				}
			}
			var stageRows []int64
			for stage := 0; ; stage++ {
				d, ok := steps[fmt.Sprintf("analyze stage %d", stage)]
				if !ok {
					break
				}
				var n, rows, bytes int64
				var kind string
				_, err := fmt.Sscanf(d, "%d %s", &n, &kind)
				require.NoError(t, err, d)
				require.Regexp(t, `rows=(\d+) bytes=(\d+) spill=\d+ wall=[\d.]+ms busiest worker=127\.0\.0\.1:\d+ cpu=[\d.]+ms$`, d)
				_, err = fmt.Sscanf(d[strings.Index(d, "rows="):], "rows=%d bytes=%d", &rows, &bytes)
				require.NoError(t, err, d)
				require.Positive(t, n, d)
				stageRows = append(stageRows, rows)
				found := 0
				for step, detail := range steps {
					if strings.HasPrefix(step, fmt.Sprintf("analyze stage %d ", stage)) {
						found++
						require.Regexp(t, `^worker=127\.0\.0\.1:\d+ attempts=1 rows=\d+ bytes=\d+ spill=\d+ wall=[\d.]+ms cpu=[\d.]+ms$`, detail)
					}
				}
				require.Equal(t, int(n), found, "one row per fragment of stage %d", stage)
			}
			require.Len(t, stageRows, q.stages, "%v", steps)
			require.Contains(t, steps["analyze result"], fmt.Sprintf("rows=%d ", len(want)))
			// The last stage returns the query's rows, unless the
			// coordinator merges (or gathers) them.
			if !strings.Contains(steps["analyze result"], "merged on the coordinator") {
				require.Equal(t, int64(len(want)), stageRows[len(stageRows)-1])
			}
			require.Eventually(t, func() bool { return len(e.spoolEntries(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
				"spool after the query: %v", e.spoolEntries(t))
		})
	}
}

// TestFinalAggregateWithParameters binds a parameter of the partial
// fragments' filter: the producers of the final exchange take it, the
// final fragments (the merge, which has none) must not be given it.
func TestFinalAggregateWithParameters(t *testing.T) {
	e := newTestEnvWith(t, envOptions{workers: 2, finalGroups: 1, tables: writeJoinTables})
	ctx := context.Background()
	for _, q := range []string{
		"SELECT id % 100 AS g, count(*) AS n, sum(amount) AS s FROM shop.facts WHERE amount < ? GROUP BY id % 100",
		"SELECT count(DISTINCT id % 300) AS d, count(*) AS n FROM shop.facts WHERE amount < ?",
	} {
		stmt, err := e.client.Prepare(ctx, q)
		require.NoError(t, err)
		params := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Float64}}, nil))
		params.Field(0).(*array.Float64Builder).Append(50)
		rec := params.NewRecordBatch()
		stmt.SetParameters(rec)
		info, err := stmt.Execute(ctx)
		require.NoError(t, err, q)
		_, recs := e.fetch(t, ctx, info)
		require.Equal(t, e.joinOracle(t, strings.Replace(q, "?", "50", 1)), rowStrings(recs), q)
		require.Contains(t, e.explain(t, ctx, strings.Replace(q, "?", "50", 1))["strategy"], "; final ")
		rec.Release()
		params.Release()
		require.NoError(t, stmt.Close(ctx))
	}
}
