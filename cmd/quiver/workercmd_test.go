package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResourceFlags(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	parse := func(t *testing.T, args ...string) *resourceFlags {
		t.Helper()
		var r resourceFlags
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		r.register(fs)
		require.NoError(t, fs.Parse(args))
		return &r
	}

	t.Run("explicit limits and a private spill directory", func(t *testing.T) {
		base := filepath.Join(t.TempDir(), "spill")
		r := parse(t, "--memory-limit", "2GiB", "--temp-dir", base, "--max-temp-size", "10GB")
		opts, cleanup, err := r.engineOptions("worker", logger)
		require.NoError(t, err)
		require.Equal(t, "2147483648B", opts.MemoryLimit)
		require.Equal(t, "10000000000B", opts.MaxTempSize)
		require.Equal(t, "configured", r.reason)
		require.Equal(t, base, filepath.Dir(opts.TempDirectory))
		require.True(t, strings.HasPrefix(filepath.Base(opts.TempDirectory), "quiver-worker-"))
		require.DirExists(t, opts.TempDirectory)
		// A second process under the same base gets a directory of its own.
		opts2, cleanup2, err := r.engineOptions("worker", logger)
		require.NoError(t, err)
		require.NotEqual(t, opts.TempDirectory, opts2.TempDirectory)
		cleanup2()
		require.NoError(t, os.WriteFile(filepath.Join(opts.TempDirectory, "spill.tmp"), []byte("x"), 0o600))
		cleanup()
		require.NoDirExists(t, opts.TempDirectory)
		require.DirExists(t, base, "only the process's own directory is removed")
	})

	t.Run("defaults", func(t *testing.T) {
		r := parse(t)
		opts, cleanup, err := r.engineOptions("coordinator", logger)
		require.NoError(t, err)
		defer cleanup()
		require.Equal(t, os.TempDir(), filepath.Dir(opts.TempDirectory))
		require.True(t, strings.HasPrefix(filepath.Base(opts.TempDirectory), "quiver-coordinator-"))
		require.Empty(t, opts.MaxTempSize, "DuckDB's default")
		require.True(t, strings.HasSuffix(opts.MemoryLimit, "B"))
		require.Contains(t, r.reason, "75% of")
	})

	for _, tc := range []struct{ args []string }{
		{[]string{"--memory-limit", "lots"}},
		{[]string{"--memory-limit", "0"}},
		{[]string{"--memory-limit", "120%"}},
		{[]string{"--max-temp-size", "big"}},
	} {
		t.Run("bad "+strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := parse(t, tc.args...).engineOptions("worker", logger)
			require.ErrorContains(t, err, tc.args[0])
		})
	}
}

func TestWorkerRefusesBadResourceFlags(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	err := runWorker(context.Background(), []string{"--warehouse", t.TempDir(), "--memory-limit", "lots"})
	require.ErrorContains(t, err, `--memory-limit: "lots" is not a size`)
	err = runWorker(context.Background(), []string{"--warehouse", t.TempDir(), "--interrupt-grace", "0s"})
	require.ErrorContains(t, err, "--interrupt-grace must be positive")
}
