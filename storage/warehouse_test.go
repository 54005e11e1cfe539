package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenLocal(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "file", []byte("x"))
	tests := []struct {
		name    string
		uri     string
		wantErr string
	}{
		{name: "dir", uri: dir},
		{name: "file uri", uri: "file://" + dir},
		{name: "missing dir names it", uri: filepath.Join(dir, "missing"), wantErr: filepath.Join(dir, "missing")},
		{name: "not a dir", uri: filepath.Join(dir, "file"), wantErr: "not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Open(context.Background(), tc.uri, Options{S3Endpoint: "http://ignored:9000"})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, dir, w.String())
			require.Equal(t, Location{Scheme: "file", Dir: dir}, w.Location())
			require.Equal(t, "", w.Endpoint())
			require.Equal(t, filepath.Join(dir, "demo", "t", "a.parquet"), w.URI("demo/t/a.parquet"))
		})
	}
}

func TestOpenRelativeDirIsAbsolute(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "wh"), 0o755))
	t.Chdir(dir)
	w, err := Open(context.Background(), "./wh", Options{})
	require.NoError(t, err)
	require.True(t, filepath.IsAbs(w.Location().Dir))
	real, err := filepath.EvalSymlinks(filepath.Join(dir, "wh"))
	require.NoError(t, err)
	got, err := filepath.EvalSymlinks(w.Location().Dir)
	require.NoError(t, err)
	require.Equal(t, real, got)
}
