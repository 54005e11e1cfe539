package planner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/planner"
)

// TestScalarSubqueryStages checks what the golden plans of the correlated
// scalar subqueries (testdata/correlated_cases.json) do not show: the SQL
// of the grouped stage each becomes, with its magic set when the
// enclosing query filters a smaller table the keys come from, and the
// stage of a stage (TPC-H q20's shape). The differential suite runs the
// same queries against one DuckDB.
func TestScalarSubqueryStages(t *testing.T) {
	pl := newDistPlanner(t, goldenCatalog(), groupsOf(3))
	ctx := context.Background()
	firstRound := func(t *testing.T, sql string) string {
		t.Helper()
		plan, err := pl.Plan(ctx, sql)
		require.NoError(t, err, sql)
		r := plan.Next()
		require.NotNil(t, r, "%s: no stage round", sql)
		var b strings.Builder
		for _, ex := range r.Exchanges {
			for _, f := range ex.Producers {
				b.WriteString(f.SQL + "\n")
			}
		}
		return b.String()
	}
	for _, c := range []struct {
		name, sql string
		magic     string // in every producer of the stage's first round; "" for none
	}{
		{"the titles a filter keeps", "SELECT t.genre, count(*) AS n FROM demo.titles t WHERE t.kind = 'movie' AND t.runtime_minutes * 60 > " +
			"(SELECT avg(p.duration_seconds) FROM demo.plays p WHERE p.title_id = t.title_id) GROUP BY t.genre",
			"(p.title_id = ANY(SELECT t.title_id FROM read_parquet(list_value('s3://wh/demo/titles/titles.parquet'), (hive_partitioning = false)) AS t WHERE (t.kind = 'movie')))"},
		{"a comma join's filtered side", "SELECT t.genre, sum(p.revenue) AS r FROM demo.plays p, demo.titles t WHERE p.title_id = t.title_id AND t.kind = 'movie' AND " +
			"p.duration_seconds > (SELECT 0.5 * avg(q.duration_seconds) FROM demo.plays q WHERE q.title_id = t.title_id) GROUP BY t.genre",
			"(q.title_id = ANY(SELECT t.title_id FROM read_parquet(list_value('s3://wh/demo/titles/titles.parquet'), (hive_partitioning = false)) AS t WHERE (t.kind = 'movie')))"},
		{"two keys of one table", "SELECT count(*) AS n FROM demo.profiles pr WHERE pr.country = 'DE' AND 10 < " +
			"(SELECT sum(p.revenue) FROM demo.plays p WHERE p.profile_id = pr.profile_id AND p.device = pr.plan)",
			"(struct_pack(k0 := p.profile_id, k1 := p.device) = ANY(SELECT struct_pack(k0 := pr.profile_id, k1 := pr.plan) FROM"},
		// The keys come from the same table as the subquery's: the set
		// would be as large as what it filters.
		{"not from a table as large", "SELECT p.play_id FROM demo.plays p WHERE p.device = 'tv' AND p.revenue > " +
			"(SELECT 2 * avg(q.revenue) FROM demo.plays q WHERE q.profile_id = p.profile_id)", ""},
		// Nothing filters titles: its keys are all of them.
		{"not from an unfiltered table", "SELECT t.genre, count(*) AS n FROM demo.titles t WHERE t.runtime_minutes * 60 > " +
			"(SELECT avg(p.duration_seconds) FROM demo.plays p WHERE p.title_id = t.title_id) GROUP BY t.genre", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sql := firstRound(t, c.sql)
			if c.magic == "" {
				require.NotContains(t, sql, "ANY(SELECT", sql)
				return
			}
			require.Equal(t, 3, strings.Count(sql, c.magic), sql)
		})
	}

	t.Run("small tables stay in the fragments", func(t *testing.T) {
		const q = "SELECT p.play_id FROM demo.plays p WHERE p.revenue > (SELECT 2 * avg(q.revenue) FROM demo.plays q WHERE q.profile_id = p.profile_id)"
		plan, err := pl.Plan(ctx, q)
		require.NoError(t, err)
		require.Len(t, plan.Decisions.Stages, 1)
		small := newDistPlanner(t, goldenCatalog(), groupsOf(3), func(o *planner.Options) { o.CorrelatedStageRows = 1 << 40 })
		plan, err = small.Plan(ctx, q)
		require.NoError(t, err)
		require.Equal(t, "scan", plan.Decisions.Strategy)
		require.Empty(t, plan.Decisions.Stages)
		require.Contains(t, plan.Fragments[0].SQL, "avg(q.revenue)", "the subquery is computed in the fragment")
		// Over a comma join the rewrite made inner joins ON true of its
		// cross products: undone too.
		const comma = "SELECT count(*) AS n FROM demo.plays p, demo.titles t WHERE p.title_id = t.title_id AND t.kind = 'movie' AND " +
			"p.duration_seconds > (SELECT 0.5 * avg(q.duration_seconds) FROM demo.plays q WHERE q.title_id = t.title_id)"
		plan, err = small.Plan(ctx, comma)
		require.NoError(t, err)
		require.Empty(t, plan.Decisions.Stages)
		require.Contains(t, plan.Fragments[0].SQL, " AS p , ", "the comma join is as it was")
		require.NotContains(t, plan.Fragments[0].SQL, "ON (true)")
	})

	t.Run("a stage of a stage", func(t *testing.T) {
		plan, err := pl.Plan(ctx, "SELECT t.title_id, t.genre FROM demo.titles t WHERE t.title_id IN (SELECT p.title_id FROM demo.plays p WHERE p.device = 'tv' AND "+
			"p.revenue > (SELECT 2 * avg(q.revenue) FROM demo.plays q WHERE q.profile_id = p.profile_id AND q.title_id = p.title_id)) ORDER BY t.title_id")
		require.NoError(t, err)
		require.Len(t, plan.Decisions.Stages, 1)
		in := plan.Decisions.Stages[0]
		require.Equal(t, "scan", in.Decisions.Strategy)
		require.Len(t, in.Decisions.Stages, 1, "%+v", in.Decisions)
		require.Equal(t, "aggregate", in.Decisions.Stages[0].Decisions.Strategy)
	})
}
