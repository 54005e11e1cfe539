package objstore

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLocalList(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeFile(t, outside, "s/t/x.parquet", []byte("outside"))
	for _, key := range []string{"b/t/2.parquet", "a/t/1.parquet", "a/t/sub/3.parquet", "a/u/4.parquet", "a.txt", "a/t.b/5.parquet"} {
		writeFile(t, dir, key, []byte(key))
	}
	require.NoError(t, os.Symlink(filepath.Join(outside, "s"), filepath.Join(dir, "linked")))                       // dir link: skipped
	require.NoError(t, os.Symlink(filepath.Join(outside, "s/t/x.parquet"), filepath.Join(dir, "a/t/link.parquet"))) // file link: listed
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "a/t/dangling.parquet")))
	b := NewLocal(dir)

	tests := []struct {
		prefix string
		want   []string
	}{
		{prefix: "", want: []string{"a.txt", "a/t.b/5.parquet", "a/t/1.parquet", "a/t/link.parquet", "a/t/sub/3.parquet", "a/u/4.parquet", "b/t/2.parquet"}},
		{prefix: "a/t/", want: []string{"a/t/1.parquet", "a/t/link.parquet", "a/t/sub/3.parquet"}},
		{prefix: "a/t", want: []string{"a/t.b/5.parquet", "a/t/1.parquet", "a/t/link.parquet", "a/t/sub/3.parquet"}},
		{prefix: "missing/t/", want: nil},
		{prefix: "linked/t/", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			objs, err := b.List(context.Background(), tc.prefix)
			require.NoError(t, err)
			var keys []string
			for _, o := range objs {
				keys = append(keys, o.Key)
				require.NotEmpty(t, o.ETag)
				if o.Key == "a/t/link.parquet" {
					require.Equal(t, int64(len("outside")), o.Size)
				} else {
					require.Equal(t, int64(len(o.Key)), o.Size)
				}
			}
			require.Equal(t, tc.want, keys)
		})
	}
	_, err := b.List(context.Background(), "../x/")
	require.ErrorContains(t, err, "leaves the warehouse")
}

func TestLocalETagChangesOnRewrite(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "s/t/a.parquet", []byte("one"))
	b := NewLocal(dir)
	etag := func() string {
		objs, err := b.List(context.Background(), "")
		require.NoError(t, err)
		require.Len(t, objs, 1)
		return objs[0].ETag
	}
	first := etag()
	require.Equal(t, first, etag(), "stable while unchanged")

	p := filepath.Join(dir, "s/t/a.parquet")
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.WriteFile(p, []byte("two"), 0o644)) // same size
	require.NoError(t, os.Chtimes(p, later, later))
	second := etag()
	require.NotEqual(t, first, second)

	// Replaced by rename with the same size and mtime: the inode differs.
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("333"), 0o644))
	require.NoError(t, os.Chtimes(tmp, later, later))
	require.NoError(t, os.Rename(tmp, p))
	require.NotEqual(t, second, etag())
}

func TestLocalReadRange(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "s/t/a.bin", []byte("0123456789"))
	b := NewLocal(dir)
	tests := []struct {
		name    string
		key     string
		off, n  int64
		want    string
		wantErr string
		is      error
	}{
		{name: "middle", key: "s/t/a.bin", off: 2, n: 3, want: "234"},
		{name: "tail", key: "s/t/a.bin", off: 6, n: 4, want: "6789"},
		{name: "past end is short", key: "s/t/a.bin", off: 8, n: 10, want: "89"},
		{name: "missing", key: "s/t/nope.bin", n: 1, is: fs.ErrNotExist, wantErr: "s/t/nope.bin"},
		{name: "escape", key: "../a.bin", n: 1, wantErr: "leaves the warehouse"},
		{name: "absolute", key: "/etc/passwd", n: 1, wantErr: "leaves the warehouse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.ReadRange(context.Background(), tc.key, tc.off, tc.n)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				if tc.is != nil {
					require.ErrorIs(t, err, tc.is)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestLocalKeyCannotLeave(t *testing.T) {
	_, err := NewLocal(t.TempDir()).path("../outside")
	require.ErrorContains(t, err, "leaves the warehouse")
}

// writeFile writes data at dir/key, creating directories.
func writeFile(t *testing.T, dir, key string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o644))
}
