package planner_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
)

// TestRemainingFallbacksWouldBeWrong shows, in one DuckDB, why the
// fallbacks that are kept for correctness stay: for each, what the whole
// query answers and what the distributed form it refuses would answer
// (its pieces computed apart, or the same rows met in another order, as
// parts arriving at a merge meet them) are not the same. The shapes each
// reason pins are in testdata/fallback_cases.json and ARCHITECTURE.md.
func TestRemainingFallbacksWouldBeWrong(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	one := func(t *testing.T, sql string) string {
		t.Helper()
		var v any
		require.NoError(t, db.SQL().QueryRowContext(ctx, sql).Scan(&v), sql)
		return fmt.Sprint(v)
	}
	for _, c := range []struct {
		reason         planner.Reason
		why            string
		whole, distrib string
	}{
		{planner.ReasonSample, "a sample of each part is not a sample of the table: 10 rows become 10 per part",
			"SELECT count(*) FROM (SELECT * FROM range(1000) USING SAMPLE 10 ROWS)",
			"SELECT count(*) FROM ((SELECT * FROM range(0, 500) USING SAMPLE 10 ROWS) UNION ALL (SELECT * FROM range(500, 1000) USING SAMPLE 10 ROWS))"},
		{planner.ReasonDistinctOn, "which row of a tie survives follows the order the rows arrive in",
			"SELECT v FROM (SELECT DISTINCT ON (k) k, v FROM (VALUES (1, 'a'), (1, 'b')) t(k, v) ORDER BY k)",
			"SELECT v FROM (SELECT DISTINCT ON (k) k, v FROM (VALUES (1, 'b'), (1, 'a')) t(k, v) ORDER BY k)"},
		{planner.ReasonAggregate, "mode over everything: its ties follow the order of the rows, which parts change",
			"SELECT mode(x) FROM (VALUES (2), (1), (1), (2)) t(x)",
			"SELECT mode(x) FROM (VALUES (1), (2), (2), (1)) t(x)"},
		{planner.ReasonOrderedAggregate, "string_agg ORDER BY over everything from lists: ties on the sort key keep the lists' order",
			"SELECT string_agg(v, ',' ORDER BY k) FROM (VALUES (1, 'a'), (1, 'b'), (2, 'c')) t(k, v)",
			"SELECT string_agg(v, ',' ORDER BY k) FROM (VALUES (1, 'b'), (1, 'a'), (2, 'c')) t(k, v)"},
		{planner.ReasonAggregate, "approx_quantile from pieces: a t-digest's estimate follows the order of its input",
			"SELECT approx_quantile(x, 0.5) FROM (SELECT hash(i) % 100000 AS x, i FROM range(300000) t(i) ORDER BY i)",
			"SELECT approx_quantile(x, 0.5) FROM (SELECT hash(i) % 100000 AS x, i FROM range(300000) t(i) ORDER BY hash(i + 1))"},
		{planner.ReasonFunction, "a macro applied to parts: the geomean of the parts' geomeans is not the geomean, and the planner cannot see inside a macro to decompose it",
			"SELECT round(geomean(x), 9) FROM range(1, 11) t(x)",
			"SELECT round(geomean(g), 9) FROM (SELECT geomean(x) AS g FROM range(1, 3) t(x) UNION ALL SELECT geomean(x) FROM range(3, 11) t(x))"},
		{planner.ReasonNoSplittableTable, "a FULL JOIN split by files: the small side's unmatched rows come out of every part",
			"SELECT count(*) FROM range(0, 10) a(x) FULL JOIN (VALUES (3), (42)) b(y) ON a.x = b.y",
			"SELECT count(*) FROM ((SELECT * FROM range(0, 5) a(x) FULL JOIN (VALUES (3), (42)) b(y) ON a.x = b.y) UNION ALL (SELECT * FROM range(5, 10) a(x) FULL JOIN (VALUES (3), (42)) b(y) ON a.x = b.y))"},
	} {
		t.Run(string(c.reason)+": "+c.why, func(t *testing.T) {
			require.NotEqual(t, one(t, c.whole), one(t, c.distrib), "%s", c.why)
		})
	}
	// The one approximate aggregate that is merged from pieces is the
	// same either way: a HyperLogLog ignores duplicates and order.
	require.Equal(t,
		one(t, "SELECT approx_count_distinct(x) FROM (SELECT hash(i) % 100000 AS x, i FROM range(300000) t(i) ORDER BY i)"),
		one(t, "SELECT approx_count_distinct(x) FROM (SELECT DISTINCT hash(i) % 100000 AS x FROM range(300000) t(i) ORDER BY hash(x + 1))"))
}
