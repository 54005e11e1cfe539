package storage

import (
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// chunkStats converts a column chunk's Parquet statistics to Go values of
// the column's Arrow type. Anything it cannot convert faithfully is left
// without min/max (never a wrong bound).
func chunkStats(chunk *metadata.ColumnChunkMetaData, typ arrow.DataType) ColumnStats {
	st, err := chunk.Statistics()
	if err != nil || st == nil {
		return ColumnStats{}
	}
	var cs ColumnStats
	if st.HasNullCount() {
		cs.HasNullCount, cs.NullCount = true, st.NullCount()
	}
	if st.HasMinMax() {
		if lo, hi, ok := minMax(st, typ); ok {
			cs.HasMinMax, cs.Min, cs.Max = true, lo, hi
		}
	}
	return cs
}

func minMax(st metadata.TypedStatistics, typ arrow.DataType) (lo, hi any, ok bool) {
	switch s := st.(type) {
	case *metadata.BooleanStatistics:
		if typ.ID() == arrow.BOOL {
			return s.Min(), s.Max(), true
		}
	case *metadata.Int32Statistics:
		lo, hi = int32Value(s.Min(), typ), int32Value(s.Max(), typ)
	case *metadata.Int64Statistics:
		lo, hi = int64Value(s.Min(), typ), int64Value(s.Max(), typ)
	case *metadata.Float32Statistics:
		if typ.ID() == arrow.FLOAT32 && !math.IsNaN(float64(s.Min())) && !math.IsNaN(float64(s.Max())) {
			return s.Min(), s.Max(), true
		}
	case *metadata.Float64Statistics:
		if typ.ID() == arrow.FLOAT64 && !math.IsNaN(s.Min()) && !math.IsNaN(s.Max()) {
			return s.Min(), s.Max(), true
		}
	case *metadata.ByteArrayStatistics:
		lo, hi = bytesValue(s.Min(), typ), bytesValue(s.Max(), typ)
	case *metadata.FixedLenByteArrayStatistics:
		lo, hi = bytesValue(s.Min(), typ), bytesValue(s.Max(), typ)
	}
	if lo == nil || hi == nil {
		return nil, nil, false
	}
	return lo, hi, true
}

// int32Value is an INT32 physical value as its Arrow type's Go value;
// unsigned types are stored as the same bits.
func int32Value(v int32, typ arrow.DataType) any {
	switch typ.(type) {
	case *arrow.Int8Type:
		return int8(v)
	case *arrow.Int16Type:
		return int16(v)
	case *arrow.Int32Type:
		return v
	case *arrow.Uint8Type:
		return uint8(v)
	case *arrow.Uint16Type:
		return uint16(v)
	case *arrow.Uint32Type:
		return uint32(v)
	case *arrow.Date32Type:
		return arrow.Date32(v)
	case *arrow.Time32Type:
		return arrow.Time32(v)
	case *arrow.Decimal128Type:
		return decimal128.FromI64(int64(v))
	}
	return nil
}

func int64Value(v int64, typ arrow.DataType) any {
	switch typ.(type) {
	case *arrow.Int64Type:
		return v
	case *arrow.Uint64Type:
		return uint64(v)
	case *arrow.TimestampType:
		return arrow.Timestamp(v)
	case *arrow.Time64Type:
		return arrow.Time64(v)
	case *arrow.Decimal128Type:
		return decimal128.FromI64(v)
	}
	return nil
}

// bytesValue converts BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY values; the
// result is a copy, so the footer's buffer is not kept alive.
func bytesValue(v []byte, typ arrow.DataType) any {
	switch typ.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return string(v)
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.FixedSizeBinaryType:
		return append([]byte{}, v...)
	case *arrow.Decimal128Type:
		if len(v) == 0 || len(v) > 16 {
			return nil
		}
		return decimal128.FromBigInt(bigEndianSigned(v))
	}
	return nil
}

// bigEndianSigned decodes a big-endian two's-complement integer, the
// Parquet encoding of decimals in byte arrays.
func bigEndianSigned(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}
