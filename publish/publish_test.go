package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/storage"
)

func srcFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "result")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func keys(t *testing.T, st *storage.Warehouse, prefix string) []string {
	t.Helper()
	objs, err := st.List(context.Background(), prefix)
	require.NoError(t, err)
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

// contract checks File and Recover on one store; journal is in wh.
func contract(t *testing.T, st, wh *storage.Warehouse, prefix string) {
	ctx := context.Background()
	j := NewJournal(wh, "_system/report_staging/")
	opener := func(ctx context.Context, root string) (*storage.Warehouse, error) {
		if root == st.String() {
			return st, nil
		}
		return nil, errors.New("unexpected store " + root)
	}
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("publish", func(t *testing.T) {
		key := prefix + "daily/date=2025-01-01/result.csv"
		sched := time.Date(2025, 1, 1, 6, 0, 0, 0, time.UTC)
		res, err := File(ctx, st, key, srcFile(t, "a,b\n1,2\n"), Marker{Rows: 1, Format: "csv", Report: "daily", RunID: "r1", ScheduledTime: &sched},
			Options{Journal: j, JournalKey: "daily/r1-1", Now: func() time.Time { return fixed }})
		require.NoError(t, err)
		sum := sha256.Sum256([]byte("a,b\n1,2\n"))
		require.Equal(t, Result{URI: st.URI(key), Rows: 1, Bytes: 8, SHA256: hex.EncodeToString(sum[:])}, res)
		got, err := st.Get(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "a,b\n1,2\n", string(got))
		m, err := ReadMarker(ctx, st, key)
		require.NoError(t, err)
		require.Equal(t, Marker{Object: "result.csv", URI: st.URI(key), Rows: 1, Bytes: 8, SHA256: res.SHA256,
			Format: "csv", Report: "daily", RunID: "r1", ScheduledTime: m.ScheduledTime, PublishedAt: fixed}, m)
		require.True(t, sched.Equal(*m.ScheduledTime))
		require.Equal(t, []string{prefix + "daily/date=2025-01-01/_SUCCESS", key}, keys(t, st, prefix+"daily/"),
			"no staging object left")
		require.Empty(t, keys(t, wh, "_system/report_staging/"), "journal entry dropped")
	})

	t.Run("exists", func(t *testing.T) {
		key := prefix + "x/out.csv"
		_, err := File(ctx, st, key, srcFile(t, "first"), Marker{}, Options{})
		require.NoError(t, err)
		_, err = File(ctx, st, key, srcFile(t, "second"), Marker{}, Options{})
		require.ErrorIs(t, err, ErrOutputExists)
		require.ErrorIs(t, err, storage.ErrExists)
		got, err := st.Get(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "first", string(got))
		require.Equal(t, []string{prefix + "x/_SUCCESS", key}, keys(t, st, prefix+"x/"), "the refused staging object is gone")
		_, err = File(ctx, st, key, srcFile(t, "third"), Marker{}, Options{Replace: true})
		require.NoError(t, err)
		got, err = st.Get(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "third", string(got))
		m, err := ReadMarker(ctx, st, key)
		require.NoError(t, err)
		require.Equal(t, int64(5), m.Bytes)
	})

	t.Run("killed after staging", func(t *testing.T) {
		key := prefix + "k/date=1/out.parquet"
		done := make(chan struct{})
		// Goexit in the hook ends the publishing goroutine right there,
		// as a SIGKILL would: nothing after the staging write runs.
		go func() {
			defer close(done)
			_, _ = File(ctx, st, key, srcFile(t, "payload"), Marker{Rows: 7}, Options{
				Journal: j, JournalKey: "k/run-1",
				AfterStaging: func(context.Context) error { runtime.Goexit(); return nil },
			})
		}()
		<-done
		left := keys(t, st, prefix+"k/")
		require.Len(t, left, 1)
		require.True(t, strings.HasPrefix(left[0], prefix+"k/date=1/_staging-"), left[0])
		_, err := st.Stat(ctx, key)
		require.ErrorIs(t, err, storage.ErrObjectNotFound, "nothing visible at the target")
		require.Len(t, keys(t, wh, "_system/report_staging/k/"), 1)

		recs, err := j.Recover(ctx, "k/", opener)
		require.NoError(t, err)
		require.Equal(t, []Recovered{{Name: "k/run-1", Target: st.URI(key), StagingDeleted: true}}, recs)
		require.Empty(t, keys(t, st, prefix+"k/"))
		require.Empty(t, keys(t, wh, "_system/report_staging/k/"))
	})

	t.Run("killed after publish", func(t *testing.T) {
		key := prefix + "p/out.csv"
		res, err := File(ctx, st, key, srcFile(t, "complete"), Marker{Rows: 3}, Options{})
		require.NoError(t, err)
		// Put back what dying between the publish and the marker leaves.
		require.NoError(t, st.Delete(ctx, prefix+"p/_SUCCESS"))
		m := Marker{Object: "out.csv", URI: res.URI, Rows: 3, Bytes: res.Bytes, SHA256: res.SHA256}
		require.NoError(t, j.add(ctx, "p/run-1", entry{Store: st.String(), Staging: prefix + "p/_staging-x-out.csv",
			Target: key, Bytes: res.Bytes, SHA256: res.SHA256, Marker: &m}))
		// And a journal entry whose target never got the bytes.
		require.NoError(t, j.add(ctx, "p/run-2", entry{Store: st.String(), Staging: prefix + "p/_staging-y-other.csv",
			Target: prefix + "p/other.csv", Bytes: 5, SHA256: "00", Marker: &m}))

		recs, err := j.Recover(ctx, "p/", opener)
		require.NoError(t, err)
		require.Equal(t, []Recovered{
			{Name: "p/run-1", Target: st.URI(key), Published: true, Rows: 3, Bytes: res.Bytes},
			{Name: "p/run-2", Target: st.URI(prefix + "p/other.csv")},
		}, recs)
		got, err := ReadMarker(ctx, st, key)
		require.NoError(t, err)
		require.Equal(t, res.SHA256, got.SHA256)
		require.Equal(t, int64(3), got.Rows)
		require.Empty(t, keys(t, wh, "_system/report_staging/p/"))
	})

	t.Run("clean siblings", func(t *testing.T) {
		dir := prefix + "s/"
		require.NoError(t, st.Put(ctx, dir+"_staging-aaa-out.csv", []byte("x")))
		require.NoError(t, st.Put(ctx, dir+"_staging-bbb-other.csv", []byte("x")))
		require.NoError(t, st.Put(ctx, dir+"sub/_staging-ccc-out.csv", []byte("x")))
		n, err := CleanSiblings(ctx, st, dir+"out.csv")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{dir + "_staging-bbb-other.csv", dir + "sub/_staging-ccc-out.csv"}, keys(t, st, dir))
	})
}

