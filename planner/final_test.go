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

// TestHolisticListsFinishOnWorkers groups holistic aggregates on a column
// of a broadcast table (no exchange of the split table can make the groups
// whole): each fragment lists its values per group, the lists are
// exchanged on the keys, and each final fragment runs DuckDB's own
// aggregate over the flattened lists. Without keys one final fragment
// takes every list. A skewed group, NULL values, NULL keys, a FILTER no
// row passes and HAVING all return DuckDB's rows.
func TestHolisticListsFinishOnWorkers(t *testing.T) {
	ctx, db, dir := scratch(t)
	for f := range 4 {
		writeParquet(t, db, dir, "facts", f, fmt.Sprintf(`
			SELECT i %% 7 AS d, CASE WHEN i %% 11 = 0 THEN NULL ELSE (i * 7919) %% 1000 END AS v
			FROM range(%d, %d) t(i)`, f*3000, (f+1)*3000))
	}
	writeParquet(t, db, dir, "dims", 0, `
		SELECT i AS d, CASE WHEN i < 4 THEN 'big' WHEN i = 6 THEN NULL ELSE 'g' || i END AS g FROM range(7) t(i)`)
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3), func(o *planner.Options) { o.FinalGroups = 1_000_000 })
	from := "%s f JOIN %s m ON f.d = m.d"
	tables := func(q string, oracle bool) string {
		if oracle {
			return fmt.Sprintf(q, fmt.Sprintf(from, fmt.Sprintf("read_parquet('%s/s/facts/*.parquet')", dir), fmt.Sprintf("read_parquet('%s/s/dims/*.parquet')", dir)))
		}
		return fmt.Sprintf(q, fmt.Sprintf(from, "s.facts", "s.dims"))
	}
	for _, c := range []struct{ query, final string }{
		{"SELECT m.g, median(f.v) AS med, quantile_cont(f.v, 0.9) AS p90, count(*) AS n FROM %s GROUP BY m.g", "k0 (about "},
		{"SELECT m.g, quantile_disc(f.v, [0.25, 0.75]) AS q FROM %s GROUP BY m.g HAVING count(*) > 2000 ORDER BY m.g NULLS FIRST", "k0 (about "},
		{"SELECT m.g, median(f.v) FILTER (WHERE f.v > 5000) AS none FROM %s GROUP BY m.g", "k0 (about "},
		{"SELECT median(f.v) AS med, avg(f.v) AS a FROM %s WHERE m.g = 'big'", "one part"},
	} {
		t.Run(c.query, func(t *testing.T) {
			want, _ := collect(t, db, tables(c.query, true), nil)
			plan, err := pl.Plan(ctx, tables(c.query, false))
			require.NoError(t, err)
			require.Equal(t, "aggregate", plan.Decisions.Strategy, "%+v", plan.Decisions)
			require.NotNil(t, plan.Final, "the lists are merged on workers, not on the coordinator: %+v", plan.Decisions)
			require.True(t, strings.HasPrefix(plan.Decisions.Final, c.final), plan.Decisions.Final)
			got, _ := runPlan(t, db, plan, nil)
			requireRowsMatch(t, want, got, "%+v", summarize(plan))
		})
	}
}
