package planner_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// TestDisjointGroups groups on a column of the split table: when no two
// of its files share a value the fragments' groups are whole and nothing
// is merged; when two files overlap, or a file holds a NULL key, the
// partials are merged as usual. Every plan returns DuckDB's rows.
func TestDisjointGroups(t *testing.T) {
	ctx, db, dir := scratch(t)
	write := func(table string, ranges [][2]int, nullIn int) {
		for i, r := range ranges {
			key := "i"
			if i == nullIn {
				key = "CASE WHEN i % 10 = 0 THEN NULL ELSE i END"
			}
			writeParquet(t, db, dir, table, i, fmt.Sprintf("SELECT %s AS k, i %% 7 AS g, i * 0.5 AS v FROM range(%d, %d) t(i), range(3) r(j)", key, r[0], r[1]))
		}
	}
	write("apart", [][2]int{{0, 100}, {100, 250}, {250, 400}}, -1)
	write("overlap", [][2]int{{0, 100}, {90, 250}, {250, 400}}, -1)
	write("nulls", [][2]int{{0, 100}, {100, 250}, {250, 400}}, 1)
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3))
	for _, c := range []struct {
		table string
		whole bool
	}{{"apart", true}, {"overlap", false}, {"nulls", false}} {
		t.Run(c.table, func(t *testing.T) {
			for _, q := range []string{
				"SELECT k, count(*) AS n, sum(v) AS s, median(v) AS m FROM %s GROUP BY k",
				"SELECT k, g, count(*) AS n FROM %s GROUP BY k, g HAVING count(*) > 2 ORDER BY n DESC, k, g LIMIT 5",
			} {
				sql := fmt.Sprintf(q, "s."+c.table)
				oracle := fmt.Sprintf(q, fmt.Sprintf("read_parquet('%s/s/%s/*.parquet')", dir, c.table))
				want, _ := collect(t, db, oracle, nil)
				plan, err := pl.Plan(ctx, sql)
				require.NoError(t, err)
				switch {
				case c.whole:
					require.Contains(t, plan.Decisions.Final, "s."+c.table+".k (its files hold disjoint ranges)", "%+v", plan.Decisions)
				case strings.Contains(q, "median"):
					// No partial median: the table is exchanged on k.
					require.Equal(t, "in the fragments: they group on the exchanged key s."+c.table+".k", plan.Decisions.Final)
				default:
					require.Empty(t, plan.Decisions.Final)
				}
				if plan.Decisions.Fallback != "" {
					require.False(t, c.whole, "median: only whole groups distribute it: %s", plan.Decisions.Fallback)
					continue
				}
				got, _ := runPlan(t, db, plan, nil)
				requireRowsMatch(t, want, got, "%s\n%+v", sql, summarize(plan))
			}
		})
	}
	// A derived table grouped on the split table's disjoint key (TPC-H
	// q13's shape) has whole groups in every fragment, so the query over
	// it distributes as over a split table.
	for _, c := range []struct {
		table string
		whole bool
	}{{"apart", true}, {"overlap", false}} {
		t.Run("derived/"+c.table, func(t *testing.T) {
			for _, q := range []string{
				"SELECT n, count(*) AS c FROM (SELECT k, count(*) AS n FROM %[1]s GROUP BY k) AS x GROUP BY n",
				"SELECT c_count, count(*) AS custdist FROM (SELECT a.k, count(o.v) FROM %[1]s a LEFT JOIN %[2]s o ON a.k = o.k AND o.g <> 3 GROUP BY a.k) AS c_orders (k, c_count) GROUP BY c_count ORDER BY custdist DESC, c_count DESC",
				"SELECT x.k, x.m FROM (SELECT k, max(v) AS m, median(v) AS med FROM %[1]s GROUP BY k) AS x WHERE x.med > 10 ORDER BY x.m DESC, x.k LIMIT 4",
			} {
				table := func(name string) string { return fmt.Sprintf("read_parquet('%s/s/%s/*.parquet')", dir, name) }
				sql := fmt.Sprintf(q, "s."+c.table, "s.nulls")
				want, _ := collect(t, db, fmt.Sprintf(q, table(c.table), table("nulls")), nil)
				plan, err := pl.Plan(ctx, sql)
				require.NoError(t, err)
				if !c.whole {
					// The derived table is a stage of its own (split, its
					// rows spooled) unless it cannot be split either
					// (median); the rest runs on one worker.
					require.Contains(t, plan.Decisions.Fallback+plan.Decisions.Remainder, "no_splittable_table", sql)
				} else {
					require.Empty(t, plan.Decisions.Fallback, sql)
					require.Equal(t, "grouped whole in every fragment on s.apart.k (its files hold disjoint ranges)", plan.Decisions.Derived)
					require.Len(t, plan.Fragments, 3)
				}
				got, _ := runPlan(t, db, plan, nil)
				requireRowsMatch(t, want, got, "%s\n%+v", sql, summarize(plan))
			}
		})
	}
}

// TestDisjointPartitionGroups: a Hive partition column holds one value per
// file, from its path, so a table written by day has whole day groups in
// every fragment, unless two files share a day.
func TestDisjointPartitionGroups(t *testing.T) {
	ctx, db, dir := scratch(t)
	write := func(table, day string, i int) {
		path := fmt.Sprintf("%s/s/%s/day=%s", dir, table, day)
		require.NoError(t, os.MkdirAll(path, 0o755))
		_, err := db.SQL().ExecContext(ctx, fmt.Sprintf("COPY (SELECT i %% 5 AS g, i * 0.25 AS v FROM range(%d, %d) t(i)) TO '%s/part-%d.parquet' (FORMAT parquet)", i*100, i*100+150, path, i))
		require.NoError(t, err)
	}
	for i, day := range []string{"2025-01-01", "2025-01-02", "2025-01-03"} {
		write("byday", day, i)
		write("twice", day, i)
	}
	write("twice", "2025-01-01", 3) // a second file of the first day
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3))
	for _, c := range []struct {
		table string
		whole bool
	}{{"byday", true}, {"twice", false}} {
		t.Run(c.table, func(t *testing.T) {
			q := "SELECT day, count(*) AS n, median(v) AS m FROM %s GROUP BY day ORDER BY day"
			plan, err := pl.Plan(ctx, fmt.Sprintf(q, "s."+c.table))
			require.NoError(t, err)
			if !c.whole {
				require.NotContains(t, plan.Decisions.Final, "disjoint ranges", "%+v", plan.Decisions)
				return
			}
			require.Contains(t, plan.Decisions.Final, "s.byday.day (its files hold disjoint ranges)", "%+v", plan.Decisions)
			want, _ := collect(t, db, fmt.Sprintf(q, fmt.Sprintf("read_parquet('%s/s/byday/*/*.parquet', hive_partitioning = true)", dir)), nil)
			got, _ := runPlan(t, db, plan, nil)
			requireRowsMatch(t, want, got, "%+v", summarize(plan))
		})
	}
}