func TestPublishLocal(t *testing.T) {
	dir := t.TempDir()
	wh, err := storage.Open(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	contract(t, wh, wh, "")

	// Outside the warehouse, through OpenObject (the filesystem root).
	out := filepath.Join(t.TempDir(), "reports", "x.csv")
	st, key, err := storage.OpenObject(context.Background(), out, storage.Options{})
	require.NoError(t, err)
	_, err = File(context.Background(), st, key, srcFile(t, "hello"), Marker{}, Options{})
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	require.FileExists(t, filepath.Join(filepath.Dir(out), MarkerName))
}

func TestPublishMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	minio := harness.StartMinIO(t)
	ctx := context.Background()
	require.NoError(t, minio.CreateBucket(ctx, "lake"))
	require.NoError(t, minio.CreateBucket(ctx, "out"))
	t.Setenv("AWS_ACCESS_KEY_ID", harness.MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", harness.MinIOPassword)
	t.Setenv("AWS_REGION", harness.S3Region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	opts := storage.Options{S3Endpoint: minio.Endpoint()}
	wh, err := storage.Open(ctx, "s3://lake/wh", opts)
	require.NoError(t, err)
	// Outputs in another bucket, journal in the warehouse.
	st, _, err := storage.OpenObject(ctx, "s3://out/reports/x.csv", opts)
	require.NoError(t, err)
	contract(t, st, wh, "reports/")
}
