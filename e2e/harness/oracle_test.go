package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

// TestOracleLocal writes a tiny Hive-partitioned table with DuckDB and reads
// it back through the oracle's discovered views.
func TestOracleLocal(t *testing.T) {
	ctx := context.Background()
	wh := t.TempDir()
	writer := NewOracle(t, OracleOptions{Warehouse: wh, Tables: []string{}})
	require.NoError(t, os.MkdirAll(filepath.Join(wh, "s", "one"), 0o755))
	require.NoError(t, writer.Exec(ctx, "COPY (SELECT i AS id, DATE '2025-01-01' + (i % 2)::INTEGER AS day FROM range(10) t(i)) TO "+
		sqlString(filepath.Join(wh, "s", "events"))+" (FORMAT parquet, PARTITION_BY (day))"))
	require.NoError(t, writer.Exec(ctx, "COPY (SELECT 1 AS x) TO "+sqlString(filepath.Join(wh, "s", "one", "one.parquet"))+" (FORMAT parquet)"))
	require.NoError(t, os.WriteFile(filepath.Join(wh, "s", "one", "README.txt"), []byte("ignored"), 0o644))

	o := NewOracle(t, OracleOptions{Warehouse: wh})
	res, err := o.Query(ctx, "SELECT day, count(*) AS n, sum(id) AS s FROM quiver.s.events GROUP BY day ORDER BY day")
	require.NoError(t, err)
	defer res.Release()
	require.Equal(t, []string{"day", "n", "s"}, fieldNames(res.Schema))
	require.True(t, arrow.TypeEqual(arrow.FixedWidthTypes.Date32, res.Schema.Field(0).Type), "day is %s", res.Schema.Field(0).Type)
	require.Equal(t, [][]string{{"2025-01-01", "5", "20"}, {"2025-01-02", "5", "25"}}, ArrowRows(res).Rows)

	one, err := o.Query(ctx, "SELECT * FROM s.one")
	require.NoError(t, err)
	defer one.Release()
	require.Equal(t, int64(1), one.NumRows())
	Compare(t, "self", one, one, true)
}
