package planner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
				// Key ranges, as TPC-H's generators and the end-to-end
				// tests write them: no two files share a key.
				where = fmt.Sprintf(" WHERE %[1]s > (SELECT max(%[1]s) FROM gen.%[2]s) * %[3]d // %[4]d AND %[1]s <= (SELECT max(%[1]s) FROM gen.%[2]s) * %[5]d // %[4]d",
					split[tbl], tbl, i, n, i+1)
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
	// Shapes of the analytical corpus over TPC-H's tables, named s01 …:
	// each must be distributed and exact too.
	for i, sql := range tpchShapes {
		queries = append(queries, q{nr: 101 + i, sql: sql})
	}

	for _, mode := range distModes {
		pl := newDistPlanner(t, wh, groupsOf(mode.workers), mode.tweak)
		distributed, exchanged, finals, whole, staged, stagedFilters, coLocated, nested := 0, 0, 0, 0, 0, 0, 0, 0
		fallbacks := map[string]string{}
		t.Run(mode.name, func(t *testing.T) {
			for _, qu := range queries {
				name := fmt.Sprintf("q%02d", qu.nr)
				if qu.nr > 100 {
					name = fmt.Sprintf("s%02d", qu.nr-100)
				}
				t.Run(name, func(t *testing.T) {
					want, wantSchema := collect(t, db, qu.sql, nil)
					plan, err := pl.Plan(ctx, qu.sql)
					require.NoError(t, err)
					if plan.Decisions.Fallback == "" {
						distributed++
					} else {
						fallbacks[name] = plan.Decisions.Fallback
					}
					if len(plan.Exchanges) > 0 {
						exchanged++
					}
					if slices.ContainsFunc(plan.Decisions.CoLocated, func(c string) bool {
						return strings.HasPrefix(c, "main.orders by o_orderkey ranges of main.lineitem")
					}) {
						coLocated++
					}
					if plan.Decisions.Strategy == "staged" && qu.nr <= 22 {
						staged++
					}
					if plan.Decisions.Strategy != "staged" && len(plan.Decisions.Stages) > 0 && qu.nr <= 22 {
						stagedFilters++
					}
					if qu.nr == 20 && len(plan.Decisions.Stages) == 1 && len(plan.Decisions.Stages[0].Decisions.Stages) == 1 {
						nested++
					}
					switch {
					case plan.Final != nil:
						finals++
					case plan.Decisions.Final != "":
						whole++
					}
					got, gotSchema := runPlan(t, db, plan, nil)
					require.True(t, wantSchema.Equal(gotSchema), "schema\nwant %s\n got %s", wantSchema, gotSchema)
					requireRowsMatch(t, want, got, "plan %+v", summarize(plan))
					t.Logf("strategy=%s fallback=%s split=%s co-located=%v stages=%d", plan.Decisions.Strategy, plan.Decisions.Fallback, plan.Decisions.Split, plan.Decisions.CoLocated, len(plan.Decisions.Stages))
				})
			}
		})
		t.Logf("%s: %d of 22 TPC-H queries and %d shapes distributed, %d with exchanges, %d finished on workers, %d grouped whole in the fragments, %d reading orders by lineitem's key ranges",
			mode.name, distributed, len(tpchShapes), exchanged, finals, whole, coLocated)
		if strings.Contains(mode.name, "finishing") {
			require.GreaterOrEqual(t, finals, 10, "TPC-H aggregates finished on workers")
		}
		if mode.workers > 1 && !strings.Contains(mode.name, "exchanging") {
			// lineitem and orders are written by order-key ranges: the
			// joins of q03, q04, q05, q07–q10, q12 and q21 (and shapes)
			// read orders by the ranges of each fragment's lineitem files.
			require.GreaterOrEqual(t, coLocated, 9, "orders read by lineitem's key ranges")
		}
		if strings.Contains(mode.name, "exchanging") {
			require.GreaterOrEqual(t, whole, 2, "TPC-H aggregates grouped whole in the fragments")
		}
		if mode.workers > 1 {
			// Every query is spread over the workers. q13's derived
			// table groups whole on the split customer key; q15's CTE
			// and q20's IN subquery are stages of their own, each
			// split, and the rest of the query runs over their
			// results (q20's scan stage has its correlated sum as a
			// stage of its own); q11's HAVING subquery is a stage read
			// by the split aggregate's partials, and the correlated
			// min of q02 and avg of q17 are grouped stages joined to
			// the split plan.
			require.Empty(t, fallbacks, mode.name)
			require.Equal(t, 2, staged, "q15 and q20 in stages")
			require.Equal(t, 1, nested, "q20's correlated subquery a stage of its stage")
			if !strings.Contains(mode.name, "exchanging") {
				// With exchanges the fragments are rendered once
				// their inputs are written: each computes it whole.
				// Finishing on workers, q13's outer aggregate has a
				// final round, which these stages would have to precede.
				want := 4
				if strings.Contains(mode.name, "finishing") {
					want = 3
				}
				require.Equal(t, want, stagedFilters, "q02's, q11's and q17's subqueries and q13's orders grouped first stages of their split plans")
			}
		}
	}
}

