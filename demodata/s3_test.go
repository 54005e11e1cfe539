package demodata

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/stretchr/testify/require"
)

// TestGenerateToS3 writes the demo data into a real MinIO through httpfs,
// the way `quiver demo-data --warehouse s3://...` does, and checks the
// object layout and that a rerun (overwrite) works.
func TestGenerateToS3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	extDir := harness.ExtensionDir(t)
	minio := harness.StartMinIO(t)
	ctx := t.Context()
	require.NoError(t, minio.CreateBucket(ctx, "lake"))

	db := openDB(t)
	db.SetMaxOpenConns(1) // the secret and the loaded extension live on one connection
	for _, stmt := range []string{
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"LOAD " + sqlString(harness.HTTPFSPath(extDir)),
		fmt.Sprintf("CREATE SECRET demo_s3 (TYPE s3, KEY_ID %s, SECRET %s, ENDPOINT %s, URL_STYLE 'path', USE_SSL false, REGION %s)",
			sqlString(harness.MinIOUser), sqlString(harness.MinIOPassword), sqlString(minio.HostPort()), sqlString(harness.S3Region)),
	} {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}

	const root = "s3://lake/warehouse/"
	for range 2 {
		stats, err := Generate(ctx, db, Options{Warehouse: root, Scale: testScale})
		require.NoError(t, err)
		require.Equal(t, int64(10000), stats.Tables["demo.plays"])
	}

	keys := listKeys(ctx, t, minio.Client(), "lake", "warehouse/")
	require.Len(t, keys, 36)
	require.Contains(t, keys, "warehouse/demo/titles/titles.parquet")
	require.Contains(t, keys, "warehouse/demo/plays/day=2025-01-30/data_0.parquet")
	require.Contains(t, keys, "warehouse/demo/events/part-00003.parquet")

	var n int64
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT count(*) FROM read_parquet('s3://lake/warehouse/demo/plays/**/*.parquet', hive_partitioning = true) WHERE day = DATE '2025-01-30'").Scan(&n))
	require.Positive(t, n)
}

func listKeys(ctx context.Context, t *testing.T, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}
