package planner_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// TestCoLocatedBroadcast joins a split fact table to tables laid out by
// the same key: a fragment reads only the files of the joined table whose
// key range meets its own files' (inner, LEFT with the split side kept,
// SEMI, ANTI, a WHERE equality), and the whole table when that join keeps
// the joined table's unmatched rows (RIGHT, FULL) or the ranges do not
// tell (a file without statistics for the key). Every plan returns
// DuckDB's rows.
func TestCoLocatedBroadcast(t *testing.T) {
	ctx, db, dir := scratch(t)
	write := func(table, sel string, ranges [][2]int) { writeRanges(t, db, dir, table, sel, ranges) }
	// fact: three rows per key in [0, 400), some NULL keys in every file.
	write("fact", "CASE WHEN i % 50 = 7 THEN NULL ELSE i // 3 END AS k, i % 7 AS g, i * 0.5 AS v", [][2]int{{0, 300}, {300, 750}, {750, 1200}})
	// dim: one row per key, files by the same ranges; shifted: other
	// ranges, some keys missing; strings: the key is text (no spans).
	write("dim", "i AS k, i % 5 AS w", [][2]int{{0, 100}, {100, 250}, {250, 400}})
	write("shifted", "i AS k, i % 3 AS w", [][2]int{{0, 40}, {60, 180}, {180, 300}, {330, 460}, {460, 500}})
	write("strings", "i::VARCHAR AS k, i % 5 AS w", [][2]int{{0, 200}, {200, 400}})
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3))

	for _, c := range []struct {
		query     string
		coLocated string // "" = the joined table is broadcast whole
	}{
		{"SELECT f.g, count(*) AS n, sum(d.w) AS w FROM %[1]s.fact f JOIN %[1]s.dim d ON f.k = d.k GROUP BY f.g", "s.dim by k ranges of s.fact.k"},
		{"SELECT f.g, count(*) AS n, sum(d.w) AS w FROM %[1]s.fact f, %[1]s.shifted d WHERE d.k = f.k AND d.w > 0 GROUP BY f.g", "s.shifted by k ranges of s.fact.k"},
		{"SELECT f.k, f.v, d.w FROM %[1]s.fact f LEFT JOIN %[1]s.shifted d ON f.k = d.k", "s.shifted by k ranges of s.fact.k"},
		{"SELECT f.k, f.v, d.w FROM %[1]s.fact f LEFT JOIN %[1]s.shifted d USING (k)", "s.shifted by k ranges of s.fact.k"},
		{"SELECT f.k, f.v FROM %[1]s.fact f SEMI JOIN %[1]s.shifted d ON f.k = d.k", "s.shifted by k ranges of s.fact.k"},
		{"SELECT f.k, f.v FROM %[1]s.fact f ANTI JOIN %[1]s.shifted d ON f.k = d.k", "s.shifted by k ranges of s.fact.k"},
		{"SELECT f.g, d.w, count(*) AS n FROM %[1]s.fact f JOIN %[1]s.dim d ON f.k = d.k JOIN %[1]s.shifted e ON e.k = d.k GROUP BY f.g, d.w", "s.dim by k ranges of s.fact.k"},
		// RIGHT keeps shifted's rows: it is the one split, and fact is read by its ranges.
		{"SELECT f.k, d.k AS dk, d.w FROM %[1]s.fact f RIGHT JOIN %[1]s.shifted d ON f.k = d.k", "s.fact by k ranges of s.shifted.k"},
		// FULL keeps both sides' unmatched rows: nothing is read by ranges.
		{"SELECT f.k, d.k AS dk, d.w FROM %[1]s.fact f FULL JOIN %[1]s.dim d ON f.k = d.k", ""},
		// A key that is not a column (the spans say nothing of k + 1).
		{"SELECT count(*) AS n FROM %[1]s.fact f JOIN %[1]s.dim d ON f.k + 1 = d.k", ""},
		{"SELECT count(*) AS n FROM %[1]s.fact f JOIN %[1]s.strings d ON f.k::VARCHAR = d.k", ""},
	} {
		sql := fmt.Sprintf(c.query, "s")
		t.Run(sql, func(t *testing.T) {
			oracle := strings.NewReplacer(
				"s.fact", fmt.Sprintf("read_parquet('%s/s/fact/*.parquet')", dir),
				"s.dim", fmt.Sprintf("read_parquet('%s/s/dim/*.parquet')", dir),
				"s.shifted", fmt.Sprintf("read_parquet('%s/s/shifted/*.parquet')", dir),
				"s.strings", fmt.Sprintf("read_parquet('%s/s/strings/*.parquet')", dir),
			).Replace(sql)
			want, _ := collect(t, db, oracle, nil)
			plan, err := pl.Plan(ctx, sql)
			require.NoError(t, err)
			if !strings.Contains(sql, "FULL") {
				require.Empty(t, plan.Decisions.Fallback)
			}
			if c.coLocated == "" {
				require.Empty(t, plan.Decisions.CoLocated, "%+v", plan.Decisions)
			} else {
				of := strings.Fields(c.coLocated)[5]
				require.Equal(t, of[:strings.LastIndex(of, ".")], plan.Decisions.Split)
				require.Contains(t, plan.Decisions.CoLocated, c.coLocated, "%+v", plan.Decisions)
				table := strings.Fields(c.coLocated)[0][len("s."):]
				require.NotContains(t, plan.Decisions.Broadcast, "s."+table)
				for i, f := range plan.Fragments {
					n := strings.Count(f.SQL, "/s/"+table+"/part-")
					require.Positive(t, n, "fragment %d reads none of %s", i, table)
					require.Less(t, n, tableFiles(t, dir, table), "fragment %d reads all of %s:\n%s", i, table, f.SQL)
				}
			}
			got, _ := runPlan(t, db, plan, nil)
			requireRowsMatch(t, want, got, "%s\n%+v", sql, summarize(plan))
		})
	}
}

