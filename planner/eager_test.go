package planner_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// TestEagerAggregation plans grouped derived tables over `cust LEFT JOIN
// ord` (TPC-H q13's shape, cust split in files of disjoint keys): the ones
// whose aggregates decompose read ord grouped on its join key from a
// stage; the others keep the join as it is. Every plan, split 3 ways,
// returns DuckDB's rows, customers without orders included.
func TestEagerAggregation(t *testing.T) {
	ctx, db, dir := scratch(t)
	for i, r := range [][2]int{{0, 100}, {100, 250}, {250, 400}} {
		writeParquet(t, db, dir, "cust", i, fmt.Sprintf("SELECT i AS k, i %% 3 AS seg, (i %% 11) * 1.5 AS bal FROM range(%d, %d) t(i)", r[0], r[1]))
		// Orders of every third customer key, some of keys no customer has.
		writeParquet(t, db, dir, "ord", i, fmt.Sprintf("SELECT i AS ok, CASE WHEN i %% 13 = 0 THEN NULL ELSE (i * 7) %% 450 END AS ck, "+
			"CAST(i %% 97 AS DECIMAL(12,2)) AS amount, (i %% 89) / 7.0 AS price, CASE WHEN i %% 4 = 0 THEN 'F' ELSE 'O' END AS status "+
			"FROM range(%d, %d) t(i) WHERE (i * 7) %% 3 = 0", r[0]*4, r[1]*4))
	}
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	pl := newDistPlanner(t, wh, groupsOf(3))
	for _, c := range []struct {
		name, inner string
		eager       bool
	}{
		{"count with the join's own filter", "SELECT k, count(o.ok) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck AND o.status = 'F' GROUP BY k", true},
		{"decimal sums, minimums of doubles", "SELECT k, seg, sum(o.amount) AS v, min(o.price) AS lo, max(o.status) AS hi FROM s.cust c LEFT JOIN s.ord o ON o.ck = c.k GROUP BY k, seg", true},
		{"an inner join with a filter of its own side", "SELECT k, count(o.ok) + 1 AS v FROM s.cust c JOIN s.ord o ON c.k = o.ck WHERE c.bal > 3 GROUP BY k", true},
		{"unnamed: the name stays", "SELECT k, count(o.ok) FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck GROUP BY k", true},
		{"a sum of doubles depends on the order", "SELECT k, round(sum(o.price)) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck GROUP BY k", false},
		{"count(*) counts the customers' rows too", "SELECT k, count(*) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck GROUP BY k", false},
		{"a distinct count", "SELECT k, count(DISTINCT o.status) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck GROUP BY k", false},
		{"an aggregate of both sides", "SELECT k, sum(o.amount + c.bal) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck GROUP BY k", false},
		{"a group key of the aggregated side", "SELECT k, o.status, count(o.ok) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck GROUP BY k, o.status", false},
		{"a condition over both sides", "SELECT k, count(o.ok) AS v FROM s.cust c LEFT JOIN s.ord o ON c.k = o.ck AND o.amount > c.bal GROUP BY k", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			col := "d.v"
			if strings.Contains(c.name, "unnamed") {
				col = `d."count(o.ok)"`
			}
			sql := "SELECT " + col + ", count(*) AS n FROM (" + c.inner + ") AS d GROUP BY " + col
			oracle := strings.NewReplacer("s.cust", fmt.Sprintf("read_parquet('%s/s/cust/*.parquet')", dir),
				"s.ord", fmt.Sprintf("read_parquet('%s/s/ord/*.parquet')", dir)).Replace(sql)
			want, wantSchema := collect(t, db, oracle, nil)
			plan, err := pl.Plan(ctx, sql)
			require.NoError(t, err)
			require.Empty(t, plan.Decisions.Fallback)
			if c.eager {
				require.Len(t, plan.Decisions.Stages, 1, "%+v", plan.Decisions)
				require.Equal(t, "aggregate", plan.Decisions.Stages[0].Decisions.Strategy)
				require.Equal(t, "s.ord", plan.Decisions.Stages[0].Decisions.Split)
			} else {
				require.Empty(t, plan.Decisions.Stages, "%+v", plan.Decisions)
			}
			got, gotSchema := runPlan(t, db, plan, nil)
			require.True(t, wantSchema.Equal(gotSchema), "schema\nwant %s\n got %s", wantSchema, gotSchema)
			requireRowsMatch(t, want, got, "plan %+v", summarize(plan))
		})
	}
}
