package output

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// renderInts renders a one-column table of 1..n, delivered in batches of
// the given sizes, and returns the output.
func renderInts(t *testing.T, batches []int, maxRows int) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var recs []arrow.RecordBatch
	next := int64(1)
	for _, size := range batches {
		b := array.NewInt64Builder(mem)
		for range size {
			b.Append(next)
			next++
		}
		col := b.NewArray()
		recs = append(recs, array.NewRecordBatch(schema, []arrow.Array{col}, int64(size)))
		col.Release()
		b.Release()
	}
	rdr, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)
	for _, r := range recs {
		r.Release()
	}
	defer rdr.Release()
	var out bytes.Buffer
	require.NoError(t, RenderWith(t.Context(), &out, FormatTable, rdr, maxRows, mem))
	return out.String()
}

// bodyValues returns the cells of the body rows of a one-column table.
func bodyValues(out string) []string {
	lines := strings.Split(out, "\n")
	var values []string
	inBody := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "├"):
			inBody = true
		case strings.HasPrefix(l, "└"):
			inBody = false
		case inBody:
			values = append(values, strings.TrimSpace(strings.Trim(l, "│")))
		}
	}
	return values
}

func seq(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return s
}

func TestTableShowsFirstAndLastRows(t *testing.T) {
	tests := []struct {
		name       string
		batches    []int
		maxRows    int
		wantValues []string
		wantFooter string
	}{
		{"fits", []int{5}, 10, seq(1, 5), "5 rows (5 shown)  1 column"},
		{"exactly fits", []int{4, 6}, 10, seq(1, 10), "10 rows (10 shown)  1 column"},
		{"one too many", []int{11}, 10, append(append(seq(1, 5), "…"), seq(7, 11)...), "11 rows (10 shown)  1 column"},
		{"one batch", []int{100}, 4, []string{"1", "2", "…", "99", "100"}, "100 rows (4 shown)  1 column"},
		{"tail spans batches", []int{1, 1, 95, 2, 0, 1}, 10, append(append(seq(1, 5), "…"), seq(96, 100)...), "100 rows (10 shown)  1 column"},
		{"tiny batches", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 6, append(append(seq(1, 3), "…"), seq(10, 12)...), "12 rows (6 shown)  1 column"},
		{"odd max rows", []int{20}, 5, []string{"1", "2", "3", "…", "19", "20"}, "20 rows (5 shown)  1 column"},
		{"one row max", []int{3}, 1, []string{"1", "…"}, "3 rows (1 shown)  1 column"},
		{"default max rows", []int{1000}, 0, append(append(seq(1, 20), "…"), seq(981, 1000)...), "1000 rows (40 shown)  1 column"},
		{"single row", []int{1}, 10, []string{"1"}, "1 row (1 shown)  1 column"},
		{"empty", nil, 10, nil, "0 rows (0 shown)  1 column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := renderInts(t, tc.batches, tc.maxRows)
			require.Equal(t, tc.wantValues, bodyValues(out), out)
			require.True(t, strings.HasSuffix(out, tc.wantFooter+"\n"), out)
		})
	}
}

func TestTableNarrowLayout(t *testing.T) {
	out := renderInts(t, []int{3}, 2)
	require.Equal(t, `┌────────┐
│   n    │
│ bigint │
├────────┤
│      1 │
│   …    │
│      3 │
└────────┘
3 rows (2 shown)  1 column
`, out)
}

// renderStrings renders one batch with a column per entry of cols.
func renderStrings(t *testing.T, cols map[string][]string, order []string) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	fields := make([]arrow.Field, len(order))
	arrs := make([]arrow.Array, len(order))
	for i, name := range order {
		fields[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String}
		b := array.NewStringBuilder(mem)
		b.AppendValues(cols[name], nil)
		arrs[i] = b.NewArray()
		b.Release()
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, arrs, int64(len(cols[order[0]])))
	for _, a := range arrs {
		a.Release()
	}
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rec.Release()
	defer rdr.Release()
	var out bytes.Buffer
	require.NoError(t, RenderWith(t.Context(), &out, FormatTable, rdr, 0, mem))
	return out.String()
}

