package harness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRowsDiff(t *testing.T) {
	cols := []string{"a", "b"}
	rows := func(r ...[]string) Rows { return Rows{Columns: cols, Rows: r} }
	tests := []struct {
		name      string
		want, got Rows
		ordered   bool
		wantDiff  string // substring; "" means equal
	}{
		{
			name: "multiset ignores order",
			want: rows([]string{"1", `"x"`}, []string{"2", `"y"`}),
			got:  rows([]string{"2", `"y"`}, []string{"1", `"x"`}),
		},
		{
			name:     "ordered sees order",
			want:     rows([]string{"1", `"x"`}, []string{"2", `"y"`}),
			got:      rows([]string{"2", `"y"`}, []string{"1", `"x"`}),
			ordered:  true,
			wantDiff: "same rows, different order",
		},
		{
			name:     "duplicates count",
			want:     rows([]string{"1", `"x"`}, []string{"1", `"x"`}),
			got:      rows([]string{"1", `"x"`}, []string{"2", `"x"`}),
			wantDiff: "missing",
		},
		{
			name:     "null differs from empty string",
			want:     rows([]string{"1", GoCell(nil)}),
			got:      rows([]string{"1", GoCell("")}),
			wantDiff: "unexpected",
		},
		{
			name: "floats to nine significant digits",
			want: rows([]string{GoCell(1.0 / 3.0), "1"}),
			got:  rows([]string{GoCell(0.33333333333333), "1"}),
		},
		{
			name: "floats either side of a rounding boundary",
			want: rows([]string{GoCell(1.2345678949999), "1"}),
			got:  rows([]string{GoCell(1.2345678950001), "1"}),
		},
		{
			name:     "floats that really differ",
			want:     rows([]string{GoCell(1.23456), "1"}),
			got:      rows([]string{GoCell(1.23457), "1"}),
			wantDiff: "missing",
		},
		{
			name:     "column names",
			want:     rows(),
			got:      Rows{Columns: []string{"a", "c"}},
			wantDiff: "columns",
		},
		{
			name:     "row count",
			want:     rows([]string{"1", "2"}),
			got:      rows(),
			wantDiff: "got 0 rows, want 1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			diff := RowsDiff(tc.want, tc.got, tc.ordered)
			if tc.wantDiff == "" {
				require.Empty(t, diff)
				return
			}
			require.Contains(t, diff, tc.wantDiff)
		})
	}
}

func TestGoCell(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "NULL"},
		{"NULL", `"NULL"`},
		{"", `""`},
		{int32(7), "7"},
		{int64(-7), "-7"},
		{true, "true"},
		{2.5, "~2.5"},
		{[]byte{1, 255}, "0x01ff"},
		{time.Date(2025, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)), "2025-01-02T02:04:05.000006Z"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, GoCell(tc.in), "GoCell(%#v)", tc.in)
	}
}
