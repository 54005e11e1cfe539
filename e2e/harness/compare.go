package harness

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// maxDiffRows bounds how many missing/unexpected rows a failure prints.
const maxDiffRows = 5

// floatMark prefixes canonical floating-point cells so the comparison knows
// to apply the nine-significant-digit tolerance to them.
const floatMark = "~"

// nullCell is the canonical NULL; strings are quoted, so it never collides
// with the string "NULL" or the empty string.
const nullCell = "NULL"

// Rows is a result reduced to canonical cell strings.
type Rows struct {
	Columns []string
	Rows    [][]string
}

// Compare fails t when got differs from want: column names and exact Arrow
// types (arrow.TypeEqual), then rows as a multiset, or in order when ordered.
func Compare(t testing.TB, name string, want, got *Result, ordered bool) {
	t.Helper()
	if msg := schemaDiff(want.Schema, got.Schema); msg != "" {
		t.Errorf("%s: schema differs from the oracle:\n%s", name, msg)
		return
	}
	if msg := RowsDiff(ArrowRows(want), ArrowRows(got), ordered); msg != "" {
		t.Errorf("%s: rows differ from the oracle:\n%s", name, msg)
	}
}

// CompareRows fails t when got differs from want (see RowsDiff).
func CompareRows(t testing.TB, name string, want, got Rows, ordered bool) {
	t.Helper()
	if msg := RowsDiff(want, got, ordered); msg != "" {
		t.Errorf("%s: rows differ from the oracle:\n%s", name, msg)
	}
}

// SchemaDiff describes how two schemas differ in field names or types, or
// returns "" when they match (nullability and metadata are ignored).
func SchemaDiff(want, got *arrow.Schema) string { return schemaDiff(want, got) }

func schemaDiff(want, got *arrow.Schema) string {
	var b strings.Builder
	if want.NumFields() != got.NumFields() {
		fmt.Fprintf(&b, "  %d columns, want %d\n", got.NumFields(), want.NumFields())
	}
	for i := 0; i < max(want.NumFields(), got.NumFields()); i++ {
		switch {
		case i >= got.NumFields():
			w := want.Field(i)
			fmt.Fprintf(&b, "  column %d: missing, want %s %s\n", i, w.Name, w.Type)
		case i >= want.NumFields():
			g := got.Field(i)
			fmt.Fprintf(&b, "  column %d: unexpected %s %s\n", i, g.Name, g.Type)
		default:
			w, g := want.Field(i), got.Field(i)
			if w.Name != g.Name || !arrow.TypeEqual(w.Type, g.Type) {
				fmt.Fprintf(&b, "  column %d: got %s %s, want %s %s\n", i, g.Name, g.Type, w.Name, w.Type)
			}
		}
	}
	return b.String()
}

// RowsDiff compares canonical rows and returns a readable description of
// the difference, or "" when they match. Column names must be equal; rows
// are compared as a multiset unless ordered.
func RowsDiff(want, got Rows, ordered bool) string {
	return rowsDiff(want, got, ordered, cellsEqual)
}

// cellEqual decides whether two canonical cells hold the same value.
type cellEqual func(a, b string) bool

func rowsDiff(want, got Rows, ordered bool, eq cellEqual) string {
	var b strings.Builder
	if strings.Join(want.Columns, ",") != strings.Join(got.Columns, ",") {
		fmt.Fprintf(&b, "  columns %v, want %v\n", got.Columns, want.Columns)
		return b.String()
	}
	w, g := want.Rows, got.Rows
	if !ordered {
		w, g = sortedRows(w), sortedRows(g)
	}
	if len(w) == len(g) {
		mismatch := -1
		for i := range w {
			if !rowsEqual(w[i], g[i], eq) {
				mismatch = i
				break
			}
		}
		if mismatch < 0 {
			return ""
		}
		if ordered {
			fmt.Fprintf(&b, "  first difference at row %d:\n    got  %s\n    want %s\n",
				mismatch, formatRow(g[mismatch]), formatRow(w[mismatch]))
			if multisetEqual(w, g, eq) {
				b.WriteString("  (same rows, different order)\n")
			}
			return b.String()
		}
	}
	fmt.Fprintf(&b, "  got %d rows, want %d (columns %s)\n", len(g), len(w), strings.Join(want.Columns, ", "))
	missing, extra := multisetDiff(w, g, eq)
	writeRows(&b, "missing (in oracle, not in result)", missing)
	writeRows(&b, "unexpected (in result, not in oracle)", extra)
	return b.String()
}

