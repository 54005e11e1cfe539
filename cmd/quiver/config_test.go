package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFlagsPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "quiver.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("listen: 127.0.0.1:1\nwarehouse: /from/file\nlocal-workers: 5\nworker: [a:1, b:2]\nunknown-elsewhere: x\n"), 0o600))

	newFS := func() (*flag.FlagSet, *string, *string, *int, *listFlag) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		listen := fs.String("listen", "default", "")
		wh := fs.String("warehouse", "default", "")
		n := fs.Int("local-workers", 2, "")
		var workers listFlag
		fs.Var(&workers, "worker", "")
		return fs, listen, wh, n, &workers
	}

	t.Run("file only", func(t *testing.T) {
		fs, listen, wh, n, workers := newFS()
		require.NoError(t, parseFlags(fs, []string{"--config", cfg}))
		require.Equal(t, "127.0.0.1:1", *listen)
		require.Equal(t, "/from/file", *wh)
		require.Equal(t, 5, *n)
		require.Equal(t, listFlag{"a:1", "b:2"}, *workers)
	})
	t.Run("env beats file, flag beats env", func(t *testing.T) {
		t.Setenv("QUIVER_WAREHOUSE", "/from/env")
		t.Setenv("QUIVER_LISTEN", "127.0.0.1:2")
		t.Setenv("QUIVER_WORKER", "c:3,d:4")
		fs, listen, wh, n, workers := newFS()
		require.NoError(t, parseFlags(fs, []string{"--config", cfg, "--listen", "127.0.0.1:3"}))
		require.Equal(t, "127.0.0.1:3", *listen)
		require.Equal(t, "/from/env", *wh)
		require.Equal(t, 5, *n)
		require.Equal(t, listFlag{"c:3", "d:4"}, *workers)
	})
	t.Run("config from env", func(t *testing.T) {
		t.Setenv("QUIVER_CONFIG", cfg)
		fs, _, wh, _, _ := newFS()
		require.NoError(t, parseFlags(fs, nil))
		require.Equal(t, "/from/file", *wh)
	})
	t.Run("bad env value", func(t *testing.T) {
		t.Setenv("QUIVER_LOCAL_WORKERS", "many")
		fs, _, _, _, _ := newFS()
		require.ErrorContains(t, parseFlags(fs, nil), "QUIVER_LOCAL_WORKERS")
	})
	t.Run("missing file", func(t *testing.T) {
		fs, _, _, _, _ := newFS()
		require.ErrorContains(t, parseFlags(fs, []string{"--config", filepath.Join(dir, "nope.yaml")}), "nope.yaml")
	})
}
