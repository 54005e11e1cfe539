package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/stretchr/testify/require"
)

// writeContract checks the write API of w, whatever its backend.
func writeContract(t *testing.T, w *Warehouse) {
	ctx := context.Background()

	t.Run("put get overwrite", func(t *testing.T) {
		require.NoError(t, w.Put(ctx, "a/b/one.txt", []byte("first")))
		got, err := w.Get(ctx, "a/b/one.txt")
		require.NoError(t, err)
		require.Equal(t, "first", string(got))
		require.NoError(t, w.Put(ctx, "a/b/one.txt", []byte("second, longer")))
		got, err = w.Get(ctx, "a/b/one.txt")
		require.NoError(t, err)
		require.Equal(t, "second, longer", string(got))
		obj, err := w.Stat(ctx, "a/b/one.txt")
		require.NoError(t, err)
		require.Equal(t, int64(len("second, longer")), obj.Size)
		require.NotEmpty(t, obj.ETag)
	})

	t.Run("put if absent", func(t *testing.T) {
		require.NoError(t, w.PutIfAbsent(ctx, "c/once.txt", []byte("winner")))
		err := w.PutIfAbsent(ctx, "c/once.txt", []byte("loser"))
		require.ErrorIs(t, err, ErrExists)
		require.Contains(t, err.Error(), "c/once.txt")
		got, err := w.Get(ctx, "c/once.txt")
		require.NoError(t, err)
		require.Equal(t, "winner", string(got), "a refused conditional put leaves the object alone")
	})

	t.Run("concurrent put if absent has one winner", func(t *testing.T) {
		const n = 8
		var wins, exists atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := w.PutIfAbsent(ctx, "race/key.txt", []byte{byte('a' + i)})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrExists):
					exists.Add(1)
				default:
					t.Errorf("put %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), wins.Load())
		require.Equal(t, int32(n-1), exists.Load())
	})

	t.Run("missing objects", func(t *testing.T) {
		_, err := w.Get(ctx, "nope/missing.txt")
		require.ErrorIs(t, err, ErrObjectNotFound)
		require.Contains(t, err.Error(), "nope/missing.txt")
		_, err = w.Stat(ctx, "nope/missing.txt")
		require.ErrorIs(t, err, ErrObjectNotFound)
		require.NoError(t, w.Delete(ctx, "nope/missing.txt"), "deleting a missing key is not an error")
		err = w.Move(ctx, "nope/missing.txt", "nope/dst.txt", true)
		require.ErrorIs(t, err, ErrObjectNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		require.NoError(t, w.Put(ctx, "d/gone.txt", []byte("x")))
		require.NoError(t, w.Delete(ctx, "d/gone.txt"))
		_, err := w.Get(ctx, "d/gone.txt")
		require.ErrorIs(t, err, ErrObjectNotFound)
	})

	t.Run("move", func(t *testing.T) {
		require.NoError(t, w.Put(ctx, "m/_staging-1", []byte("payload one")))
		require.NoError(t, w.Move(ctx, "m/_staging-1", "m/date=2025-01-01/out.parquet", true))
		got, err := w.Get(ctx, "m/date=2025-01-01/out.parquet")
		require.NoError(t, err)
		require.Equal(t, "payload one", string(got))
		_, err = w.Stat(ctx, "m/_staging-1")
		require.ErrorIs(t, err, ErrObjectNotFound, "the source is gone")

		require.NoError(t, w.Put(ctx, "m/_staging-2", []byte("payload two")))
		err = w.Move(ctx, "m/_staging-2", "m/date=2025-01-01/out.parquet", true)
		require.ErrorIs(t, err, ErrExists)
		got, err = w.Get(ctx, "m/date=2025-01-01/out.parquet")
		require.NoError(t, err)
		require.Equal(t, "payload one", string(got), "a refused publish keeps the first object")
		got, err = w.Get(ctx, "m/_staging-2")
		require.NoError(t, err)
		require.Equal(t, "payload two", string(got), "a refused publish keeps its source")

		require.NoError(t, w.Move(ctx, "m/_staging-2", "m/date=2025-01-01/out.parquet", false))
		got, err = w.Get(ctx, "m/date=2025-01-01/out.parquet")
		require.NoError(t, err)
		require.Equal(t, "payload two", string(got), "an unconditional move replaces")
	})

	t.Run("delete prefix", func(t *testing.T) {
		for _, key := range []string{"sp/q1/.created", "sp/q1/x0-f0-a1/quiver_part=0/data_0.parquet",
			"sp/q1/x0-f0-a1/quiver_part=1/data_0.parquet", "sp/q1/x0-f1-a2/quiver_part=0/data_0.parquet",
			"sp/q10/.created", "sp/q1.txt"} {
			require.NoError(t, w.Put(ctx, key, []byte(key)))
		}
		require.NoError(t, w.DeletePrefix(ctx, "sp/q1/"))
		all, err := w.List(ctx, "sp/")
		require.NoError(t, err)
		require.Equal(t, []string{"sp/q1.txt", "sp/q10/.created"}, keysOf(all), "only the directory's objects go, not its namesakes")
		require.NoError(t, w.DeletePrefix(ctx, "sp/q1/"), "again: nothing is there")
		require.NoError(t, w.DeletePrefix(ctx, "nothing/here/"))
		require.NoError(t, w.DeletePrefix(ctx, "sp/q1.txt/"), "a file is not a directory")
		got, err := w.Get(ctx, "sp/q1.txt")
		require.NoError(t, err)
		require.Equal(t, "sp/q1.txt", string(got))
		for _, bad := range []string{"", "/", "sp/q10", "/sp/", "sp/../../x/", "./sp/", "sp//"} {
			require.Error(t, w.DeletePrefix(ctx, bad), bad)
		}
		all, err = w.List(ctx, "sp/")
		require.NoError(t, err)
		require.Equal(t, []string{"sp/q1.txt", "sp/q10/.created"}, keysOf(all), "refused prefixes delete nothing")
	})

	t.Run("put file", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "big.bin")
		data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		require.NoError(t, os.WriteFile(src, data, 0o600))
		require.NoError(t, w.PutFile(ctx, "f/big.bin", src, true))
		require.ErrorIs(t, w.PutFile(ctx, "f/big.bin", src, true), ErrExists)
		got, err := w.Get(ctx, "f/big.bin")
		require.NoError(t, err)
		require.Equal(t, data, got)
	})

	t.Run("bad keys", func(t *testing.T) {
		for _, key := range []string{"", "/abs", "a/../../b", "a//b", "dir/", "./x"} {
			err := w.Put(ctx, key, []byte("x"))
			require.Error(t, err, key)
			require.Contains(t, err.Error(), "object key", key)
		}
	})

	t.Run("hidden keys are not tables", func(t *testing.T) {
		pq := parquetBytes(t, playsSchema, playsRows, 10)
		require.NoError(t, w.Put(ctx, "rep/daily/date=2025-01-01/result.parquet", pq))
		require.NoError(t, w.Put(ctx, "rep/daily/date=2025-01-01/_SUCCESS", []byte(`{"rows":3}`)))
		require.NoError(t, w.Put(ctx, "rep/daily/date=2025-01-02/_staging-abc-result.parquet", pq))
		require.NoError(t, w.Put(ctx, "rep/daily/.hidden-1", pq))
		require.NoError(t, w.Put(ctx, "_system/report_runs/run-1.parquet", pq))
		names, err := w.Tables(ctx)
		require.NoError(t, err)
		require.Contains(t, names, TableName{"rep", "daily"})
		for _, n := range names {
			require.NotEqual(t, "_system", n.Schema)
		}
		tbl, err := w.Table(ctx, TableName{"rep", "daily"})
		require.NoError(t, err)
		require.Len(t, tbl.Files, 1, "staging and marker keys are not table files")
		require.Equal(t, "rep/daily/date=2025-01-01/result.parquet", tbl.Files[0].Key)
		require.Equal(t, int64(3), tbl.Rows)

		all, err := w.List(ctx, "_system/")
		require.NoError(t, err)
		require.Equal(t, []string{"_system/report_runs/run-1.parquet"}, keysOf(all), "List shows hidden keys")
	})
}

