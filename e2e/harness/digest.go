package harness

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// digestDetailRows is the size up to which CompareDigest falls back to a
// row-by-row diff when the digests differ, to show which rows.
const digestDetailRows = 20000

// CompareDigest compares two large results as multisets without holding
// their canonical text: schemas must match exactly and the sorted 64-bit
// hashes of every row's values (exact: floats bit for bit) must be equal. Use it for results of a scan or of
// integer arithmetic, where the values are exact; small mismatching results
// are then diffed row by row.
func CompareDigest(t testing.TB, name string, want, got *Result) {
	t.Helper()
	if msg := schemaDiff(want.Schema, got.Schema); msg != "" {
		t.Errorf("%s: schema differs from the oracle:\n%s", name, msg)
		return
	}
	w, g := rowDigests(want), rowDigests(got)
	if slices.Equal(w, g) {
		return
	}
	if len(w) <= digestDetailRows && len(g) <= digestDetailRows {
		Compare(t, name, want, got, false)
		return
	}
	missing, extra := digestDiff(w, g)
	t.Errorf("%s: rows differ from the oracle: got %d rows, want %d; %d oracle rows missing, %d unexpected rows",
		name, len(g), len(w), missing, extra)
}

// rowDigests returns the sorted FNV-1a hashes of every row. Schemas are
// compared before digests, so a cell can be hashed as its raw value; only
// unusual types are rendered as text first.
func rowDigests(res *Result) []uint64 {
	out := make([]uint64, 0, res.NumRows())
	h := fnv.New64a()
	var buf []byte
	for _, rec := range res.Records {
		cols := rec.Columns()
		for i := 0; i < int(rec.NumRows()); i++ {
			h.Reset()
			buf = buf[:0]
			for _, col := range cols {
				buf = appendCell(buf, col, i)
			}
			_, _ = h.Write(buf)
			out = append(out, h.Sum64())
		}
	}
	slices.Sort(out)
	return out
}

// appendCell appends an unambiguous encoding of one cell: a tag byte (NULL
// or value), then the value's bytes, length-prefixed when variable.
func appendCell(buf []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	le := binary.LittleEndian
	switch a := col.(type) {
	case *array.Int64:
		return le.AppendUint64(buf, uint64(a.Value(i)))
	case *array.Int32:
		return le.AppendUint32(buf, uint32(a.Value(i)))
	case *array.Int16:
		return le.AppendUint16(buf, uint16(a.Value(i)))
	case *array.Int8:
		return append(buf, byte(a.Value(i)))
	case *array.Uint64:
		return le.AppendUint64(buf, a.Value(i))
	case *array.Uint32:
		return le.AppendUint32(buf, a.Value(i))
	case *array.Float64:
		return le.AppendUint64(buf, math.Float64bits(a.Value(i)))
	case *array.Float32:
		return le.AppendUint32(buf, math.Float32bits(a.Value(i)))
	case *array.Boolean:
		if a.Value(i) {
			return append(buf, 1)
		}
		return append(buf, 0)
	case *array.Date32:
		return le.AppendUint32(buf, uint32(a.Value(i)))
	case *array.Date64:
		return le.AppendUint64(buf, uint64(a.Value(i)))
	case *array.Timestamp:
		return le.AppendUint64(buf, uint64(a.Value(i)))
	case *array.Time64:
		return le.AppendUint64(buf, uint64(a.Value(i)))
	case *array.Decimal128:
		v := a.Value(i)
		return le.AppendUint64(le.AppendUint64(buf, v.LowBits()), uint64(v.HighBits()))
	case *array.String:
		return appendBytes(buf, a.Value(i))
	case *array.LargeString:
		return appendBytes(buf, a.Value(i))
	case *array.StringView:
		return appendBytes(buf, a.Value(i))
	default:
		return appendBytes(buf, exactCell(col, i))
	}
}

func appendBytes(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// digestDiff counts hashes of want not in got and of got not in want (both
// sorted).
func digestDiff(want, got []uint64) (missing, extra int) {
	i, j := 0, 0
	for i < len(want) && j < len(got) {
		switch {
		case want[i] == got[j]:
			i++
			j++
		case want[i] < got[j]:
			missing++
			i++
		default:
			extra++
			j++
		}
	}
	return missing + len(want) - i, extra + len(got) - j
}
