package planner

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
)

// TestVolatileFunctionsAreDuckDBs keeps volatileFunctions equal to what
// the engine's catalog calls VOLATILE.
func TestVolatileFunctionsAreDuckDBs(t *testing.T) {
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.SQL().QueryContext(context.Background(),
		"SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE stability = 'VOLATILE' AND function_type = 'scalar'")
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		got[name] = true
	}
	require.NoError(t, rows.Err())
	require.Equal(t, got, volatileFunctions)
}

func TestStripExplain(t *testing.T) {
	for _, c := range []struct {
		sql, query       string
		explain, analyze bool
	}{
		{"SELECT 1", "SELECT 1", false, false},
		{"EXPLAIN SELECT 1", "SELECT 1", true, false},
		{"explain analyze SELECT 1", "SELECT 1", true, true},
		{"-- c\n EXPLAIN ANALYSE\nSELECT 1", "SELECT 1", true, true},
		{"EXPLAIN analyzed_t", "analyzed_t", true, false},
	} {
		q, e, a := stripExplain(c.sql)
		if q != c.query || e != c.explain || a != c.analyze {
			t.Errorf("stripExplain(%q) = %q, %v, %v; want %q, %v, %v", c.sql, q, e, a, c.query, c.explain, c.analyze)
		}
	}
}
