package flightserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stagedQueries hold their big table inside a CTE, a UNION ALL branch or
// a subquery: each such part is planned as a stage of its own (split over
// the workers, its rows spooled) and the rest runs on one worker over
// their outputs.
var stagedQueries = []struct {
	name, sql string
	stages    []string // the stages EXPLAIN lists, "<of>: <strategy>"
	// parts, when set, is how many fragments the remainder runs in (a set
	// operation over its branches' parts); otherwise it is one worker.
	parts int
}{
	{"a CTE referenced twice, computed once",
		"WITH per AS (SELECT k, count(*) AS n, sum(amount) AS s FROM shop.facts GROUP BY k) SELECT a.k, a.n, b.s FROM per a JOIN per b ON a.k = b.k",
		[]string{"cte per: aggregate"}, 0},
	{"UNION ALL of two tables",
		"SELECT 'facts' AS t, count(*) AS n FROM shop.facts UNION ALL SELECT 'dims', count(*) FROM shop.dims",
		[]string{"union all branch 1: aggregate", "union all branch 2: aggregate"}, 0},
	{"a window over a grouped derived table",
		"SELECT k, n, rank() OVER (ORDER BY n DESC, k NULLS FIRST) AS r FROM (SELECT k, count(*) AS n FROM shop.facts GROUP BY k) d",
		[]string{"subquery 1: aggregate"}, 0},
	{"scalar subqueries and an IN subquery",
		"SELECT (SELECT count(*) FROM shop.facts WHERE amount > 90) AS big, (SELECT max(v) FROM shop.dims WHERE k IN (SELECT k FROM shop.facts WHERE id % 1000 = 7)) AS top",
		[]string{"subquery 1: aggregate", "subquery 2: aggregate; split shop.dims; broadcast shop.facts"}, 0},
	{"a stage that returns no row",
		"WITH none AS (SELECT k, count(*) AS n FROM shop.facts WHERE id % 2 = 3 GROUP BY k) SELECT count(*) AS c, max(n) AS m FROM none",
		[]string{"cte none: aggregate"}, 0},
	{"INTERSECT of two tables' keys, in parts",
		"SELECT k FROM shop.facts WHERE amount > 50 INTERSECT SELECT k FROM shop.dims",
		[]string{"intersect branch 1: scan; split shop.facts", "intersect branch 2: scan; split shop.dims"}, 2},
	{"EXCEPT ALL with a constant branch, in parts",
		"(SELECT k, amount > 90 AS big FROM shop.facts EXCEPT ALL SELECT k, true FROM shop.dims) UNION SELECT CAST(NULL AS BIGINT), CAST(NULL AS BOOLEAN)",
		[]string{"except all branch 2: scan; split shop.facts", "except all branch 3: scan; split shop.dims"}, 2},
	{"ordered string_agg on a broadcast table's key, in parts",
		"SELECT d.label, string_agg(CAST(f.id AS VARCHAR), ',' ORDER BY f.id) AS ids, count(*) AS n FROM shop.facts f JOIN shop.dims d ON f.k = d.k WHERE f.amount > 80 GROUP BY d.label",
		[]string{"subquery 1: scan"}, 2},
}

