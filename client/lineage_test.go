package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLineageQuery(t *testing.T) {
	sql, params, err := LineageQuery("demo.profiles.country", "")
	require.NoError(t, err)
	require.Equal(t, "SELECT * FROM system.lineage WHERE lower(source_catalog) = lower($1) AND lower(source_schema) = lower($2)"+
		" AND lower(source_table) = lower($3) AND lower(source_column) = lower($4) ORDER BY submitted, query_id, output_column NULLS LAST", sql)
	require.Equal(t, []Param{{"1", "quiver"}, {"2", "demo"}, {"3", "profiles"}, {"4", "country"}}, params)

	_, params, err = LineageQuery("ice.lake.events.name", "q1")
	require.NoError(t, err)
	require.Equal(t, []Param{{"1", "ice"}, {"2", "lake"}, {"3", "events"}, {"4", "name"}, {"5", "q1"}}, params)

	sql, params, err = LineageQuery("", "q1")
	require.NoError(t, err)
	require.Contains(t, sql, "WHERE query_id = $1 ORDER BY")
	require.Equal(t, []Param{{"1", "q1"}}, params)

	for _, bad := range []string{"profiles.country", "a..b.c", ".a.b.c", "a.b.c.d.e"} {
		_, _, err = LineageQuery(bad, "")
		require.ErrorIs(t, err, ErrBadParameter, bad)
	}
	_, _, err = LineageQuery("", "")
	require.Error(t, err)
}
