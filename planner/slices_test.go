package planner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// TestSingleFileSlices splits a table of one file by its row groups: each
// fragment reads its slices' rows by file row number (DuckDB skips the
// other row groups), and every strategy over it — scans, aggregates,
// top-k, DISTINCT, a broadcast join, a window that exchanges it — returns
// DuckDB's rows. A file of one row group still runs as one fragment.
func TestSingleFileSlices(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	defer db.Close()
	dir := t.TempDir()
	for _, d := range []string{"big", "dim", "tiny"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "s", d), 0o755))
	}
	for _, stmt := range []string{
		fmt.Sprintf(`COPY (SELECT i AS id, i %% 37 AS k, CASE WHEN i %% 11 = 0 THEN NULL ELSE i %% 5 END AS g, i * 0.25 AS v
			FROM range(50000) t(i)) TO '%s/s/big/data.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)`, dir),
		fmt.Sprintf(`COPY (SELECT i AS k, 'd' || i AS label FROM range(37) t(i)) TO '%s/s/dim/data.parquet' (FORMAT parquet)`, dir),
		fmt.Sprintf(`COPY (SELECT i AS id FROM range(100) t(i)) TO '%s/s/tiny/data.parquet' (FORMAT parquet)`, dir),
	} {
		_, err := db.SQL().ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	table := func(name string) string { return fmt.Sprintf("read_parquet('%s/s/%s/data.parquet')", dir, name) }
	for _, workers := range []int{2, 3} {
		pl := newDistPlanner(t, wh, groupsOf(workers))
		for _, q := range []string{
			"SELECT id, v FROM %[1]s WHERE k = 3",
			"SELECT g, count(*) AS n, sum(v) AS s, count(DISTINCT k) AS ks FROM %[1]s GROUP BY g",
			"SELECT id, v FROM %[1]s ORDER BY v DESC, id LIMIT 7",
			"SELECT DISTINCT k, g FROM %[1]s",
			"SELECT d.label, count(*) AS n FROM %[1]s b JOIN %[2]s d ON b.k = d.k GROUP BY d.label",
			"SELECT id, row_number() OVER (PARTITION BY k ORDER BY id) AS rn FROM %[1]s",
			"SELECT * FROM %[1]s AS b(a, c, e, f) WHERE a %% 1000 = 1",
		} {
			want, _ := collect(t, db, fmt.Sprintf(q, table("big"), table("dim")), nil)
			plan, err := pl.Plan(ctx, fmt.Sprintf(q, "s.big", "s.dim"))
			require.NoError(t, err)
			require.Equal(t, "s.big", plan.Decisions.Split, "%s: %+v", q, plan.Decisions)
			require.Equal(t, 13, plan.Decisions.Slices, "%s: 25 row groups of 2048 rows, 2 to a slice of at least 50000/16", q)
			got, _ := runPlan(t, db, plan, nil)
			requireRowsMatch(t, want, got, "%s\n%+v", q, summarize(plan))
		}
		plan, err := pl.Plan(ctx, "SELECT count(*) FROM s.tiny")
		require.NoError(t, err)
		require.Equal(t, "single_file", plan.Decisions.Fallback)
	}
}