// TestCoLocationOff: with NoCoLocation (--co-locate=false) every fragment
// reads the joined table whole. A table too large to broadcast (at least
// BroadcastRows) is exchanged with the split one unless every fragment's
// co-located share is below the threshold: then it is read by ranges.
func TestCoLocationOff(t *testing.T) {
	ctx, db, dir := scratch(t)
	for _, table := range []string{"fact", "dim"} {
		for i := range 2 {
			writeParquet(t, db, dir, table, i, fmt.Sprintf("SELECT i AS k FROM range(%d, %d) t(i)", i*100, (i+1)*100))
		}
	}
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	const sql = "SELECT count(*) AS n FROM s.fact f JOIN s.dim d ON f.k = d.k"
	for _, off := range []bool{false, true} {
		pl := newDistPlanner(t, wh, groupsOf(2), func(o *planner.Options) { o.NoCoLocation = off })
		plan, err := pl.Plan(ctx, sql)
		require.NoError(t, err)
		if off {
			require.Empty(t, plan.Decisions.CoLocated)
			require.Equal(t, []string{"s.dim"}, plan.Decisions.Broadcast)
		} else {
			require.Equal(t, []string{"s.dim by k ranges of s.fact.k"}, plan.Decisions.CoLocated)
		}
		for _, f := range plan.Fragments {
			n := strings.Count(f.SQL, "/s/dim/part-")
			require.Equal(t, map[bool]int{false: 1, true: 2}[off], n, f.SQL)
		}
	}
	want, _ := collect(t, db, strings.NewReplacer("s.fact", "read_parquet('"+dir+"/s/fact/*.parquet')", "s.dim", "read_parquet('"+dir+"/s/dim/*.parquet')").Replace(sql), nil)
	for _, c := range []struct {
		off       bool
		rows      int64
		exchanged bool
	}{
		{false, 150, false}, // 200 rows in all, 100 in each fragment
		{false, 100, true},  // each fragment's share reaches the threshold
		{true, 150, true},
	} {
		pl := newDistPlanner(t, wh, groupsOf(2), func(o *planner.Options) { o.NoCoLocation, o.BroadcastRows = c.off, c.rows })
		plan, err := pl.Plan(ctx, sql)
		require.NoError(t, err)
		require.Equal(t, c.exchanged, len(plan.Exchanges) > 0, "%+v: %+v", c, plan.Decisions)
		require.Equal(t, !c.exchanged, len(plan.Decisions.CoLocated) > 0, "%+v: %+v", c, plan.Decisions)
		got, _ := runPlan(t, db, plan, nil)
		requireRowsMatch(t, want, got)
	}
}

