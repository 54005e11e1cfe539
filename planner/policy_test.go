package planner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/demodata"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// rolePolicy is a fixed policy per role (fakes are fine in unit tests; the
// YAML policy is tested in package policy).
type rolePolicy map[string]*planner.Restriction

func (p rolePolicy) Restrict(_ context.Context, n storage.TableName, _ []storage.Column) (*planner.Restriction, error) {
	if r, ok := p[n.String()]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s", planner.ErrNotGranted, n)
}

// TestPolicyMatchesHandWrittenSQL runs queries for two roles through the
// policy rewrite and distribution (split 3 ways) and compares every row
// and column with DuckDB applying the same filter and masks by hand: a
// masked or filtered value must not leak through aggregates or joins.
func TestPolicyMatchesHandWrittenSQL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	defer db.Close()
	_, err = demodata.Generate(ctx, db.SQL(), demodata.Options{Warehouse: dir, Scale: 0.004})
	require.NoError(t, err)
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	raw := func(tbl string) string {
		return fmt.Sprintf("read_parquet('%s/demo/%s/**/*.parquet', hive_partitioning = true)", dir, tbl)
	}

	roles := map[string]struct {
		policy rolePolicy
		views  map[string]string // hand-written equivalent of each table
	}{
		"tv analyst": {
			policy: rolePolicy{
				"demo.plays": {Deny: []string{"revenue"}, Filters: []string{"device = $quiver_claim_device"},
					Claims: map[string]any{"device": "tv"}},
				"demo.titles": {Masks: map[string]string{"name": "left(name, 3) || '…'"}},
			},
			views: map[string]string{
				"plays":  "SELECT * EXCLUDE (revenue) FROM " + raw("plays") + " WHERE device = 'tv'",
				"titles": "SELECT * REPLACE (left(name, 3) || '…' AS name) FROM " + raw("titles"),
			},
		},
		"finance": {
			policy: rolePolicy{
				"demo.plays": {Filters: []string{"duration_seconds > $quiver_claim_min", "completed"},
					Claims: map[string]any{"min": float64(600)}},
				"demo.titles": {Deny: []string{"rating"}},
			},
			views: map[string]string{
				"plays":  "SELECT * FROM " + raw("plays") + " WHERE duration_seconds > 600 AND completed",
				"titles": "SELECT * EXCLUDE (rating) FROM " + raw("titles"),
			},
		},
	}
	queries := []string{
		"SELECT * FROM demo.plays",
		"SELECT device, count(*) AS n, avg(duration_seconds) AS d FROM demo.plays GROUP BY device",
		"SELECT t.name, count(*) AS n FROM demo.plays AS p JOIN demo.titles AS t USING (title_id) GROUP BY t.name",
		"SELECT * FROM demo.titles ORDER BY title_id LIMIT 5",
		"SELECT count(*) FROM demo.plays WHERE title_id IN (SELECT title_id FROM demo.titles WHERE kind = 'movie')",
	}
	for name, role := range roles {
		t.Run(name, func(t *testing.T) {
			coord := coordinator.New(coordinator.Options{DB: db})
			pl := planner.New(planner.Options{
				Parser: db, Catalog: wh, TypeName: engine.DuckDBType, Partitioner: groupsOf(3),
				Typer: coord.Typer(), Functions: db, Footers: wh, Policy: role.policy,
			})
			for _, q := range queries {
				plan, err := pl.Plan(ctx, q)
				require.NoError(t, err, q)
				for _, f := range plan.Fragments {
					require.NotContains(t, f.SQL, "quiver_claim", "claims are bound as constants")
				}
				got, gotSchema := runPlan(t, db, plan, nil)
				byHand := q
				for tbl, v := range role.views {
					byHand = strings.ReplaceAll(byHand, "demo."+tbl+" AS ", "("+v+") AS ")
					byHand = strings.ReplaceAll(byHand, "demo."+tbl, "("+v+") AS "+tbl)
				}
				want, wantSchema := collect(t, db, byHand, nil)
				require.True(t, wantSchema.Equal(gotSchema), "%s\nwant %s\n got %s", q, wantSchema, gotSchema)
				requireRowsMatch(t, want, got, q)
			}
			_, err := pl.Plan(ctx, "SELECT * FROM demo.events")
			require.ErrorIs(t, err, planner.ErrNotGranted)
		})
	}
}

// TestUnrestricted: the server's own statements (planner.Unrestricted)
// are planned without the policy; everyone else's are not.
func TestUnrestricted(t *testing.T) {
	pl := newDistPlanner(t, goldenCatalog(), groupsOf(2), func(o *planner.Options) {
		o.Policy = rolePolicy{"demo.titles": {Masks: map[string]string{"name": "'***'"}}}
	})
	_, err := pl.Plan(t.Context(), "SELECT count(*) FROM demo.plays")
	require.ErrorIs(t, err, planner.ErrNotGranted)
	plan, err := pl.Plan(planner.Unrestricted(t.Context()), "SELECT name FROM demo.plays JOIN demo.titles USING (title_id)")
	require.NoError(t, err)
	for _, f := range plan.Fragments {
		require.NotContains(t, f.SQL, "***", "no mask")
	}
	plan, err = pl.Plan(t.Context(), "SELECT name FROM demo.titles")
	require.NoError(t, err)
	require.Contains(t, plan.Fragments[0].SQL, "***")
}
