package lakehouse

import (
	"encoding/binary"
	"math"
	"math/big"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/iceberg-go"

	"github.com/quiver-data/quiver/storage"
)

// columnStats are one column's statistics in a data file's manifest entry:
// its lower and upper bounds (Iceberg's single-value binary serialization,
// decoded as the Go value storage.ColumnStats holds for the column's Arrow
// type) and its null count. A bound that does not decode as the column's
// current type is left out, never guessed: bounds are written in the type
// the column had when the file was written, so a file written before int
// was widened to long has 4-byte bounds for a long column (those, and
// float bounds of a double column, are widened exactly). Floating-point
// bounds are kept only when the entry says the file has no NaN, since
// bounds leave NaN out and DuckDB orders NaN above every number.
func columnStats(df iceberg.DataFile, fieldID int, typ arrow.DataType) storage.ColumnStats {
	var cs storage.ColumnStats
	if n, ok := df.NullValueCounts()[fieldID]; ok && n >= 0 {
		cs.HasNullCount, cs.NullCount = true, n
	}
	lo, hasLo := df.LowerBoundValues()[fieldID]
	hi, hasHi := df.UpperBoundValues()[fieldID]
	if !hasLo || !hasHi {
		return cs
	}
	if typ.ID() == arrow.FLOAT32 || typ.ID() == arrow.FLOAT64 {
		if n, ok := df.NaNValueCounts()[fieldID]; !ok || n != 0 {
			return cs
		}
	}
	min, max := decodeBound(lo, typ), decodeBound(hi, typ)
	if min == nil || max == nil {
		return cs
	}
	cs.HasMinMax, cs.Min, cs.Max = true, min, max
	return cs
}

// decodeBound decodes one serialized bound as the Go value of typ, or nil
// when b does not hold a value of typ.
func decodeBound(b []byte, typ arrow.DataType) any {
	switch t := typ.(type) {
	case *arrow.BooleanType:
		if len(b) == 1 && b[0] <= 1 {
			return b[0] == 1
		}
	case *arrow.Int32Type:
		if len(b) == 4 {
			return int32(binary.LittleEndian.Uint32(b))
		}
	case *arrow.Int64Type:
		switch len(b) {
		case 4: // written as int before the column was widened to long
			return int64(int32(binary.LittleEndian.Uint32(b)))
		case 8:
			return int64(binary.LittleEndian.Uint64(b))
		}
	case *arrow.Float32Type:
		if len(b) == 4 {
			if v := math.Float32frombits(binary.LittleEndian.Uint32(b)); !math.IsNaN(float64(v)) {
				return v
			}
		}
	case *arrow.Float64Type:
		var v float64
		switch len(b) {
		case 4: // written as float before the column was widened to double
			v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		case 8:
			v = math.Float64frombits(binary.LittleEndian.Uint64(b))
		default:
			return nil
		}
		if !math.IsNaN(v) {
			return v
		}
	case *arrow.Date32Type:
		if len(b) == 4 {
			return arrow.Date32(int32(binary.LittleEndian.Uint32(b)))
		}
	case *arrow.Time64Type:
		if len(b) == 8 && t.Unit == arrow.Microsecond {
			return arrow.Time64(int64(binary.LittleEndian.Uint64(b)))
		}
	case *arrow.TimestampType:
		// A date widened to timestamp (v3) has 4-byte day bounds: left out.
		if len(b) == 8 && t.Unit == arrow.Microsecond {
			return arrow.Timestamp(int64(binary.LittleEndian.Uint64(b)))
		}
	case *arrow.StringType:
		if utf8.Valid(b) {
			return string(b)
		}
	case *arrow.BinaryType:
		return append([]byte{}, b...)
	case *arrow.Decimal128Type:
		// The unscaled value, big-endian two's complement in the fewest
		// bytes; a widened precision keeps the scale, so it still reads.
		if len(b) == 0 || len(b) > 16 {
			return nil
		}
		n := new(big.Int).SetBytes(b)
		if b[0]&0x80 != 0 {
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		return decimal128.FromBigInt(n)
	}
	return nil
}
