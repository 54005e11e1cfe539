package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestResultCache: a server with --result-cache-size answers a repeated
// statement from the cache with the same rows (system.queries says
// result_cache, the metric counts the hit), a new file in the table is
// a miss with the new answer, and x-quiver-result-cache: off bypasses it.
func TestResultCache(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 2, Args: []string{"--result-cache-size", "64MB"}})
	cl := dialFlightSQL(t, srv.Addr(), nil)
	ctx := context.Background()
	const q = "SELECT device, count(*) AS n, sum(duration_seconds) AS s FROM demo.titles t JOIN demo.plays p USING (title_id) GROUP BY device ORDER BY device"
	first := queryRows(t, cl, q)
	require.Equal(t, first, queryRows(t, cl, q))
	strategies := func(sql string) [][]string {
		return harness.TextRows(must(t, cl, "SELECT strategy, rows FROM system.queries WHERE sql = '"+sql+"' ORDER BY submitted")).Rows
	}
	require.Equal(t, []string{"result_cache", fmt.Sprint(len(first))}, strategies(q)[1], "a hit counts its rows")
	require.NotEqual(t, "result_cache", strategies(q)[0][0])
	hits, _, err := srv.Metric(ctx, "quiver_result_cache_lookups_total", map[string]string{"result": "hit"})
	require.NoError(t, err)
	require.Equal(t, 1.0, hits)

	// A new file of titles: the snapshot is another, and so is the answer.
	src, err := os.ReadFile(filepath.Join(wh, "demo", "titles", "titles.parquet"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(wh, "demo", "titles", "titles-copy.parquet"), src, 0o644))
	doubled := queryRows(t, cl, q)
	require.NotEqual(t, first, doubled, "every play now joins two titles")
	require.NotEqual(t, "result_cache", strategies(q)[2][0])

	off := metadata.AppendToOutgoingContext(ctx, "x-quiver-result-cache", "off")
	res, err := harness.RunFlightSQL(off, cl, q)
	require.NoError(t, err)
	require.Equal(t, doubled, harness.ArrowRows(res).Rows)
	res.Release()
	require.NotEqual(t, "result_cache", strategies(q)[3][0], "the client turned it off")
}

func must(t *testing.T, cl *flightsql.Client, sql string) *harness.Result {
	t.Helper()
	res, err := harness.RunFlightSQL(context.Background(), cl, sql)
	require.NoError(t, err, sql)
	t.Cleanup(res.Release)
	return res
}
