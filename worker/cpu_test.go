package worker

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
)

func TestCPUTrailer(t *testing.T) {
	start := processCPU()
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU
	}
	s, e, ok := fragwire.TrailerCPU(cpuTrailer(start))
	if !ok || s != start || e <= s {
		t.Fatalf("TrailerCPU(cpuTrailer(%v)) = %v, %v, %v; want start %v and a later end", start, s, e, ok, start)
	}
	for _, bad := range []metadata.MD{nil, metadata.Pairs(fragwire.CPUTrailer, "12"), metadata.Pairs(fragwire.CPUTrailer, "5,3"), metadata.Pairs(fragwire.CPUTrailer, "a,b")} {
		if _, _, ok := fragwire.TrailerCPU(bad); ok {
			t.Errorf("TrailerCPU(%v) ok, want not", bad)
		}
	}
}

// TestSpillTrailer runs a sort too large for a 32MB memory_limit: DuckDB
// spills it to the temp directory, and the stream's trailer says how far
// the directory grew while the fragment ran; a small query spills nothing.
func TestSpillTrailer(t *testing.T) {
	dir := t.TempDir()
	w := startOpsWorker(t, ServerOptions{TempDir: dir}, engine.Options{Threads: 1, MemoryLimit: "32MB", TempDirectory: dir})
	c := w.conn(t)
	ctx := testCtx(t)
	spillOf := func(sql string) int64 {
		t.Helper()
		stream, err := c.DoGet(ctx, w.ticket(t, "q-"+strconv.Itoa(len(sql)), sql))
		require.NoError(t, err)
		for {
			if _, err := stream.Recv(); err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
		}
		return fragwire.TrailerSpill(stream.Trailer())
	}
	require.Zero(t, spillOf("SELECT 42 AS x"))
	require.Greater(t, spillOf("SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(3000000) t(i) ORDER BY h"), int64(1<<20))
}
