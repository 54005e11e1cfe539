package engine

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// copyFiles runs a CopyPartitioned statement the way a worker does
// (QueryArrow, a streaming result) and reads its result.
func copyFiles(t *testing.T, db *DB, stmt string) ([]CopiedFile, error) {
	t.Helper()
	rdr, err := db.QueryArrow(context.Background(), stmt)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	return CopiedFiles(rdr)
}

func TestCopyPartitioned(t *testing.T) {
	ctx := context.Background()
	wh := t.TempDir()
	spool := filepath.Join(wh, "_spool", "q1")
	require.NoError(t, os.MkdirAll(spool, 0o755))
	db, err := Open(ctx, Options{Threads: 2, Sandbox: &Sandbox{AllowedDirectories: []string{wh}}})
	require.NoError(t, err)
	defer db.Close()

	// Parts 0, 1 and 3 get rows; part 2 gets none.
	query := "SELECT i AS k, 'v' || i AS v, CASE WHEN i % 3 = 2 THEN 3 ELSE i % 3 END AS quiver_part FROM range(0, 10000) t(i)"
	target := filepath.Join(spool, "x0-f0-a1")
	files, err := copyFiles(t, db, CopyPartitioned(query, target, "quiver_part", ParquetUncompressed))
	require.NoError(t, err)

	rows := map[string]int64{}
	var total int64
	for _, f := range files {
		require.True(t, strings.HasPrefix(f.URI, target+"/quiver_part="+f.Partition["quiver_part"]+"/"), f.URI)
		require.Positive(t, f.Bytes)
		info, err := os.Stat(f.URI)
		require.NoError(t, err)
		require.Equal(t, info.Size(), f.Bytes)
		rows[f.Partition["quiver_part"]] += f.Rows
		total += f.Rows
	}
	require.Equal(t, map[string]int64{"0": 3334, "1": 3333, "3": 3333}, rows)
	require.EqualValues(t, 10000, total)
	_, err = os.Stat(filepath.Join(target, "quiver_part=2"))
	require.ErrorIs(t, err, os.ErrNotExist, "a part without rows has no directory")

	// The files hold the other columns, not the partition column, and
	// every row of part 1 is a row with i % 3 = 1.
	var uris []string
	for _, f := range files {
		if f.Partition["quiver_part"] == "1" {
			uris = append(uris, QuoteString(f.URI))
		}
	}
	var cols string
	var n, wrong int64
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM (DESCRIBE SELECT * FROM read_parquet(["+
		strings.Join(uris, ", ")+"], hive_partitioning = false))").Scan(&cols))
	require.Equal(t, "k,v", cols)
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE k % 3 <> 1) FROM read_parquet(["+
		strings.Join(uris, ", ")+"], hive_partitioning = false)").Scan(&n, &wrong))
	require.EqualValues(t, 3333, n)
	require.Zero(t, wrong)

	t.Run("a second run at the same target replaces the first", func(t *testing.T) {
		again, err := copyFiles(t, db, CopyPartitioned(query, target, "quiver_part", ParquetSnappy))
		require.NoError(t, err)
		require.ElementsMatch(t, uriList(files), uriList(again))
		var n int64
		require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+QuoteString(target+"/*/*.parquet")+")").Scan(&n))
		require.EqualValues(t, 10000, n, "no file of the first run is left")
	})
	t.Run("no rows writes no file", func(t *testing.T) {
		files, err := copyFiles(t, db, CopyPartitioned(query+" WHERE false", filepath.Join(spool, "empty"), "quiver_part", ParquetUncompressed))
		require.NoError(t, err)
		require.Empty(t, files)
	})
	t.Run("parameters of the query are bound", func(t *testing.T) {
		rdr, err := db.QueryArrow(ctx, CopyPartitioned("SELECT i AS k, i % 2 AS quiver_part FROM range(0, 100) t(i) WHERE i >= ? AND i < ?",
			filepath.Join(spool, "params"), "quiver_part", ParquetUncompressed), int64(10), int64(15))
		require.NoError(t, err)
		defer rdr.Release()
		files, err := CopiedFiles(rdr)
		require.NoError(t, err)
		rows := map[string]int64{}
		for _, f := range files {
			rows[f.Partition["quiver_part"]] += f.Rows
		}
		require.Equal(t, map[string]int64{"0": 3, "1": 2}, rows)
	})
	t.Run("the parent must exist", func(t *testing.T) {
		_, err := copyFiles(t, db, CopyPartitioned(query, filepath.Join(wh, "_spool", "nope", "x"), "quiver_part", ParquetUncompressed))
		require.ErrorContains(t, err, "nope")
	})
	t.Run("the sandbox holds", func(t *testing.T) {
		_, err := copyFiles(t, db, CopyPartitioned(query, filepath.Join(t.TempDir(), "out"), "quiver_part", ParquetUncompressed))
		require.ErrorContains(t, err, "Permission Error")
	})
	t.Run("a result that is not a copy's", func(t *testing.T) {
		_, err := copyFiles(t, db, "SELECT 'f' AS filename")
		require.ErrorContains(t, err, "no column count")
	})
}

func uriList(files []CopiedFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.URI)
	}
	sort.Strings(out)
	return out
}
