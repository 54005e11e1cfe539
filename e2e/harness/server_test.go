package harness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestStartServer runs the real binary: demo data, a server, one query (scale 0.01 has max(100, 200) titles), a
// clean stop that takes the workers with it.
func TestStartServer(t *testing.T) {
	QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "wh")
	DemoData(t, wh, 0.01, nil)
	srv := StartServer(t, ServerOptions{Warehouse: wh, LocalWorkers: 1})

	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	cl, err := DialFlightSQL(srv.Addr(), mem)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := RunFlightSQL(ctx, cl, "SELECT count(*) AS n FROM demo.titles")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"200"}}, ArrowRows(res).Rows)
	res.Release()
	require.NoError(t, cl.Close())
	mem.AssertSize(t, 0)

	require.NoError(t, srv.Stop(), "server logs:\n%s", srv.Logs())
	require.True(t, srv.Exited())
	require.NoError(t, srv.Stop(), "second stop is a no-op")
}

// TestRunQuiverFailure reports a failing command's exit code and output
// instead of failing the test.
func TestRunQuiverFailure(t *testing.T) {
	QuiverBin(t)
	res := RunQuiver(t, 30*time.Second, nil, "no-such-subcommand")
	require.Error(t, res.Err)
	require.NotZero(t, res.ExitCode)
	require.NotEmpty(t, res.Output)
}
