package planner_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/planner"
)

type lineageCase struct {
	Name string   `json:"name"`
	Role string   `json:"role"`
	SQL  string   `json:"sql"`
	Want []string `json:"want"`
}

// formatEdge writes an edge as testdata/lineage/corpus.json does:
// "<output> <- <schema>.<table>.<column> <kind>[ policy]", "*" for the
// output of an indirect edge, the catalog left out for warehouse tables.
func formatEdge(e lineage.Edge) string {
	out := e.Output
	if !e.Kind.Direct() {
		out = "*"
	}
	src := strings.TrimPrefix(e.Source.String(), planner.CatalogName+".")
	s := fmt.Sprintf("%s <- %s %s", out, src, e.Kind)
	if e.Policy {
		s += " policy"
	}
	return s
}

// TestLineageCorpus derives the lineage of a corpus of queries (joins,
// CTEs, windows, aggregates, subqueries, set operations, stars, masked
// and filtered columns) and compares it with the hand-written lineage of
// testdata/lineage/corpus.json, edge for edge.
func TestLineageCorpus(t *testing.T) {
	raw, err := os.ReadFile("testdata/lineage/corpus.json")
	require.NoError(t, err)
	var cases []lineageCase
	require.NoError(t, json.Unmarshal(raw, &cases))
	roles := map[string]rolePolicy{
		"": {"demo.titles": {}, "demo.plays": {}, "demo.profiles": {}, "demo.events": {}},
		"tv analyst": {
			"demo.plays": {Deny: []string{"revenue"}, Filters: []string{"device = $quiver_claim_device"},
				Masks: map[string]string{"started_at": "CAST(NULL AS TIMESTAMP)"}, Claims: map[string]any{"device": "tv"}},
			"demo.titles": {Masks: map[string]string{"name": "left(name, 3) || '…'"}},
		},
	}
	planners := map[string]*planner.Planner{}
	for role, policy := range roles {
		planners[role] = newDistPlanner(t, goldenCatalog(), groupsOf(2), func(o *planner.Options) { o.Policy = policy })
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			pl, ok := planners[c.Role]
			require.True(t, ok, "role %q", c.Role)
			plan, err := pl.Plan(t.Context(), c.SQL)
			require.NoError(t, err)
			require.NotNil(t, plan.Lineage, "lineage derived")
			var got []string
			for _, e := range plan.Lineage.Edges(nil) {
				got = append(got, formatEdge(e))
			}
			require.ElementsMatch(t, c.Want, got, "%s\n got:\n%s", c.SQL, strings.Join(got, "\n"))
		})
	}
}

// TestLineageOverGoldenQueries binds the lineage of every query of the
// golden plan corpus (319 queries: TPC-H, the outside suite's shapes,
// every distribution strategy): at least 95% bind, every edge comes
// from a table the plan reads, and none panics or fails its plan.
func TestLineageOverGoldenQueries(t *testing.T) {
	pl := newDistPlanner(t, goldenCatalog(), groupsOf(3))
	bound, total := 0, 0
	for _, path := range goldenFiles(t) {
		for _, c := range loadCases(t, path) {
			plan, err := pl.Plan(t.Context(), c.Query)
			require.NoError(t, err, c.Query)
			total++
			if plan.Lineage == nil {
				t.Logf("no lineage: %s", c.Query)
				continue
			}
			bound++
			read := map[string]bool{}
			for _, tbl := range plan.Tables {
				read[planner.CatalogName+"."+tbl.Name.String()] = true
			}
			for _, e := range plan.Lineage.Edges(nil) {
				src := e.Source
				require.True(t, read[src.Catalog+"."+src.Schema+"."+src.Table], "%s: edge from %s, a table the plan does not read", c.Query, src)
				if !e.Kind.Direct() {
					require.Empty(t, e.Output, "%s: an indirect edge belongs to no output column", c.Query)
				}
			}
		}
	}
	t.Logf("lineage bound for %d of %d golden queries", bound, total)
	require.GreaterOrEqual(t, float64(bound)/float64(total), 0.95)
}
