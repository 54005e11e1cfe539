package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

// TestMinIOOracle starts MinIO, writes a table into it through DuckDB's
// httpfs and reads it back through an oracle over s3://.
func TestMinIOOracle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := StartMinIO(t)
	require.NoError(t, m.CreateBucket(ctx, "harness"))

	wh := "s3://harness/wh"
	writer := NewOracle(t, OracleOptions{Warehouse: wh, MinIO: m, Tables: []string{}})
	require.NoError(t, writer.Exec(ctx, "COPY (SELECT i AS id FROM range(5) t(i)) TO '"+wh+"/s/nums/part-0.parquet' (FORMAT parquet)"))

	out, err := m.Client().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("harness")})
	require.NoError(t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	require.Equal(t, []string{"wh/s/nums/part-0.parquet"}, keys)

	o := NewOracle(t, OracleOptions{Warehouse: wh, MinIO: m})
	res, err := o.Query(ctx, "SELECT sum(id) AS s FROM s.nums")
	require.NoError(t, err)
	defer res.Release()
	require.Equal(t, [][]string{{"10"}}, ArrowRows(res).Rows)
	require.True(t, strings.HasPrefix(m.Env()[0], "AWS_ACCESS_KEY_ID="))
}
