package storage

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

func TestTableLocalPartitioned(t *testing.T) {
	dir := t.TempDir()
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	for _, key := range []string{
		"demo/plays/day=2025-01-02/n=2/c=US/data_0.parquet",
		"demo/plays/day=2025-01-01/n=1/c=S%C3%A3o/data_0.parquet",
		"demo/plays/day=__HIVE_DEFAULT_PARTITION__/n=__HIVE_DEFAULT_PARTITION__/c=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
		"demo/plays/day=2025-01-01/n=1/c=S%C3%A3o/_SUCCESS",
		"demo/plays/day=2025-01-01/n=1/c=S%C3%A3o/.data_0.parquet.crc",
	} {
		writeFile(t, dir, key, pq)
	}
	w, err := Open(context.Background(), dir, Options{})
	require.NoError(t, err)
	tbl, err := w.Table(context.Background(), TableName{"demo", "plays"})
	require.NoError(t, err)

	require.Equal(t, TableName{"demo", "plays"}, tbl.Name)
	require.Equal(t, int64(9), tbl.Rows)
	keys := make([]string, len(tbl.Files))
	for i, f := range tbl.Files {
		keys[i] = f.Key
		require.Equal(t, filepath.Join(dir, filepath.FromSlash(f.Key)), f.URI)
		require.Equal(t, int64(3), f.Rows)
		require.Equal(t, int64(len(pq)), f.Size)
		require.NotEmpty(t, f.ETag)
	}
	require.Equal(t, []string{
		"demo/plays/day=2025-01-01/n=1/c=S%C3%A3o/data_0.parquet",
		"demo/plays/day=2025-01-02/n=2/c=US/data_0.parquet",
		"demo/plays/day=__HIVE_DEFAULT_PARTITION__/n=__HIVE_DEFAULT_PARTITION__/c=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
	}, keys)
	require.Equal(t, map[string]string{"day": "2025-01-01", "n": "1", "c": "São"}, tbl.Files[0].Partition)
	require.Equal(t, map[string]string{"day": HiveDefaultPartition, "n": HiveDefaultPartition, "c": HiveDefaultPartition}, tbl.Files[2].Partition)

	wantParts := []Column{
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "c", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	require.Equal(t, wantParts, tbl.Partitions)
	require.Equal(t, append([]Column{
		{Name: "play_id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
		{Name: "device", Type: arrow.BinaryTypes.String, Nullable: true},
	}, wantParts...), tbl.Columns)
}

func TestTableLocalUnpartitioned(t *testing.T) {
	dir := t.TempDir()
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	writeFile(t, dir, "demo/events/part-00001.parquet", pq)
	writeFile(t, dir, "demo/events/part-00000.parquet", pq)
	writeFile(t, dir, "demo/events/nested/deeper/part-00002.parquet", pq)
	w, err := Open(context.Background(), "file://"+dir, Options{})
	require.NoError(t, err)
	tbl, err := w.Table(context.Background(), TableName{"demo", "events"})
	require.NoError(t, err)
	require.Empty(t, tbl.Partitions)
	require.Len(t, tbl.Columns, 2)
	require.Equal(t, int64(9), tbl.Rows)
	require.Equal(t, "demo/events/nested/deeper/part-00002.parquet", tbl.Files[0].Key)
	require.Nil(t, tbl.Files[0].Partition)
}

func TestTableErrors(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	other := parquetBytes(t, arrow.NewSchema([]arrow.Field{
		{Name: "play_id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "device", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil), `[{"play_id": 1, "device": "tv"}]`, 10)
	extra := parquetBytes(t, arrow.NewSchema([]arrow.Field{
		{Name: "play_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "device", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil), `[{"play_id": 1, "device": "tv", "extra": 1}]`, 10)
	withDay := parquetBytes(t, arrow.NewSchema([]arrow.Field{
		{Name: "Day", Type: arrow.PrimitiveTypes.Int64},
	}, nil), `[{"Day": 1}]`, 10)

	tests := []struct {
		name    string
		files   map[string][]byte
		table   TableName
		is      error
		wantMsg []string
	}{
		{name: "missing table", table: TableName{"demo", "nope"}, is: ErrTableNotFound,
			wantMsg: []string{"demo.nope"}},
		{name: "only non-parquet files", files: map[string][]byte{"demo/csv/a.csv": []byte("x")},
			table: TableName{"demo", "csv"}, is: ErrTableNotFound, wantMsg: []string{"demo.csv"}},
		{name: "only hidden parquet", files: map[string][]byte{"demo/h/_tmp/a.parquet": pq, "demo/h/.a.parquet": pq},
			table: TableName{"demo", "h"}, is: ErrTableNotFound},
		{name: "path traversal", files: map[string][]byte{"demo/t/a.parquet": pq},
			table: TableName{"demo/t", ".."}, is: ErrTableNotFound},
		{name: "other catalog", files: map[string][]byte{"demo/t/a.parquet": pq},
			table: TableName{"other.demo", "t"}, is: ErrTableNotFound, wantMsg: []string{"other.demo.t"}},
		{name: "type mismatch", files: map[string][]byte{"demo/t/a.parquet": pq, "demo/t/b.parquet": other},
			table: TableName{"demo", "t"}, is: ErrSchemaMismatch,
			wantMsg: []string{"demo/t/a.parquet", "demo/t/b.parquet", "play_id int64", "play_id int32"}},
		{name: "extra column", files: map[string][]byte{"demo/t/a.parquet": pq, "demo/t/b.parquet": extra},
			table: TableName{"demo", "t"}, is: ErrSchemaMismatch,
			wantMsg: []string{"demo/t/a.parquet", "demo/t/b.parquet", "extra"}},
		{name: "partition keys differ", files: map[string][]byte{"demo/t/a=1/x.parquet": pq, "demo/t/a=1/b=2/x.parquet": pq},
			table: TableName{"demo", "t"}, is: ErrSchemaMismatch,
			wantMsg: []string{"demo/t/a=1/b=2/x.parquet", "demo/t/a=1/x.parquet", "[a, b]", "[a]"}},
		{name: "partition order differs", files: map[string][]byte{"demo/t/a=1/b=1/x.parquet": pq, "demo/t/b=2/a=2/x.parquet": pq},
			table: TableName{"demo", "t"}, is: ErrSchemaMismatch, wantMsg: []string{"[a, b]", "[b, a]"}},
		{name: "partition and no partition", files: map[string][]byte{"demo/t/x.parquet": pq, "demo/t/a=1/x.parquet": pq},
			table: TableName{"demo", "t"}, is: ErrSchemaMismatch},
		{name: "partition key is a column", files: map[string][]byte{"demo/t/day=1/x.parquet": withDay},
			table: TableName{"demo", "t"}, is: ErrSchemaMismatch, wantMsg: []string{`"day"`}},
		{name: "corrupt file", files: map[string][]byte{"demo/t/a.parquet": pq, "demo/t/b.parquet": []byte("this is not parquet at all")},
			table: TableName{"demo", "t"}, is: ErrCorruptFile, wantMsg: []string{"demo/t/b.parquet", "demo.t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for k, data := range tc.files {
				writeFile(t, dir, k, data)
			}
			w, err := Open(context.Background(), dir, Options{})
			require.NoError(t, err)
			_, err = w.Table(context.Background(), tc.table)
			require.Error(t, err)
			require.True(t, errors.Is(err, tc.is), "want %v, got %v", tc.is, err)
			for _, m := range tc.wantMsg {
				require.ErrorContains(t, err, m)
			}
		})
	}
}

func TestTableCaseInsensitiveFallback(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	b := newMemBackend()
	b.put("Sales/Orders/a.parquet", pq, "e1")
	b.put("x/dup/a.parquet", pq, "e1")
	b.put("x/DUP/a.parquet", pq, "e1")
	w := memWarehouse(b, Options{})

	tbl, err := w.Table(context.Background(), TableName{"sales", "orders"})
	require.NoError(t, err)
	require.Equal(t, TableName{"Sales", "Orders"}, tbl.Name)
	require.Equal(t, "s3://bucket/wh/Sales/Orders/a.parquet", tbl.Files[0].URI)

	// An exact match wins over folding; an ambiguous fold is not found.
	tbl, err = w.Table(context.Background(), TableName{"x", "DUP"})
	require.NoError(t, err)
	require.Equal(t, TableName{"x", "DUP"}, tbl.Name)
	_, err = w.Table(context.Background(), TableName{"x", "Dup"})
	require.ErrorIs(t, err, ErrTableNotFound)
}

// TestFileMayHold checks the bucket hash against the Iceberg spec's
// examples (bucket transform, appendix B): int and long 34 hash to
// 2017239379, the string "iceberg" to 1210000089.
func TestFileMayHold(t *testing.T) {
	at := func(v int32) File { return File{Buckets: []Bucket{{Column: 1, Count: math.MaxInt32, Value: v}}} }
	require.True(t, at(2017239379).MayHold(1, int64(34)))
	require.False(t, at(2017239378).MayHold(1, int64(34)))
	require.True(t, at(1210000089).MayHold(1, "iceberg"))
	require.False(t, at(1210000089).MayHold(1, "iceberG"))
	require.True(t, at(0).MayHold(0, int64(34)), "another column")
	require.True(t, at(0).MayHold(1, 3.5), "a value it cannot hash")
	require.True(t, File{}.MayHold(1, int64(34)))
}