func tableFiles(t *testing.T, dir, table string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "s", table, "*.parquet"))
	require.NoError(t, err)
	return len(m)
}

// TestCoLocatedSubqueries reads a subquery's table by the split key's
// ranges where that is exact: correlated on a column of the split table
// by an equality (EXISTS, NOT EXISTS under OR, a scalar), and a set of
// keys probed by the split key, or a column joined to it, as a WHERE
// conjunct — whose NULLs (fact's middle file has NULL keys) cannot then
// tell a narrowed set from the whole. Everywhere else the subquery reads
// its table whole. Every plan returns DuckDB's rows, and a co-located one
// reads fewer of its files than a broadcast.
func TestCoLocatedSubqueries(t *testing.T) {
	ctx, db, dir := scratch(t)
	write := func(table, sel string, ranges [][2]int) { writeRanges(t, db, dir, table, sel, ranges) }
	// fact: three rows per key in [0, 400), NULL keys in its middle file
	// only (so the set below holds a NULL in that fragment's share alone).
	write("fact", "CASE WHEN i % 50 = 7 AND i BETWEEN 300 AND 749 THEN NULL ELSE i // 3 END AS k, i % 7 AS g, i * 0.5 AS v", [][2]int{{0, 300}, {300, 750}, {750, 1200}})
	write("dim", "i AS k, i % 5 AS w", [][2]int{{0, 100}, {100, 250}, {250, 400}})
	write("shifted", "i AS k, i % 3 AS w", [][2]int{{0, 40}, {60, 180}, {180, 300}, {330, 460}, {460, 500}})
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3))
	const (
		shifted = "s.shifted in a subquery by k ranges of s.fact.k"
		self    = "s.fact in a subquery by k ranges of s.fact.k"
	)
	for _, c := range []struct {
		query     string
		coLocated string // "" = no subquery is read by ranges
	}{
		{"SELECT f.g, count(*) AS n FROM s.fact f WHERE EXISTS (SELECT 1 FROM s.shifted d WHERE d.k = f.k AND d.w > 0) GROUP BY f.g", shifted},
		{"SELECT f.g, count(*) AS n FROM s.fact f WHERE f.g = 1 OR NOT EXISTS (SELECT 1 FROM s.shifted d WHERE f.k = d.k) GROUP BY f.g", shifted},
		{"SELECT f.k, f.v, (SELECT max(d.w) FROM s.shifted d WHERE d.k = f.k) AS w FROM s.fact f", shifted},
		// Correlated on a column that is not the layout's key: exact too.
		{"SELECT count(*) AS n FROM s.fact f WHERE EXISTS (SELECT 1 FROM s.shifted d WHERE d.k = f.g AND d.w = 1)", "s.shifted in a subquery by k ranges of s.fact.g"},
		// The set's NULL (the NULL keys' group passes HAVING) and the
		// probe's NULLs drop rows either way as a conjunct.
		{"SELECT f.g, count(*) AS n FROM s.fact f WHERE f.k IN (SELECT k FROM s.fact GROUP BY k HAVING sum(v) > 300) AND f.v > 10 GROUP BY f.g", self},
		{"SELECT d.w, count(*) AS n FROM s.fact f JOIN s.dim d ON f.k = d.k WHERE d.k IN (SELECT DISTINCT k FROM s.shifted WHERE w = 1) GROUP BY d.w", shifted},
		{"SELECT count(*) AS n FROM s.fact f WHERE f.k IN (SELECT g FROM s.fact GROUP BY g)", "s.fact in a subquery by g ranges of s.fact.k"},
		// NOT IN over a set holding a NULL is never true: a fragment
		// whose share of the set had no NULL would keep rows.
		{"SELECT count(*) AS n FROM s.fact f WHERE NOT (f.k IN (SELECT k FROM s.fact GROUP BY k HAVING sum(v) > 300))", ""},
		{"SELECT count(*) AS n FROM s.fact f WHERE f.g = 2 OR f.k IN (SELECT k FROM s.fact GROUP BY k HAVING sum(v) > 300)", ""},
		// Which rows a LIMIT keeps depends on every row.
		{"SELECT count(*) AS n FROM s.fact f WHERE f.k IN (SELECT k FROM s.fact GROUP BY k, g HAVING count(*) > 1)", self},
		// Which rows a LIMIT keeps depends on every row: the whole
		// table's first 100 are keys above 190, a fragment's share's
		// would be its own keys.
		{"SELECT count(*) AS n FROM s.fact f WHERE f.k IN (SELECT k FROM s.shifted ORDER BY w, k DESC LIMIT 100)", ""},
		{"SELECT count(*) AS n FROM s.fact f WHERE f.k IN (SELECT max(k) FROM s.fact GROUP BY g)", ""},
		{"SELECT count(*) AS n FROM s.fact f WHERE EXISTS (SELECT 1 FROM s.shifted d WHERE d.k < f.k AND d.w = 2)", ""},
		{"SELECT count(*) AS n FROM s.fact f WHERE EXISTS (SELECT 1 FROM s.shifted d WHERE d.k = f.k OR d.w = 2)", ""},
	} {
		t.Run(c.query, func(t *testing.T) {
			oracle := strings.NewReplacer(
				"s.fact", fmt.Sprintf("read_parquet('%s/s/fact/*.parquet')", dir),
				"s.dim", fmt.Sprintf("read_parquet('%s/s/dim/*.parquet')", dir),
				"s.shifted", fmt.Sprintf("read_parquet('%s/s/shifted/*.parquet')", dir),
			).Replace(c.query)
			want, _ := collect(t, db, oracle, nil)
			plan, err := pl.Plan(ctx, c.query)
			require.NoError(t, err)
			require.Empty(t, plan.Decisions.Fallback)
			var sub []string
			for _, d := range plan.Decisions.CoLocated {
				if strings.Contains(d, " in a subquery ") {
					sub = append(sub, d)
				}
			}
			if c.coLocated == "" {
				require.Empty(t, sub, "%+v", plan.Decisions)
			} else {
				require.Equal(t, []string{c.coLocated}, sub, "%+v", plan.Decisions)
				require.Empty(t, plan.Decisions.Stages, "a subquery read by ranges needs no stage")
				table := strings.Fields(c.coLocated)[0][len("s."):]
				read := 0
				for _, f := range plan.Fragments {
					read += strings.Count(f.SQL, "/s/"+table+"/part-")
					if plan.Decisions.Split == "s."+table {
						read -= f.Files // the split table's own files
					}
				}
				require.Less(t, read, len(plan.Fragments)*tableFiles(t, dir, table), "the fragments read all of %s in the subquery", table)
			}
			got, _ := runPlan(t, db, plan, nil)
			requireRowsMatch(t, want, got, "%s\n%+v", c.query, summarize(plan))
		})
	}
}

// writeRanges writes one file of table per range, each `SELECT sel FROM
// range(lo, hi) t(i)`.
func writeRanges(t *testing.T, db *engine.DB, dir, table, sel string, ranges [][2]int) {
	t.Helper()
	for i, r := range ranges {
		writeParquet(t, db, dir, table, i, fmt.Sprintf("SELECT %s FROM range(%d, %d) t(i)", sel, r[0], r[1]))
	}
}
