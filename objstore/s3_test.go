package objstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

func TestS3PathStyle(t *testing.T) {
	harness.IsolateAWS(t)
	yes, no := true, false
	tests := []struct {
		name      string
		endpoint  bool
		pathStyle *bool
		want      bool
	}{
		{name: "custom endpoint defaults to path style", endpoint: true, want: true},
		{name: "custom endpoint forced virtual host", endpoint: true, pathStyle: &no, want: false},
		{name: "aws defaults to virtual host", want: false},
		{name: "aws forced path style", pathStyle: &yes, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := S3Options{Bucket: "lake", PathStyle: tc.pathStyle, Region: "eu-west-1"}
			if tc.endpoint {
				opts.Endpoint = "http://127.0.0.1:9000"
			}
			b, err := NewS3(context.Background(), opts)
			require.NoError(t, err)
			require.Equal(t, tc.want, b.client.Options().UsePathStyle)
			require.Equal(t, "eu-west-1", b.client.Options().Region)
			if !tc.endpoint {
				require.Equal(t, "s3.eu-west-1.amazonaws.com", b.endpoint)
			}
		})
	}
	b, err := NewS3(context.Background(), S3Options{Bucket: "lake"})
	require.NoError(t, err)
	require.Equal(t, defaultS3Region, b.client.Options().Region)
}

// TestS3MinIOPartsAndBatches checks what the write contract in package
// storage does not reach with small objects: big files go up in parts with
// the condition on the completion, a multipart copy publishes them, and
// DeletePrefix deletes every batch.
func TestS3MinIOPartsAndBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	minio := harness.StartMinIOBucket(t, "lake")
	ctx := context.Background()
	b, err := NewS3(ctx, S3Options{Bucket: "lake", Prefix: "wh", Endpoint: minio.Endpoint()})
	require.NoError(t, err)

	// Big files go up in parts; the condition holds on the completion.
	b.partThreshold = 1 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	big := bytes.Repeat([]byte("quiver!!"), (s3PartSize+(3<<20))/8) // two parts
	require.NoError(t, os.WriteFile(src, big, 0o600))
	require.NoError(t, b.PutFile(ctx, "mp/big.bin", src, true))
	require.ErrorIs(t, b.PutFile(ctx, "mp/big.bin", src, true), ErrExists)
	got, err := b.Get(ctx, "mp/big.bin")
	require.NoError(t, err)
	require.Equal(t, big, got)
	obj, err := b.Stat(ctx, "mp/big.bin")
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(obj.ETag, "-2"), "a two-part upload, got ETag %s", obj.ETag)
	// And a multipart copy publishes it elsewhere.
	require.NoError(t, b.Move(ctx, "mp/big.bin", "mp/published.bin", true))
	got, err = b.Get(ctx, "mp/published.bin")
	require.NoError(t, err)
	require.Equal(t, big, got)

	// Deletes go in batches; every batch is deleted.
	b.delBatch = 2
	for i := range 5 {
		require.NoError(t, PutBytes(ctx, b, fmt.Sprintf("batch/q/%d", i), []byte("x"), false))
	}
	require.NoError(t, b.DeletePrefix(ctx, "batch/"))
	left, err := b.List(ctx, "batch/")
	require.NoError(t, err)
	require.Empty(t, left)
}
