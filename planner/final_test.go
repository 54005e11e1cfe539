package planner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// TestFinalDistinctPairs groups a few skewed groups (one holds half the
// rows) with a DISTINCT aggregate over many values: the partials are
// exchanged on (keys, argument), each final fragment counts its part's
// distinct values per group, and the coordinator adds up a few rows per
// part. NULL arguments, NULL keys, HAVING, ORDER BY … LIMIT and a filter
// no row passes all return DuckDB's rows.
func TestFinalDistinctPairs(t *testing.T) {
	ctx, db, dir := scratch(t)
	for f := range 4 {
		writeParquet(t, db, dir, "visits", f, fmt.Sprintf(`
			SELECT CASE WHEN i %% 2 = 0 THEN 'big' WHEN i %% 97 = 1 THEN NULL ELSE 'g' || (i %% 5) END AS g,
			       CASE WHEN i %% 13 = 0 THEN NULL ELSE (i * 7919) %% 20000 END AS u,
			       (i %% 100) * 0.25 AS v
			FROM range(%d, %d) t(i)`, f*5000, (f+1)*5000))
	}
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3), func(o *planner.Options) { o.FinalGroups = 50 })
	oracle := fmt.Sprintf("read_parquet('%s/s/visits/*.parquet')", dir)
	for _, q := range []string{
		"SELECT g, count(DISTINCT u) AS users, count(*) AS n, sum(v) AS s, min(u) AS lo FROM %s GROUP BY g",
		"SELECT g, count(DISTINCT u) AS users FROM %s GROUP BY g HAVING count(DISTINCT u) > 10 ORDER BY users DESC, g LIMIT 3",
		"SELECT g, avg(DISTINCT u) AS a, sum(DISTINCT u) AS s FROM %s GROUP BY g ORDER BY g NULLS FIRST",
		"SELECT g, count(DISTINCT u) AS users FROM %s WHERE v < 0 GROUP BY g",
		"SELECT count(DISTINCT u) AS users, count(*) AS n FROM %s HAVING count(*) > 0",
		"SELECT count(DISTINCT u) AS users FROM %s WHERE v < 0",
	} {
		t.Run(q, func(t *testing.T) {
			want, _ := collect(t, db, fmt.Sprintf(q, oracle), nil)
			plan, err := pl.Plan(ctx, fmt.Sprintf(q, "s.visits"))
			require.NoError(t, err)
			require.NotNil(t, plan.Final, "%+v", plan.Decisions)
			require.NotNil(t, plan.Final.Gather, "the coordinator combines the parts' rows")
			keys := "d0"
			if strings.Contains(q, "GROUP BY") {
				keys = "k0, d0"
			}
			require.True(t, strings.HasPrefix(plan.Decisions.Final, keys+" (about "), plan.Decisions.Final)
			got, _ := runPlan(t, db, plan, nil)
			requireRowsMatch(t, want, got, "%+v", summarize(plan))
		})
	}
	// With many groups the partials are hashed on the keys alone and each
	// final fragment returns whole groups.
	plan, err := pl.Plan(ctx, "SELECT u, count(DISTINCT g) AS n FROM s.visits GROUP BY u")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(plan.Decisions.Final, "k0 (about "), plan.Decisions.Final)
}
