package lakehouse

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReaderURI(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      string
	}{
		{in: "s3://bucket/wh/lake/t/data/f.parquet", want: "s3://bucket/wh/lake/t/data/f.parquet"},
		{in: "s3a://bucket/f.parquet", want: "s3://bucket/f.parquet"},
		{in: "S3N://bucket/f.parquet", want: "s3://bucket/f.parquet"},
		{in: "file:///tmp/wh/f.parquet", want: "/tmp/wh/f.parquet"},
		{in: "file:/tmp/wh/f.parquet", want: "/tmp/wh/f.parquet"},
		{in: "file://localhost/tmp/f.parquet", want: "/tmp/f.parquet"},
		{in: "/tmp/wh/f.parquet", want: "/tmp/wh/f.parquet"},
		{in: "file://otherhost/tmp/f.parquet", err: `names host "otherhost"`},
		{in: "file:relative/f.parquet", err: "not an absolute path"},
		{in: "gs://bucket/f.parquet", err: "the gs:// scheme"},
		{in: "s3:bucket/f.parquet", err: "has no bucket"},
		{in: "relative/f.parquet", err: "neither a URI nor an absolute path"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := readerURI(tc.in)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrUnsupported)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestWarehouseLocation(t *testing.T) {
	for in, want := range map[string]string{
		"s3://iceberg/":       "s3://iceberg",
		"s3a://iceberg/wh/":   "s3://iceberg/wh",
		"file:///tmp/wh/":     "/tmp/wh",
		"/tmp/wh/./lake/../":  "/tmp/wh",
		"file:/tmp/warehouse": "/tmp/warehouse",
	} {
		got, err := warehouseLocation(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}
