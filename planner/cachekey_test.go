package planner_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// switchPolicy restricts through whichever rolePolicy is current.
type switchPolicy struct{ current rolePolicy }

func (s *switchPolicy) Restrict(ctx context.Context, n storage.TableName, cols []storage.Column) (*planner.Restriction, error) {
	return s.current.Restrict(ctx, n, cols)
}

// TestCacheKey: a plan's CacheKey stays the same for the same statement
// over the same snapshot under the same restrictions, and changes with a
// new file, a changed file, a policy change or a claim; statements whose
// result may change with none of these have none.
func TestCacheKey(t *testing.T) {
	ctx := t.Context()
	cat := goldenCatalog()
	all := func() rolePolicy {
		out := rolePolicy{}
		for n := range cat {
			out[n.String()] = &planner.Restriction{}
		}
		return out
	}
	pol := &switchPolicy{current: all()}
	pl := newDistPlanner(t, cat, groupsOf(2), func(o *planner.Options) { o.Policy = pol })
	asking := planner.WithResultProbe(ctx, func(string) bool { return false })
	key := func(sql string) string {
		t.Helper()
		plan, err := pl.Plan(asking, sql)
		require.NoError(t, err, sql)
		return plan.CacheKey
	}
	plain, err := pl.Plan(ctx, "SELECT count(*) FROM demo.plays")
	require.NoError(t, err)
	require.Empty(t, plain.CacheKey, "no cache, no key")
	const q = "SELECT device, count(*) AS n FROM demo.plays JOIN demo.titles USING (title_id) WHERE name <> 'x' GROUP BY device"
	base := key(q)
	require.Len(t, base, 64)
	require.Equal(t, base, key(q), "the same statement, snapshot and policy")
	require.NotEqual(t, base, key("SELECT device, count(*) AS n FROM demo.plays GROUP BY device"))

	for _, sql := range []string{
		"SELECT random() AS r, device FROM demo.plays",
		"SELECT count(*) FROM demo.plays WHERE day < now()",
		"SELECT count(*) FROM demo.plays WHERE day < current_date",
		"SELECT CURRENT_TIMESTAMP AS t, count(*) FROM demo.plays",
		"SELECT gen_random_uuid() AS u FROM demo.titles",
		"SELECT count(*) FROM demo.plays WHERE day > ago(INTERVAL 1 DAY)", // a macro over current_timestamp
		"SELECT * FROM demo.titles WHERE title_id IN (SELECT title_id FROM demo.plays WHERE random() < 0.5)",
		"SELECT * FROM demo.plays USING SAMPLE 10",
		"EXPLAIN " + q,
	} {
		require.Empty(t, key(sql), sql)
	}

	// A new file, a changed one.
	plays := storage.TableName{Schema: "demo", Name: "plays"}
	orig := cat[plays]
	changed := *orig
	changed.Files = append(append([]storage.File(nil), orig.Files...), storage.File{URI: "s3://wh/demo/plays/day=2025-01-31/data_0.parquet", Rows: 10})
	changed.Files[len(changed.Files)-1].Key = "demo/plays/day=2025-01-31/data_0.parquet"
	cat[plays] = &changed
	require.NotEqual(t, base, key(q), "a new file")
	changed.Files = append([]storage.File(nil), orig.Files...)
	changed.Files[0].ETag = "new-etag"
	require.NotEqual(t, base, key(q), "a changed file")
	cat[plays] = orig
	require.Equal(t, base, key(q))

	// The policy: a mask, a row filter with claims; another principal
	// with the same restrictions shares the key.
	masked := all()
	masked["demo.titles"] = &planner.Restriction{Masks: map[string]string{"name": "'***'"}}
	pol.current = masked
	require.NotEqual(t, base, key(q), "a mask")
	tv := all()
	tv["demo.plays"] = &planner.Restriction{Filters: []string{"device = $quiver_claim_device"}, Claims: map[string]any{"device": "tv"}}
	pol.current = tv
	tvKey := key(q)
	require.NotEqual(t, base, tvKey, "a row filter")
	phone := all()
	phone["demo.plays"] = &planner.Restriction{Filters: []string{"device = $quiver_claim_device"}, Claims: map[string]any{"device": "phone"}}
	pol.current = phone
	require.NotEqual(t, tvKey, key(q), "another claim value")
	pol.current = all()
	require.Equal(t, base, key(q), "the same restrictions, whoever holds them")

	// A probe that holds the result stops the planning there.
	var asked []string
	probe := func(hold bool) context.Context {
		return planner.WithResultProbe(ctx, func(k string) bool { asked = append(asked, k); return hold })
	}
	hit, err := pl.Plan(probe(true), q)
	require.NoError(t, err)
	require.True(t, hit.Hit)
	require.Empty(t, hit.Fragments, "nothing distributed")
	require.NotEmpty(t, hit.Tables)
	require.NotNil(t, hit.Lineage, "lineage is still recorded")
	miss, err := pl.Plan(probe(false), q)
	require.NoError(t, err)
	require.False(t, miss.Hit)
	require.NotEmpty(t, miss.Fragments)
	require.Equal(t, []string{base, base}, asked)
	_, err = pl.Plan(probe(true), "SELECT random() AS r FROM demo.titles")
	require.NoError(t, err)
	require.Len(t, asked, 2, "a volatile statement is not asked about")
}
