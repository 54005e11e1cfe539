package lakehouse

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/iceberg-go"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestDecodeBound(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond}
	for _, tc := range []struct {
		name string
		typ  arrow.DataType
		in   []byte
		want any
	}{
		{"bool", arrow.FixedWidthTypes.Boolean, []byte{1}, true},
		{"bool garbage", arrow.FixedWidthTypes.Boolean, []byte{2}, nil},
		{"int", arrow.PrimitiveTypes.Int32, le32(math.MaxUint32), int32(-1)},
		{"int from a long", arrow.PrimitiveTypes.Int32, le64(1), nil},
		{"long", arrow.PrimitiveTypes.Int64, le64(1 << 40), int64(1 << 40)},
		{"long widened from int", arrow.PrimitiveTypes.Int64, le32(math.MaxUint32), int64(-1)},
		{"long of 3 bytes", arrow.PrimitiveTypes.Int64, []byte{1, 2, 3}, nil},
		{"float", arrow.PrimitiveTypes.Float32, le32(math.Float32bits(1.5)), float32(1.5)},
		{"float NaN", arrow.PrimitiveTypes.Float32, le32(math.Float32bits(float32(math.NaN()))), nil},
		{"double", arrow.PrimitiveTypes.Float64, le64(math.Float64bits(-2.25)), -2.25},
		{"double widened from float", arrow.PrimitiveTypes.Float64, le32(math.Float32bits(0.1)), float64(float32(0.1))},
		{"double NaN", arrow.PrimitiveTypes.Float64, le64(math.Float64bits(math.NaN())), nil},
		{"date", arrow.FixedWidthTypes.Date32, le32(19723), arrow.Date32(19723)},
		{"time", arrow.FixedWidthTypes.Time64us, le64(3_600_000_000), arrow.Time64(3_600_000_000)},
		{"timestamp", ts, le64(1_706_287_200_000_000), arrow.Timestamp(1_706_287_200_000_000)},
		{"timestamp widened from date", ts, le32(19723), nil},
		{"timestamptz", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, le64(7), arrow.Timestamp(7)},
		{"string", arrow.BinaryTypes.String, []byte("name-00"), "name-00"},
		{"string not UTF-8", arrow.BinaryTypes.String, []byte{0xff}, nil},
		{"binary", arrow.BinaryTypes.Binary, []byte{0, 1}, []byte{0, 1}},
		{"decimal", &arrow.Decimal128Type{Precision: 10, Scale: 2}, []byte{0x06, 0x3a}, decimal128.FromI64(1594)},
		{"negative decimal", &arrow.Decimal128Type{Precision: 10, Scale: 2}, []byte{0xff, 0x38}, decimal128.FromI64(-200)},
		{"decimal of 17 bytes", &arrow.Decimal128Type{Precision: 38, Scale: 0}, make([]byte, 17), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, decodeBound(tc.in, tc.typ))
		})
	}
}

func TestColumnStats(t *testing.T) {
	build := func(nulls, nans map[int]int64, lo, hi map[int][]byte) iceberg.DataFile {
		b, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, iceberg.EntryContentData, "s3://b/f.parquet",
			iceberg.ParquetFile, nil, nil, nil, 10, 100)
		require.NoError(t, err)
		return b.NullValueCounts(nulls).NaNValueCounts(nans).LowerBoundValues(lo).UpperBoundValues(hi).Build()
	}
	one, two := le64(math.Float64bits(1)), le64(math.Float64bits(2))
	for _, tc := range []struct {
		name string
		df   iceberg.DataFile
		typ  arrow.DataType
		want storage.ColumnStats
	}{
		{"long", build(map[int]int64{1: 3}, nil, map[int][]byte{1: le64(5)}, map[int][]byte{1: le64(9)}), arrow.PrimitiveTypes.Int64,
			storage.ColumnStats{HasMinMax: true, Min: int64(5), Max: int64(9), HasNullCount: true, NullCount: 3}},
		{"no null count", build(nil, nil, map[int][]byte{1: le64(5)}, map[int][]byte{1: le64(9)}), arrow.PrimitiveTypes.Int64,
			storage.ColumnStats{HasMinMax: true, Min: int64(5), Max: int64(9)}},
		{"one bound only", build(map[int]int64{1: 0}, nil, map[int][]byte{1: le64(5)}, nil), arrow.PrimitiveTypes.Int64,
			storage.ColumnStats{HasNullCount: true}},
		{"another field's bounds", build(nil, nil, map[int][]byte{2: le64(5)}, map[int][]byte{2: le64(9)}), arrow.PrimitiveTypes.Int64,
			storage.ColumnStats{}},
		{"double without NaN", build(nil, map[int]int64{1: 0}, map[int][]byte{1: one}, map[int][]byte{1: two}), arrow.PrimitiveTypes.Float64,
			storage.ColumnStats{HasMinMax: true, Min: 1.0, Max: 2.0}},
		{"double with NaN", build(nil, map[int]int64{1: 2}, map[int][]byte{1: one}, map[int][]byte{1: two}), arrow.PrimitiveTypes.Float64,
			storage.ColumnStats{}},
		// Bounds leave NaN out: without a NaN count they bound nothing.
		{"double, NaN unknown", build(nil, nil, map[int][]byte{1: one}, map[int][]byte{1: two}), arrow.PrimitiveTypes.Float64,
			storage.ColumnStats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, columnStats(tc.df, 1, tc.typ))
		})
	}
}
