package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// tpchScale is the TPC-H scale factor of the correctness test; DuckDB's
// tpch_answers() has reference answers for it.
const tpchScale = 0.1

// tpchRel is how far a floating-point result may drift from the oracle's
// (distributed sums add in another order).
const tpchRel = 1e-9

// TestTPCH runs the 22 TPC-H queries (sf 0.1, in MinIO) through arrow-go's
// Flight SQL client against `quiver serve` with 1, 2 and 3 local workers
// and compares every result with (a) DuckDB over the same S3 files and (b)
// DuckDB's reference answers.
func TestTPCH(t *testing.T) {
	if testing.Short() {
		t.Skip("TPC-H end to end is not a short test")
	}
	harness.QuiverBin(t)
	queries := harness.TPCHQueries(t, tpchScale)
	dir := harness.TPCHData(t, tpchScale)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m := harness.StartMinIO(t)
	require.NoError(t, m.CreateBucket(ctx, bucket))
	n, err := m.UploadDir(ctx, bucket, "tpch", dir)
	require.NoError(t, err)
	t.Logf("uploaded %d tpch files", n)
	wh := "s3://" + bucket + "/tpch"

	tables := make([]string, 0, 8)
	for _, tbl := range harness.TPCHTables() {
		tables = append(tables, "main."+tbl)
	}
	oracle := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, MinIO: m, Tables: tables})
	wants := make([]*harness.Result, len(queries))
	t.Cleanup(func() {
		for _, w := range wants {
			w.Release()
		}
	})
	for i, q := range queries {
		want, err := oracle.Query(ctx, q.SQL)
		require.NoError(t, err, "oracle cannot run %s", q.Name())
		wants[i] = want
		// The oracle itself must agree with the reference answer, or the
		// data set is not the one the answers were computed for.
		harness.CompareAnswer(t, "oracle "+q.Name(), q.Answer, want, tpchRel)
	}

	for _, run := range []struct {
		workers int
		args    []string
	}{
		{1, nil}, {2, nil}, {3, nil},
		// Every joinable table above 10,000 rows repartitioned through
		// the spool in MinIO, as sandboxed workers write it.
		{2, []string{"--broadcast-rows", "10000"}},
		// Every grouped aggregate finished on the workers, its partials
		// exchanged on the group keys; with 3 workers under repartitioned
		// joins too.
		{2, []string{"--final-aggregate-groups", "1"}},
		{3, []string{"--broadcast-rows", "10000", "--final-aggregate-groups", "1"}},
	} {
		workers := run.workers
		name := fmt.Sprintf("workers=%d", workers)
		if slices.Contains(run.args, "--broadcast-rows") {
			name += ",repartitioned"
		}
		if slices.Contains(run.args, "--final-aggregate-groups") {
			name += ",final_on_workers"
		}
		t.Run(name, func(t *testing.T) {
			srv := harness.StartServer(t, harness.ServerOptions{
				// At SF0.1 lineitem has 600,000 rows and orders 150,000:
				// below the defaults of --correlated-stage-rows and
				// --eager-stage-rows, so q02's and q17's subqueries and
				// q13's orders would be computed in every fragment.
				Warehouse: wh, LocalWorkers: workers, S3Endpoint: m.Endpoint(), Env: m.Env(),
				Args: append([]string{"--correlated-stage-rows", "50000", "--eager-stage-rows", "50000"}, run.args...),
			})
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			cl := dialFlightSQL(t, srv.Addr(), mem)
			start := time.Now()
			for i, q := range queries {
				t.Run(q.Name(), func(t *testing.T) {
					qstart := time.Now()
					got, err := harness.RunFlightSQL(queryCtx(t), cl, q.SQL)
					require.NoError(t, err, "%s\n%s", q.SQL, describe(err))
					defer got.Release()
					t.Logf("%s: %d rows in %s", q.Name(), got.NumRows(), time.Since(qstart).Round(time.Millisecond))
					harness.CompareRel(t, q.Name(), wants[i], got, false, tpchRel)
					harness.CompareAnswer(t, q.Name(), q.Answer, got, tpchRel)
				})
			}
			t.Logf("22 queries with %d workers in %s", workers, time.Since(start).Round(time.Millisecond))
			if workers > 1 {
				// No query runs as one fragment: q13's derived table groups
				// whole on customer's key (its files hold disjoint ranges);
				// q11's scalar subquery, q15's CTE and q20's IN subquery
				// are stages, one each.
				for _, reason := range []string{"subquery_in_aggregate_result", "single_file", "no_splittable_table", "order_without_limit"} {
					got, _, err := srv.Metric(queryCtx(t), "quiver_planner_fallback_total", map[string]string{"reason": reason})
					require.NoError(t, err)
					require.Zero(t, got, "quiver_planner_fallback_total{reason=%q}", reason)
				}
				if run.args == nil {
					// lineitem and orders are written by order-key ranges:
					// q03's fragments each read the orders files that meet
					// their own lineitem files, not all of them.
					res, err := harness.RunFlightSQL(queryCtx(t), cl, "EXPLAIN "+queries[2].SQL)
					require.NoError(t, err, describe(err))
					rows := harness.TextRows(res).Rows
					res.Release()
					require.NotEmpty(t, rows)
					require.Contains(t, rows[0][1], "co-located main.orders by o_orderkey ranges of main.lineitem.l_orderkey", "EXPLAIN q03: %v", rows)
					// q18's IN (SELECT l_orderkey … GROUP BY l_orderkey
					// HAVING …) reads only those lineitem files too.
					res, err = harness.RunFlightSQL(queryCtx(t), cl, "EXPLAIN "+queries[17].SQL)
					require.NoError(t, err, describe(err))
					rows = harness.TextRows(res).Rows
					res.Release()
					require.NotEmpty(t, rows)
					require.Contains(t, rows[0][1], "main.lineitem in a subquery by l_orderkey ranges of main.lineitem.l_orderkey", "EXPLAIN q18: %v", rows)
				}
				stages, ok, err := srv.Metric(queryCtx(t), "quiver_planner_stages_total", nil)
				require.NoError(t, err)
				require.True(t, ok)
				// q15 and q20 are staged, q11's HAVING subquery is a stage
				// under its split aggregate, and so are the grouped forms
				// of q02's and q17's correlated subqueries and q13's orders
				// aggregated first, except where their joins are
				// repartitioned (which of them depends on the worker
				// count: those fragments are rendered once the exchange is
				// written, each computing the subquery) or, for q13, where
				// its aggregate finishes on the workers. q18's IN subquery
				// is read by the split key's ranges in each fragment, no
				// stage.
				switch {
				case slices.Contains(run.args, "--broadcast-rows"):
					require.GreaterOrEqual(t, stages, 3.0, "quiver_planner_stages_total: q11, q15, q20 at least")
				case slices.Contains(run.args, "--final-aggregate-groups"):
					require.Equal(t, 5.0, stages, "quiver_planner_stages_total: q02, q11, q15, q17 and q20")
				default:
					require.Equal(t, 6.0, stages, "quiver_planner_stages_total: q02, q11, q13, q15, q17 and q20")
				}
			}
			if run.args != nil {
				producers, ok, err := srv.Metric(queryCtx(t), "quiver_exchange_producers_total", nil)
				require.NoError(t, err)
				require.True(t, ok)
				require.Positive(t, producers, "queries were repartitioned")
				if slices.Contains(run.args, "--final-aggregate-groups") {
					finals, ok, err := srv.Metric(queryCtx(t), "quiver_planner_final_aggregates_total", map[string]string{"where": "workers"})
					require.NoError(t, err)
					require.True(t, ok)
					require.GreaterOrEqual(t, finals, 10.0, "TPC-H aggregates finished on workers")
				}
				// Every query's end removed its part of the spool.
				require.Eventually(t, func() bool {
					out, err := m.Client().ListObjectsV2(queryCtx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("tpch/_spool/")})
					require.NoError(t, err)
					return len(out.Contents) == 0
				}, 10*time.Second, 50*time.Millisecond, "the spool is empty after the queries")
			}
			require.NoError(t, cl.Close())
			mem.AssertSize(t, 0)
		})
	}
}
