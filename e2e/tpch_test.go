package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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

	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			srv := harness.StartServer(t, harness.ServerOptions{
				Warehouse: wh, LocalWorkers: workers, S3Endpoint: m.Endpoint(), Env: m.Env(),
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
			require.NoError(t, cl.Close())
			mem.AssertSize(t, 0)
		})
	}
}
