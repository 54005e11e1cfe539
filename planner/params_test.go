package planner

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanNamesParameters(t *testing.T) {
	p := newTestPlanner(t)
	cases := []struct {
		name  string
		sql   string
		names []string
	}{
		{"none", "SELECT name FROM demo.titles", nil},
		{"question marks", "SELECT name FROM demo.titles WHERE kind = ? AND name <> ?", []string{"$1", "$2"}},
		{"numbered, out of order", "SELECT $2 AS b, $1 AS a", []string{"$1", "$2"}},
		{"named, one used twice", "SELECT name FROM demo.titles WHERE kind = $kind AND name <> $name OR kind = $kind", []string{"$kind", "$name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, plan := range []func(context.Context, string) (*Plan, error){p.Plan, p.Type} {
				got, err := plan(context.Background(), tc.sql)
				require.NoError(t, err)
				require.Equal(t, tc.names, got.ParamNames)
				require.Equal(t, len(tc.names), got.Params)
			}
		})
	}
}