func requireFits(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		require.LessOrEqual(t, displayWidth(line), tableWidth, line)
	}
	// Every line of the box has the same width.
	lines := strings.Split(out, "\n")
	boxWidth := displayWidth(lines[0])
	for _, line := range lines {
		if strings.HasPrefix(line, "│") || strings.HasPrefix(line, "├") || strings.HasPrefix(line, "└") {
			require.Equal(t, boxWidth, displayWidth(line), line)
		}
	}
}

func TestTableCutsLongValues(t *testing.T) {
	long := strings.Repeat("abcdefghij", 50)
	out := renderStrings(t, map[string][]string{
		"short":  {"x", "y"},
		"long":   {long, "tiny"},
		"wide":   {strings.Repeat("漢字", 100), "ok"},
		"escape": {"line1\nline2\ttab", "bell\a"},
	}, []string{"short", "long", "wide", "escape"})
	requireFits(t, out)
	require.Contains(t, out, "abcdefghij…")
	require.Contains(t, out, "漢字…")
	require.Contains(t, out, `line1\nline2\ttab`)
	require.Contains(t, out, `bell\x07`)
	require.NotContains(t, out, long)
	require.True(t, strings.HasSuffix(out, "2 rows (2 shown)  4 columns\n"), out)
}

func TestTableLeavesOutMiddleColumns(t *testing.T) {
	cols := map[string][]string{}
	var order []string
	for i := range 40 {
		name := fmt.Sprintf("column_%02d", i)
		cols[name] = []string{fmt.Sprintf("value %d", i)}
		order = append(order, name)
	}
	out := renderStrings(t, cols, order)
	requireFits(t, out)
	require.Contains(t, out, "column_00")
	require.Contains(t, out, "column_39")
	require.NotContains(t, out, "column_20")
	require.Contains(t, out, "│ … │")
	require.Regexp(t, `1 row \(1 shown\)  40 columns \(\d+ shown\)\n$`, out)
}

func TestTruncateAndPad(t *testing.T) {
	tests := []struct {
		in    string
		width int
		cut   string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 5, "hell…"},
		{"東京タワー", 5, "東京…"},
		{"café", 3, "ca…"},
		{"e\u0301clair", 3, "e\u0301c…"}, // the combining accent takes no room
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := truncate(tc.in, tc.width)
			require.Equal(t, tc.cut, got)
			require.LessOrEqual(t, displayWidth(got), tc.width)
		})
	}
	require.Equal(t, "  ab", pad("ab", 4, alignRight))
	require.Equal(t, "ab  ", pad("ab", 4, alignLeft))
	require.Equal(t, " ab  ", pad("ab", 5, alignCenter))
	require.Equal(t, "東京", pad("東京", 3, alignLeft))
	require.Equal(t, 4, displayWidth("東京"))
}

func TestRenderMarkdownLineAndWidth(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 22}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a|b", strings.Repeat("x", 300)}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	render := func(o Options) string {
		rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		require.NoError(t, err)
		defer rdr.Release()
		var out bytes.Buffer
		require.NoError(t, RenderOptions(context.Background(), &out, rdr, o))
		return out.String()
	}
	md := render(Options{Format: FormatMarkdown})
	require.True(t, strings.HasPrefix(md, "| n | s |\n|---:|---|\n| 1 | a\\|b |\n| 22 | x"), md)
	require.True(t, strings.HasPrefix(render(Options{Format: FormatLine}), "n = 1\ns = a|b\n\nn = 22\ns = xxx"))
	for _, width := range []int{40, 80, 200} {
		for _, line := range strings.Split(strings.TrimSpace(render(Options{Width: width})), "\n") {
			require.LessOrEqual(t, displayWidth(line), width, "width %d: %s", width, line)
		}
	}
	wide := render(Options{Width: 200})
	require.Contains(t, wide, strings.Repeat("x", 150), "a wide terminal shows more of a long value")
	require.ErrorIs(t, CheckFormat("xml"), ErrUnknownFormat)
}