func keysOf(objs []Object) []string {
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys
}

func TestWriteLocal(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(context.Background(), dir, Options{})
	require.NoError(t, err)
	writeContract(t, w)

	// No temporary files are left behind by any of the writes above.
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		require.False(t, strings.HasPrefix(d.Name(), ".quiver-tmp-"), p)
		return nil
	}))
	info, err := os.Stat(filepath.Join(dir, "a", "b", "one.txt"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), info.Mode().Perm())
	_, err = os.Stat(filepath.Join(dir, "sp", "q1"))
	require.ErrorIs(t, err, os.ErrNotExist, "DeletePrefix removes the directory too")
}

// TestDeletePrefixLocalStaysInside: a symlink below the warehouse is not
// followed out of it.
func TestDeletePrefixLocalStaysInside(t *testing.T) {
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	writeFile(t, outside, "q1/keep.parquet", []byte("x"))
	w, err := Open(ctx, dir, Options{})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "_spool"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "_spool", "link")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "linked")))
	require.NoError(t, w.DeletePrefix(ctx, "_spool/link/q1/"))
	require.NoError(t, w.DeletePrefix(ctx, "linked/q1/"))
	require.NoError(t, w.DeletePrefix(ctx, "_spool/link/"))
	_, err = os.Stat(filepath.Join(outside, "q1", "keep.parquet"))
	require.NoError(t, err, "nothing outside the warehouse is removed")
}

