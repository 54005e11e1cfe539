package planner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
)

// scratch is an in-process DuckDB and an empty warehouse directory, for
// tests that write their own Parquet tables (writeParquet) and plan over
// them.
func scratch(t *testing.T) (context.Context, *engine.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return ctx, db, t.TempDir()
}

// writeParquet writes the rows of query as the file s/<table>/part-<i>.parquet
// of the warehouse dir.
func writeParquet(t *testing.T, db *engine.DB, dir, table string, i int, query string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "s", table), 0o755))
	target := filepath.Join(dir, "s", table, fmt.Sprintf("part-%d.parquet", i))
	_, err := db.SQL().ExecContext(context.Background(), fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet)", query, target))
	require.NoError(t, err)
}