// tpchShapes are the corpus's shapes over TPC-H's tables: CTEs used
// twice, UNION ALL over three tables, correlated EXISTS and NOT EXISTS,
// windows, ROLLUP and CUBE, moments, holistic aggregates.
var tpchShapes = []string{
	`WITH rev AS (SELECT l_suppkey, sum(l_extendedprice * (1 - l_discount)) AS r FROM lineitem GROUP BY l_suppkey)
	 SELECT count(*) AS suppliers FROM rev WHERE r > (SELECT avg(r) FROM rev)`,
	`SELECT 'lineitem' AS t, count(*) AS n FROM lineitem UNION ALL SELECT 'orders', count(*) FROM orders UNION ALL SELECT 'partsupp', count(*) FROM partsupp`,
	`SELECT o_orderpriority, count(*) AS n FROM orders o WHERE EXISTS (SELECT 1 FROM lineitem l WHERE l.l_orderkey = o.o_orderkey AND l.l_commitdate < l.l_receiptdate) GROUP BY o_orderpriority`,
	`SELECT count(*) AS n FROM customer c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.o_custkey = c.c_custkey AND o.o_orderstatus = 'F')`,
	`SELECT o_custkey, o_orderkey, rank() OVER (PARTITION BY o_custkey ORDER BY o_totalprice DESC, o_orderkey) AS r FROM orders`,
	`SELECT l_orderkey, l_linenumber, sum(l_quantity) OVER (PARTITION BY l_orderkey ORDER BY l_linenumber) AS running FROM lineitem`,
	`SELECT l_returnflag, l_linestatus, sum(l_quantity) AS q, count(*) AS n FROM lineitem GROUP BY ROLLUP (l_returnflag, l_linestatus)`,
	`SELECT l_shipmode, l_returnflag, avg(l_discount) AS d FROM lineitem GROUP BY CUBE (l_shipmode, l_returnflag)`,
	`SELECT l_shipmode, stddev_samp(l_extendedprice) AS sd, corr(l_quantity, l_extendedprice) AS c FROM lineitem GROUP BY l_shipmode`,
	`SELECT o_custkey, median(o_totalprice) AS m, count(*) AS n FROM orders GROUP BY o_custkey`,
	`SELECT ps_partkey, string_agg(CAST(ps_suppkey AS VARCHAR), ',' ORDER BY ps_suppkey) AS s FROM partsupp GROUP BY ps_partkey`,
	`SELECT n_name, count(*) AS n FROM customer JOIN nation ON c_nationkey = n_nationkey
	 WHERE c_custkey IN (SELECT o_custkey FROM orders GROUP BY o_custkey HAVING sum(o_totalprice) > 500000) GROUP BY n_name`,
	// Eager aggregation (q13's shape): orders grouped on the customer
	// key first, as a stage; counts of customers without orders are 0,
	// their sums and minimums NULL.
	`SELECT c_count, count(*) AS n, count(spent) AS with_spent, min(first) AS first FROM (SELECT c_custkey, count(o_orderkey) AS c_count,
	 sum(o_totalprice) AS spent, min(o_orderdate) AS first FROM customer LEFT JOIN orders ON c_custkey = o_custkey AND o_orderstatus = 'F'
	 GROUP BY c_custkey) GROUP BY c_count`,
	`SELECT nb, c_mktsegment, count(*) AS n FROM (SELECT c_custkey, c_mktsegment, count(o_orderkey) AS nb FROM customer JOIN orders
	 ON c_custkey = o_custkey WHERE c_acctbal > 0 GROUP BY c_custkey, c_mktsegment) AS t GROUP BY nb, c_mktsegment`,
}
