package harness

import (
	"hash/fnv"
	"slices"
	"testing"
)

// digestDetailRows is the size up to which CompareDigest falls back to a
// row-by-row diff when the digests differ, to show which rows.
const digestDetailRows = 20000

// CompareDigest compares two large results as multisets without holding
// their canonical text: schemas must match exactly and the sorted 64-bit
// hashes of every row's canonical cells (floats at nine significant
// digits, see ArrowRows) must be equal. Use it for results of a scan or of
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

// rowDigests returns the sorted FNV-1a hashes of every row.
func rowDigests(res *Result) []uint64 {
	out := make([]uint64, 0, res.NumRows())
	for _, rec := range res.Records {
		cols := rec.Columns()
		for i := 0; i < int(rec.NumRows()); i++ {
			h := fnv.New64a()
			for _, col := range cols {
				_, _ = h.Write([]byte(arrowCell(col, i)))
				_, _ = h.Write([]byte{0})
			}
			out = append(out, h.Sum64())
		}
	}
	slices.Sort(out)
	return out
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
