package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/stretchr/testify/require"
)

func TestFooterStats(t *testing.T) {
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	decType := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: tsType},
		{Name: "dec", Type: decType},
		{Name: "list", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	}, nil)
	rows := `[
		{"i64": 5, "i32": null, "i8": -3, "u32": 4000000000, "f64": 1.5, "b": true, "s": "m", "d": "2025-01-02", "ts": "2025-01-01T00:00:00Z", "dec": "-1.25", "list": [1]},
		{"i64": -7, "i32": 2, "i8": 9, "u32": 1, "f64": -2.5, "b": true, "s": "a", "d": "2025-01-01", "ts": "2025-01-01T00:00:01Z", "dec": "10.50", "list": null},
		{"i64": 100, "i32": 3, "i8": 0, "u32": 7, "f64": 0, "b": false, "s": null, "d": "2025-03-01", "ts": "2025-02-01T00:00:00Z", "dec": "0.01", "list": []}
	]`
	pq := parquetBytes(t, sc, rows, 2) // row groups of 2 and 1 rows
	b := newMemBackend()
	b.put("demo/t/a.parquet", pq, "e1")
	w := memWarehouse(b, Options{})
	tbl, err := w.Table(context.Background(), TableName{"demo", "t"})
	require.NoError(t, err)
	ft, err := w.Footer(context.Background(), tbl.Files[0])
	require.NoError(t, err)

	require.Equal(t, int64(3), ft.Rows)
	require.Equal(t, sc.NumFields(), ft.Schema.NumFields())
	require.Len(t, ft.RowGroups, 2)
	require.Equal(t, int64(2), ft.RowGroups[0].Rows)
	require.Equal(t, int64(1), ft.RowGroups[1].Rows)

	ts := func(s string) arrow.Timestamp {
		v, err := arrow.TimestampFromString(s, arrow.Microsecond)
		require.NoError(t, err)
		return v
	}
	date := func(s string) arrow.Date32 {
		return arrow.Date32FromTime(mustParseDate(t, s))
	}
	want := []ColumnStats{
		{HasMinMax: true, Min: int64(-7), Max: int64(5), HasNullCount: true},
		{HasMinMax: true, Min: int32(2), Max: int32(2), HasNullCount: true, NullCount: 1},
		{HasMinMax: true, Min: int8(-3), Max: int8(9), HasNullCount: true},
		{HasMinMax: true, Min: uint32(1), Max: uint32(4000000000), HasNullCount: true},
		{HasMinMax: true, Min: -2.5, Max: 1.5, HasNullCount: true},
		{HasMinMax: true, Min: true, Max: true, HasNullCount: true},
		{HasMinMax: true, Min: "a", Max: "m", HasNullCount: true},
		{HasMinMax: true, Min: date("2025-01-01"), Max: date("2025-01-02"), HasNullCount: true},
		{HasMinMax: true, Min: ts("2025-01-01T00:00:00"), Max: ts("2025-01-01T00:00:01"), HasNullCount: true},
		{HasMinMax: true, Min: decimal128.FromI64(-125), Max: decimal128.FromI64(1050), HasNullCount: true},
		{}, // nested: no statistics
	}
	for i, w := range want {
		require.Equal(t, w, ft.RowGroups[0].Columns[i], "column %s", sc.Field(i).Name)
	}
	require.Equal(t, ColumnStats{HasMinMax: false, HasNullCount: true, NullCount: 1}, ft.RowGroups[1].Columns[6], "all-null string chunk")
	require.Equal(t, ColumnStats{HasMinMax: true, Min: decimal128.FromI64(1), Max: decimal128.FromI64(1), HasNullCount: true}, ft.RowGroups[1].Columns[9])
}

func TestReadFooterCorrupt(t *testing.T) {
	pq := parquetBytes(t, playsSchema, playsRows, 10)
	flen := func(data []byte, n uint32) []byte {
		out := append([]byte{}, data...)
		binary.LittleEndian.PutUint32(out[len(out)-8:], n)
		return out
	}
	garbled := append([]byte{}, pq...)
	for i := len(garbled) - 8 - 40; i < len(garbled)-8; i++ {
		garbled[i] = 0xff
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{name: "empty", data: nil, msg: "too short"},
		{name: "tiny", data: []byte("PAR1PAR1"), msg: "too short"},
		{name: "text", data: []byte("col_a,col_b\n1,2\n3,4\n"), msg: "no parquet magic at the end"},
		{name: "truncated", data: pq[:len(pq)-10], msg: "no parquet magic"},
		{name: "bad head", data: append([]byte("XXXX"), pq[4:]...), msg: "no parquet magic at the start"},
		{name: "encrypted", data: append(append([]byte{}, pq[:len(pq)-4]...), "PARE"...), msg: "encrypted"},
		{name: "footer too long", data: flen(pq, uint32(len(pq))), msg: "does not fit"},
		{name: "footer length zero", data: flen(pq, 0), msg: "does not fit"},
		{name: "garbled footer", data: garbled, msg: "demo/t/bad.parquet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newMemBackend()
			b.put("demo/t/bad.parquet", tc.data, "e")
			_, _, err := readFooter(context.Background(), b, Object{Key: "demo/t/bad.parquet", Size: int64(len(tc.data)), ETag: "e"})
			require.ErrorIs(t, err, ErrCorruptFile)
			require.ErrorContains(t, err, "demo/t/bad.parquet")
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestReadFooterRequests(t *testing.T) {
	// A file whose footer is bigger than the first 64 KiB read needs
	// exactly one more request; a small one needs none.
	var fields []arrow.Field
	var row []string
	for i := range 1500 {
		name := fmt.Sprintf("a_rather_long_column_name_to_grow_the_footer_%04d", i)
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64})
		row = append(row, fmt.Sprintf("%q: %d", name, i))
	}
	wide := parquetBytes(t, arrow.NewSchema(fields, nil), "[{"+strings.Join(row, ",")+"}]", 10)
	footerLen := binary.LittleEndian.Uint32(wide[len(wide)-8:])
	require.Greater(t, int(footerLen), footerTail, "test file's footer must exceed the first read")
	small := parquetBytes(t, playsSchema, playsRows, 10)

	tests := []struct {
		name      string
		data      []byte
		wantReads int64
		wantCols  int
	}{
		{name: "small", data: small, wantReads: 1, wantCols: 2},
		{name: "wide", data: wide, wantReads: 2, wantCols: 1500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newMemBackend()
			b.put("k", tc.data, "e")
			ft, read, err := readFooter(context.Background(), b, Object{Key: "k", Size: int64(len(tc.data)), ETag: "e"})
			require.NoError(t, err)
			require.Equal(t, tc.wantReads, b.reads.Load())
			require.Equal(t, tc.wantCols, ft.Schema.NumFields())
			require.LessOrEqual(t, read, int64(len(tc.data)))
		})
	}
}
