package querycli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/publish"
	"github.com/quiver-data/quiver/storage"
)

func TestRunPublishLocal(t *testing.T) {
	addr, _, _ := startCluster(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "daily", "date=2025-01-01", "result.csv")
	uri := "file://" + out
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	res, err := RunPublish(t.Context(), Options{Conn: client.Options{Server: addr, Allocator: mem}, SQL: "SELECT ok"}, PublishOptions{URI: uri})
	require.NoError(t, err)
	require.Equal(t, int64(5), res.Rows)
	require.Equal(t, out, res.URI)
	const allRows = "id,name\n1,one\n2,\n3,three\n4,四\n5,five\n"
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, allRows, string(got), "the format comes from the extension")
	var m publish.Marker
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(out), "_SUCCESS"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Equal(t, int64(5), m.Rows)
	require.Equal(t, int64(len(allRows)), m.Bytes)
	require.Equal(t, "csv", m.Format)

	// A second publish to the same URI is refused and changes nothing.
	_, err = RunPublish(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT empty"}, PublishOptions{URI: uri})
	require.ErrorIs(t, err, publish.ErrOutputExists)
	require.ErrorIs(t, err, storage.ErrExists)
	got, err = os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, allRows, string(got))
	// Unless told to replace.
	_, err = RunPublish(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT empty", Format: output.FormatCSV}, PublishOptions{URI: uri, Replace: true})
	require.NoError(t, err)
	got, err = os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "id,name\n", string(got), "an empty result: the header only")
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	require.Len(t, entries, 2, "result and _SUCCESS only: no staging left")
}

func TestRunPublishFailureLeavesNothing(t *testing.T) {
	addr, _, _ := startCluster(t)
	out := filepath.Join(t.TempDir(), "x", "result.parquet")
	_, err := RunPublish(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT fails midway"}, PublishOptions{URI: "file://" + out})
	require.Equal(t, codes.Internal, status.Code(err), "%v", err)
	require.NoDirExists(t, filepath.Dir(out), "nothing written, not even staging")

	for name, p := range map[string]PublishOptions{
		"plain path":       {URI: out},
		"no extension":     {URI: "file://" + filepath.Join(t.TempDir(), "result")},
		"directory":        {URI: "s3://bucket/dir/"},
		"unsupported kind": {URI: "gs://bucket/x.csv"},
	} {
		_, err := RunPublish(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT ok"}, p)
		require.Error(t, err, name)
	}
	_, err = RunPublish(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT ok", Format: output.FormatTable + "x"}, PublishOptions{URI: "file://" + out})
	require.ErrorIs(t, err, output.ErrUnknownFormat)
}

// TestRunPublishChecksTheFormatFirst: a --format that contradicts the
// object's extension, or a table, is refused before the store is opened
// or the query runs (so the s3:// cases need no S3).
func TestRunPublishChecksTheFormatFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x", "result.parquet")
	tests := []struct {
		name, uri, format string
		err               error
	}{
		{"file:// contradicts", "file://" + out, output.FormatCSV, ErrFormatConflict},
		{"s3:// contradicts", "s3://bucket/x/result.parquet", output.FormatJSON, ErrFormatConflict},
		{"s3:// table", "s3://bucket/x/result.txt", output.FormatTable, output.ErrUnknownFormat},
		{"s3:// no extension", "s3://bucket/x/result", "", output.ErrUnknownFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RunPublish(t.Context(), Options{Conn: client.Options{Server: "127.0.0.1:1"}, SQL: "SELECT ok", Format: tc.format}, PublishOptions{URI: tc.uri})
			require.ErrorIs(t, err, tc.err)
		})
	}
	require.NoDirExists(t, filepath.Dir(out))
}