// TestStages runs each staged query: EXPLAIN lists its stages and the
// remainder, the answers are those of one DuckDB, system.queries counts
// its stages, and the spool is empty once it ended.
func TestStages(t *testing.T) {
	e := newTestEnvWith(t, envOptions{workers: 2, tables: writeJoinTables})
	ctx := context.Background()
	for _, q := range stagedQueries {
		t.Run(q.name, func(t *testing.T) {
			steps := e.explain(t, ctx, q.sql)
			require.Equal(t, fmt.Sprintf("staged; %d stages", len(q.stages)), steps["strategy"])
			for i, want := range q.stages {
				require.True(t, strings.HasPrefix(steps[fmt.Sprintf("stage %d", i)], want+"; "), "stage %d: %q, want %q", i, steps[fmt.Sprintf("stage %d", i)], want)
			}
			if q.parts == 0 {
				// One worker reads each stage: an aggregate's merge runs
				// there, over the stage's partials.
				for i, want := range q.stages {
					if strings.Contains(want, ": aggregate") {
						require.Contains(t, steps[fmt.Sprintf("stage %d", i)], "its partials written to the spool and merged where they are read")
					}
				}
				require.Contains(t, steps["remainder"], "one worker (")
				require.Equal(t, "worker=any files=0 sql=(reads the stages' outputs)", steps["fragment 0"])
			} else {
				require.Contains(t, steps["remainder"], fmt.Sprintf("%d parts: the ", q.parts))
				require.Contains(t, steps, fmt.Sprintf("fragment %d", q.parts-1))
				require.NotContains(t, steps, fmt.Sprintf("fragment %d", q.parts))
				require.Contains(t, steps["stage 0"], fmt.Sprintf("written to the spool in %d parts", q.parts))
			}
			info, err := e.client.Execute(ctx, q.sql)
			require.NoError(t, err)
			_, recs := e.fetch(t, ctx, info)
			require.Equal(t, e.joinOracle(t, q.sql), rowStrings(recs))
			require.Eventually(t, func() bool { return len(e.spoolEntries(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
				"spool after the query: %v", e.spoolEntries(t))
		})
	}
}

// TestStagesAnalyze runs a staged query under EXPLAIN ANALYZE: each stage's
// rounds and the remainder report their fragments, and the result row
// counts what the query returns.
func TestStagesAnalyze(t *testing.T) {
	e := newTestEnvWith(t, envOptions{workers: 2, tables: writeJoinTables})
	ctx := context.Background()
	q := stagedQueries[0].sql
	steps := e.steps(t, ctx, "EXPLAIN ANALYZE "+q)
	require.Equal(t, "staged; 1 stages", steps["strategy"])
	// The CTE's partials (stage 0) and the remainder (stage 1), which
	// merges them where it reads the CTE: no round of its own for the
	// merge.
	for stage := range 2 {
		require.Contains(t, steps, fmt.Sprintf("analyze stage %d", stage), "%v", steps)
	}
	require.NotContains(t, steps, "analyze stage 2")
	require.Regexp(t, fmt.Sprintf(`^rows=%d `, len(e.joinOracle(t, q))), steps["analyze result"])
}

// TestStagesOfSplitPlans: a split aggregate whose subqueries read its own
// table — a share of the total in the select list and HAVING, a set in
// WHERE — keeps its split; each subquery is a stage computed once, and the
// fragments (their partials carry the total as a column) read its output. The answers are one DuckDB's, and the spool is empty after.
func TestStagesOfSplitPlans(t *testing.T) {
	e := newTestEnvWith(t, envOptions{workers: 2, tables: writeJoinTables})
	ctx := context.Background()
	const q = "SELECT k, count(*) * 1.0 / (SELECT count(*) FROM shop.facts) AS share, max(amount) AS top FROM shop.facts " +
		"WHERE k IN (SELECT k FROM shop.facts WHERE amount > 95) GROUP BY k HAVING count(*) > (SELECT count(*) FROM shop.facts) / 1000"
	steps := e.explain(t, ctx, q)
	// The two equal count subqueries are one stage.
	require.Equal(t, "aggregate; split shop.facts; 2 stages", steps["strategy"], "%v", steps)
	require.True(t, strings.HasPrefix(steps["stage 0"], "subquery 1: scan; split shop.facts"), "%v", steps)
	require.True(t, strings.HasPrefix(steps["stage 1"], "subquery 2: aggregate; split shop.facts"), "%v", steps)
	// The count is one row: every fragment merges the producers' counts.
	require.Contains(t, steps["stage 1"], "merged where they are read")
	require.NotContains(t, steps, "remainder")
	require.Contains(t, steps, "fragment 1")
	require.Equal(t, 2, strings.Count(steps["fragment 1"], "FROM (SELECT 1) AS quiver_stage_1"), steps["fragment 1"])
	info, err := e.client.Execute(ctx, q)
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	want := e.joinOracle(t, q)
	require.NotEmpty(t, want)
	require.Equal(t, want, rowStrings(recs))
	require.Eventually(t, func() bool { return len(e.spoolEntries(t)) == 0 }, 10*time.Second, 10*time.Millisecond,
		"spool after the query: %v", e.spoolEntries(t))
}
