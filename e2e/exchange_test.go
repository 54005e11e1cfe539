package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestRepartitionedJoinSpills joins two tables whose sides are each
// several times a worker's memory_limit (64MB). By default (--broadcast-
// bytes auto: an eighth of that) b is too large to broadcast, so each
// worker's hash join builds on its part of b, and the answer equals one
// DuckDB's; broadcast (every fragment builds on all of b) it runs out of
// memory.
func TestRepartitionedJoinSpills(t *testing.T) {
	if testing.Short() {
		t.Skip("spills hundreds of megabytes")
	}
	harness.QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	writer := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: []string{}})
	for tbl, files := range map[string]int{"a": 6, "b": 4} {
		dir := filepath.Join(wh, "big", tbl)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		const rows = 2_000_000
		for f := range files {
			lo, hi := f*rows/files, (f+1)*rows/files
			require.NoError(t, writer.Exec(queryCtx(t), fmt.Sprintf(
				"COPY (SELECT (i * 7919) %% %d AS k, md5(i::VARCHAR || '%s') || md5(i::VARCHAR) AS pad FROM range(%d, %d) t(i)) TO '%s' (FORMAT parquet)",
				rows, tbl, lo, hi, filepath.Join(dir, fmt.Sprintf("part-%d.parquet", f)))))
		}
	}
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 2,
		Args: []string{"--worker-memory-limit", "64MB"}}) // --broadcast-bytes auto: 8MB
	cl := dialFlightSQL(t, srv.Addr(), nil)
	const q = "SELECT count(*) AS n, sum(length(a.pad) + length(b.pad)) AS bytes, min(a.pad) AS lo, max(b.pad) AS hi FROM big.a a JOIN big.b b ON a.k = b.k"
	require.Contains(t, formatExplain(explain(t, cl, q)), "repartition big.a on k and big.b on k")
	oracle := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: []string{"big.a", "big.b"}})
	want, err := oracle.Query(queryCtx(t), q)
	require.NoError(t, err)
	defer want.Release()
	got, err := harness.RunFlightSQL(queryCtx(t), cl, q)
	require.NoError(t, err, "the join must spill, not fail: %s", describe(err))
	defer got.Release()
	harness.Compare(t, q, want, got, false)
	// The workers spilled, and the query's history says how much.
	require.Eventually(t, func() bool {
		res, err := harness.RunFlightSQL(queryCtx(t), cl,
			"SELECT max(spill_bytes) AS s FROM system.queries WHERE sql LIKE '%big.a a JOIN big.b b%' AND state = 'finished'")
		if err != nil {
			return false
		}
		defer res.Release()
		if res.NumRows() != 1 {
			return false
		}
		v := res.Records[0].Column(0).(*array.Int64)
		return v.IsValid(0) && v.Value(0) > 1<<20
	}, 10*time.Second, 100*time.Millisecond, "system.queries.spill_bytes of the spilling join")

	// The pressure is real: the same join broadcast fails.
	broadcast := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 2,
		Args: []string{"--worker-memory-limit", "64MB", "--broadcast-bytes", "0"}})
	bcl := dialFlightSQL(t, broadcast.Addr(), nil)
	_, err = harness.RunFlightSQL(queryCtx(t), bcl, q)
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "broadcast: %s", describe(err))
}

// TestSpoolSweptAfterCoordinatorCrash kills a coordinator (SIGKILL) after
// a repartitioned query wrote its spool and before anyone read it: the
// query never ends, so nothing removes its spool, until a coordinator
// started on the same warehouse sweeps it once --spool-ttl has passed.
func TestSpoolSweptAfterCoordinatorCrash(t *testing.T) {
	harness.QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	args := []string{"--broadcast-rows", "1", "--spool-ttl", "3s"}
	crashed := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 2, Args: args})
	cl := dialFlightSQL(t, crashed.Addr(), nil)
	const q = "SELECT p.play_id, t.name FROM demo.plays p JOIN demo.titles t ON t.title_id = p.title_id"
	require.Contains(t, formatExplain(explain(t, cl, q)), "repartition demo.plays on title_id")
	_, err := cl.Execute(queryCtx(t), q)
	require.NoError(t, err, describe(err))
	spool := filepath.Join(wh, "_spool")
	entries, err := os.ReadDir(spool)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the query's spool")
	require.NoError(t, crashed.Signal(syscall.SIGKILL))
	require.Error(t, crashed.WaitExit(30*time.Second), "killed")

	restarted := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 1, Args: args})
	require.Eventually(t, func() bool {
		entries, err := os.ReadDir(spool)
		return err == nil && len(entries) == 0
	}, 30*time.Second, 100*time.Millisecond, "the crashed query's spool is swept after the TTL")
	swept, ok, err := restarted.Metric(queryCtx(t), "quiver_spool_swept_total", nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.GreaterOrEqual(t, swept, 1.0)
}
