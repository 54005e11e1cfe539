package harness

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ParseAnswer reads a reference answer in the pipe-separated form of DuckDB's
// tpch_answers(): a header line of column names, then one line per row.
// Cells stay text; empty trailing lines are ignored.
func ParseAnswer(text string) (Rows, error) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return Rows{}, fmt.Errorf("answer has no header line")
	}
	out := Rows{Columns: strings.Split(lines[0], "|")}
	for n, line := range lines[1:] {
		if line == "" {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) != len(out.Columns) {
			return Rows{}, fmt.Errorf("answer line %d has %d cells, header has %d", n+2, len(cells), len(out.Columns))
		}
		out.Rows = append(out.Rows, cells)
	}
	return out, nil
}

// TextRows renders a result the way reference answers print values:
// strings unquoted, floats at full precision, decimals with their scale,
// dates as YYYY-MM-DD, NULL as "NULL".
func TextRows(res *Result) Rows {
	out := Rows{Columns: fieldNames(res.Schema)}
	for _, rec := range res.Records {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = textCell(col, i)
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out
}

func textCell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return nullCell
	}
	switch a := col.(type) {
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	default:
		return col.ValueStr(i)
	}
}

// CompareAnswer fails t when got differs from a reference answer (see
// ParseAnswer): same column names, and the same rows as a multiset, where
// two cells match when their text is equal or both are numbers within rel
// of each other ("0.50" matches 0.5; a double may differ in its last bits).
func CompareAnswer(t testing.TB, name, answer string, got *Result, rel float64) {
	t.Helper()
	want, err := ParseAnswer(answer)
	if err != nil {
		t.Errorf("%s: reference answer: %v", name, err)
		return
	}
	gotRows := TextRows(got)
	if len(want.Columns) == len(gotRows.Columns) {
		for i, c := range want.Columns {
			// The answers name an unaliased aggregate by its function only
			// ("sum" for "sum(l_quantity)", from an older DuckDB).
			if strings.HasPrefix(gotRows.Columns[i], c+"(") {
				want.Columns[i] = gotRows.Columns[i]
			}
		}
	}
	if msg := rowsDiff(want, gotRows, false, numericEqual(rel)); msg != "" {
		t.Errorf("%s: rows differ from the reference answer:\n%s", name, msg)
	}
}

// numericEqual accepts equal text and numbers within rel.
func numericEqual(rel float64) cellEqual {
	return func(a, b string) bool {
		if a == b {
			return true
		}
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return err1 == nil && err2 == nil && floatsClose(x, y, rel)
	}
}