func writeRows(b *strings.Builder, title string, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "  %s: %d rows\n", title, len(rows))
	for i, r := range rows {
		if i == maxDiffRows {
			fmt.Fprintf(b, "    … %d more\n", len(rows)-maxDiffRows)
			break
		}
		fmt.Fprintf(b, "    %s\n", formatRow(r))
	}
}

func formatRow(r []string) string {
	cells := make([]string, len(r))
	for i, c := range r {
		cells[i] = strings.TrimPrefix(c, floatMark)
	}
	return "(" + strings.Join(cells, ", ") + ")"
}

func rowKey(r []string) string { return strings.Join(r, "\x00") }

// sortedRows sorts by each row's key, computed once per row (not once per
// comparison: results of 100K rows would spend seconds joining strings).
func sortedRows(rows [][]string) [][]string {
	type keyed struct {
		key string
		row []string
	}
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		ks[i] = keyed{rowKey(r), r}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	out := make([][]string, len(rows))
	for i, k := range ks {
		out[i] = k.row
	}
	return out
}

func rowsEqual(a, b []string, eq cellEqual) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !eq(a[i], b[i]) {
			return false
		}
	}
	return true
}

// cellsEqual accepts floats that differ by at most about one unit in the
// ninth significant digit (rounding either side of a boundary).
func cellsEqual(a, b string) bool {
	if a == b {
		return true
	}
	if !strings.HasPrefix(a, floatMark) || !strings.HasPrefix(b, floatMark) {
		return false
	}
	x, err1 := strconv.ParseFloat(a[len(floatMark):], 64)
	y, err2 := strconv.ParseFloat(b[len(floatMark):], 64)
	if err1 != nil || err2 != nil {
		return false
	}
	return math.Abs(x-y) <= 1.5e-8*math.Max(math.Abs(x), math.Abs(y))
}

// multisetEqual reports whether two sorted-or-not row lists hold the same
// rows, using the float tolerance.
func multisetEqual(a, b [][]string, eq cellEqual) bool {
	missing, extra := multisetDiff(sortedRows(a), sortedRows(b), eq)
	return len(missing) == 0 && len(extra) == 0
}

// multisetDiff returns the rows of want not matched in got and vice versa.
// Exact matches pair first; leftovers then pair under the float tolerance.
func multisetDiff(want, got [][]string, eq cellEqual) (missing, extra [][]string) {
	counts := map[string]int{}
	for _, r := range got {
		counts[rowKey(r)]++
	}
	for _, r := range want {
		if k := rowKey(r); counts[k] > 0 {
			counts[k]--
		} else {
			missing = append(missing, r)
		}
	}
	for _, r := range got {
		if k := rowKey(r); counts[k] > 0 {
			counts[k]--
			extra = append(extra, r)
		}
	}
	// Pair what is left under the tolerance.
	var stillMissing [][]string
	used := make([]bool, len(extra))
	for _, m := range missing {
		found := false
		for j, e := range extra {
			if !used[j] && rowsEqual(m, e, eq) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			stillMissing = append(stillMissing, m)
		}
	}
	var stillExtra [][]string
	for j, e := range extra {
		if !used[j] {
			stillExtra = append(stillExtra, e)
		}
	}
	return stillMissing, stillExtra
}

// ArrowRows reduces an Arrow result to canonical strings: NULL, quoted
// strings, floats to nine significant digits, and Arrow's own rendering of
// every other type (types are compared separately, so renderings match
// exactly when values do).
func ArrowRows(res *Result) Rows { return rowsWith(res, arrowCell) }

// rowsWith renders every cell of a result with cell.
func rowsWith(res *Result, cell func(arrow.Array, int) string) Rows {
	out := Rows{Columns: fieldNames(res.Schema)}
	for _, rec := range res.Records {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = cell(col, i)
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out
}

func fieldNames(s *arrow.Schema) []string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return names
}

func arrowCell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return nullCell
	}
	switch a := col.(type) {
	case *array.Float64:
		return floatCell(a.Value(i))
	case *array.Float32:
		return floatCell(float64(a.Value(i)))
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.LargeString:
		return strconv.Quote(a.Value(i))
	case *array.StringView:
		return strconv.Quote(a.Value(i))
	default:
		return col.ValueStr(i)
	}
}

func floatCell(v float64) string {
	return floatMark + strconv.FormatFloat(v, 'g', 9, 64)
}
