package storage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLocation(t *testing.T) {
	cwd, err := os.Getwd()
	require.NoError(t, err)
	tests := []struct {
		name    string
		uri     string
		want    Location
		str     string
		keyURI  string
		wantErr string
	}{
		{name: "s3 with prefix", uri: "s3://bucket/some/prefix/", want: Location{Scheme: "s3", Bucket: "bucket", Prefix: "some/prefix"},
			str: "s3://bucket/some/prefix", keyURI: "s3://bucket/some/prefix/demo/t/a.parquet"},
		{name: "s3 bucket only", uri: "s3://bucket", want: Location{Scheme: "s3", Bucket: "bucket"},
			str: "s3://bucket", keyURI: "s3://bucket/demo/t/a.parquet"},
		{name: "s3 bucket slash", uri: "s3://bucket/", want: Location{Scheme: "s3", Bucket: "bucket"},
			str: "s3://bucket", keyURI: "s3://bucket/demo/t/a.parquet"},
		{name: "absolute dir", uri: "/data/wh/", want: Location{Scheme: "file", Dir: "/data/wh"},
			str: "/data/wh", keyURI: "/data/wh/demo/t/a.parquet"},
		{name: "relative dir", uri: "./wh", want: Location{Scheme: "file", Dir: filepath.Join(cwd, "wh")},
			str: filepath.Join(cwd, "wh"), keyURI: filepath.Join(cwd, "wh", "demo", "t", "a.parquet")},
		{name: "file uri", uri: "file:///data/wh", want: Location{Scheme: "file", Dir: "/data/wh"},
			str: "/data/wh", keyURI: "/data/wh/demo/t/a.parquet"},
		{name: "file uri localhost", uri: "file://localhost/data/wh", want: Location{Scheme: "file", Dir: "/data/wh"},
			str: "/data/wh", keyURI: "/data/wh/demo/t/a.parquet"},
		{name: "empty", uri: " ", wantErr: "empty"},
		{name: "s3 without bucket", uri: "s3:///x", wantErr: "no bucket"},
		{name: "file uri with host", uri: "file://host/x", wantErr: "cannot name a host"},
		{name: "other scheme", uri: "gs://bucket/x", wantErr: `unsupported scheme "gs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLocation(tc.uri)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.str, got.String())
			require.Equal(t, tc.keyURI, got.uri("demo/t/a.parquet"))
		})
	}
}