// TestWriteLocalReadersSeeWholeObjects overwrites an object while readers
// read it: every read is one complete version.
func TestWriteLocalReadersSeeWholeObjects(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	require.NoError(t, err)
	versions := [][]byte{
		bytes.Repeat([]byte{'a'}, 1<<20),
		bytes.Repeat([]byte{'b'}, 3<<19),
	}
	require.NoError(t, w.Put(ctx, "x/obj", versions[0]))
	done := make(chan struct{})
	var reads atomic.Int32
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := w.Get(ctx, "x/obj")
				if err != nil {
					t.Errorf("get: %v", err)
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					t.Errorf("read a partial object of %d bytes", len(got))
					return
				}
				reads.Add(1)
			}
		}()
	}
	for i := range 40 {
		require.NoError(t, w.Put(ctx, "x/obj", versions[i%2]))
	}
	close(done)
	wg.Wait()
	require.Positive(t, reads.Load())
}

func TestReadOnlyBackend(t *testing.T) {
	w := memWarehouse(newMemBackend(), Options{})
	err := w.Put(context.Background(), "a/b", []byte("x"))
	require.ErrorIs(t, err, ErrReadOnly)
	_, err = w.Get(context.Background(), "a/b")
	require.ErrorIs(t, err, ErrReadOnly)
}

func TestOpenObjectAndKeyOf(t *testing.T) {
	harness.IsolateAWS(t)
	ctx := context.Background()
	dir := t.TempDir()

	st, key, err := OpenObject(ctx, filepath.Join(dir, "out", "x.parquet"), Options{})
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, key, []byte("hello")))
	data, err := os.ReadFile(filepath.Join(dir, "out", "x.parquet"))
	require.NoError(t, err)
	require.Equal(t, "hello", string(data))
	require.Equal(t, filepath.Join(dir, "out", "x.parquet"), st.URI(key))

	st, key, err = OpenObject(ctx, "s3://bucket/reports/d=1/x.csv", Options{S3Endpoint: "http://127.0.0.1:1"})
	require.NoError(t, err)
	require.Equal(t, "reports/d=1/x.csv", key)
	require.Equal(t, "s3://bucket/reports/d=1/x.csv", st.URI(key))

	for _, bad := range []string{"s3://bucket", "s3://bucket/", "gs://b/x", "s3://bucket/dir/"} {
		_, _, err := OpenObject(ctx, bad, Options{})
		require.Error(t, err, bad)
	}

	wh := memWarehouse(newMemBackend(), Options{})
	k, ok := wh.KeyOf("s3://bucket/wh/reports/daily/x.parquet")
	require.True(t, ok)
	require.Equal(t, "reports/daily/x.parquet", k)
	for _, other := range []string{"s3://bucket/other/x.parquet", "s3://elsewhere/wh/x", "s3://bucket/wh", "/tmp/x"} {
		_, ok := wh.KeyOf(other)
		require.False(t, ok, other)
	}
	local, err := Open(ctx, dir, Options{})
	require.NoError(t, err)
	k, ok = local.KeyOf(filepath.Join(dir, "s", "t", "x.parquet"))
	require.True(t, ok)
	require.Equal(t, "s/t/x.parquet", k)
	_, ok = local.KeyOf(filepath.Join(filepath.Dir(dir), "x.parquet"))
	require.False(t, ok)
}

// TestWriteMinIO runs the same contract against a real MinIO, under a
// warehouse prefix, so If-None-Match on PutObject and CopyObject is the
// server's, not a fake's.
func TestWriteMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	minio := harness.StartMinIOBucket(t, "lake")
	ctx := context.Background()
	w, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: minio.Endpoint()})
	require.NoError(t, err)
	writeContract(t, w)

	// Keys needing escaping survive a server-side copy.
	require.NoError(t, w.Put(ctx, "esc/_staging a+b", []byte("spaced")))
	require.NoError(t, w.Move(ctx, "esc/_staging a+b", "esc/d=2025-01-01 00:00/o ut.csv", true))
	got, err := w.Get(ctx, "esc/d=2025-01-01 00:00/o ut.csv")
	require.NoError(t, err)
	require.Equal(t, "spaced", string(got))

	// A store that is down fails fast with ErrUnavailable naming it.
	down, err := Open(ctx, "s3://lake/wh", Options{S3Endpoint: "http://" + harness.ClosedAddr(t)})
	require.NoError(t, err)
	err = down.Put(ctx, "x", []byte("x"))
	require.ErrorIs(t, err, ErrUnavailable)
}
