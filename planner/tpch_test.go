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

// tpchExtension finds the tpch extension `make tools` provisions.
func tpchExtension(t *testing.T) string {
	dir := os.Getenv("QUIVER_EXTENSION_DIR")
	if dir == "" {
		dir = filepath.Join("..", ".tools", "duckdb-extensions")
	}
	p := filepath.Join(dir, engine.DuckDBVersion, "linux_amd64", "tpch.duckdb_extension")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("tpch extension not installed at %s (run make tools)", p)
	}
	return p
}

// TestTPCHDistributed plans the 22 TPC-H queries over several files per
// table and runs each plan split 1, 2 and 3 ways in one DuckDB, comparing
// with DuckDB over the whole tables. It also reports how many queries
// distribute.
func TestTPCHDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("generates TPC-H data")
	}
	ext := tpchExtension(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.SQL().ExecContext(ctx, "LOAD '"+ext+"'")
	require.NoError(t, err)
	_, err = db.SQL().ExecContext(ctx, "CREATE SCHEMA gen; CALL dbgen(sf := 0.01, schema := 'gen')")
	require.NoError(t, err)
	split := map[string]string{"lineitem": "l_orderkey", "orders": "o_orderkey", "partsupp": "ps_partkey", "part": "p_partkey", "customer": "c_custkey"}
	for _, tbl := range []string{"lineitem", "orders", "partsupp", "part", "customer", "supplier", "nation", "region"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "main", tbl), 0o755))
		n := 1
		if _, ok := split[tbl]; ok {
			n = 4
		}
		for i := 0; i < n; i++ {
			where := ""
			if n > 1 {
				where = fmt.Sprintf(" WHERE %s %% %d = %d", split[tbl], n, i)
			}
			_, err := db.SQL().ExecContext(ctx, fmt.Sprintf("COPY (SELECT * FROM gen.%s%s) TO '%s/main/%s/part-%d.parquet' (FORMAT parquet)", tbl, where, dir, tbl, i))
			require.NoError(t, err)
		}
		_, err := db.SQL().ExecContext(ctx, fmt.Sprintf("CREATE VIEW main.%s AS SELECT * FROM read_parquet('%s/main/%s/*.parquet')", tbl, dir, tbl))
		require.NoError(t, err)
	}
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)

	rows, err := db.SQL().QueryContext(ctx, "SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr")
	require.NoError(t, err)
	type q struct {
		nr  int
		sql string
	}
	var queries []q
	for rows.Next() {
		var x q
		require.NoError(t, rows.Scan(&x.nr, &x.sql))
		queries = append(queries, x)
	}
	require.NoError(t, rows.Close())
	require.Len(t, queries, 22)

	for _, workers := range []int{1, 2, 3} {
		pl := newDistPlanner(t, wh, groupsOf(workers))
		distributed := 0
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			for _, qu := range queries {
				t.Run(fmt.Sprintf("q%02d", qu.nr), func(t *testing.T) {
					want, wantSchema := collect(t, db, qu.sql, nil)
					plan, err := pl.Plan(ctx, qu.sql)
					require.NoError(t, err)
					if plan.Decisions.Fallback == "" {
						distributed++
					}
					got, gotSchema := runPlan(t, db, plan, nil)
					require.True(t, wantSchema.Equal(gotSchema), "schema\nwant %s\n got %s", wantSchema, gotSchema)
					require.Equal(t, want, got, "plan %+v", summarize(plan))
					t.Logf("strategy=%s fallback=%s split=%s", plan.Decisions.Strategy, plan.Decisions.Fallback, plan.Decisions.Split)
				})
			}
		})
		t.Logf("%d workers: %d of 22 TPC-H queries distributed", workers, distributed)
	}
}
