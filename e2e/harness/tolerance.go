package harness

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// CompareRel is Compare with floating-point values rendered at full
// precision and accepted when they differ by at most rel relative to the
// larger magnitude (e.g. 1e-9: a distributed sum adds in another order, so
// it may differ from the oracle's in the last bits, never more).
func CompareRel(t testing.TB, name string, want, got *Result, ordered bool, rel float64) {
	t.Helper()
	if msg := schemaDiff(want.Schema, got.Schema); msg != "" {
		t.Errorf("%s: schema differs from the oracle:\n%s", name, msg)
		return
	}
	if msg := rowsDiff(exactRows(want), exactRows(got), ordered, relEqual(rel)); msg != "" {
		t.Errorf("%s: rows differ from the oracle:\n%s", name, msg)
	}
}

// CompareMultisetRel is CompareRel for a multiset comparison, fast for
// large results: when the rows are exactly equal (the digests of
// CompareDigest match) it is done, else CompareRel decides with the
// tolerance and describes the difference.
func CompareMultisetRel(t testing.TB, name string, want, got *Result, rel float64) {
	t.Helper()
	if schemaDiff(want.Schema, got.Schema) == "" && slices.Equal(rowDigests(want), rowDigests(got)) {
		return
	}
	CompareRel(t, name, want, got, false, rel)
}

// exactRows is ArrowRows with floats at full (shortest round-trip)
// precision.
func exactRows(res *Result) Rows { return rowsWith(res, exactCell) }

func exactCell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return nullCell
	}
	switch a := col.(type) {
	case *array.Float64:
		return floatMark + strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Float32:
		return floatMark + strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	default:
		return arrowCell(col, i)
	}
}

// relEqual accepts equal cells and float cells within rel of each other.
func relEqual(rel float64) cellEqual {
	return func(a, b string) bool {
		if a == b {
			return true
		}
		if !strings.HasPrefix(a, floatMark) || !strings.HasPrefix(b, floatMark) {
			return false
		}
		x, err1 := strconv.ParseFloat(a[len(floatMark):], 64)
		y, err2 := strconv.ParseFloat(b[len(floatMark):], 64)
		return err1 == nil && err2 == nil && floatsClose(x, y, rel)
	}
}

// floatsClose reports |x-y| <= rel·max(|x|,|y|), with NaN equal to NaN.
func floatsClose(x, y, rel float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	if x == y {
		return true
	}
	return math.Abs(x-y) <= rel*math.Max(math.Abs(x), math.Abs(y))
}
