package shell

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitter(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		want    []string
		pending bool
	}{
		{"one line", []string{"SELECT 1;"}, []string{"SELECT 1"}, false},
		{"two on a line", []string{"SELECT 1; SELECT 2;"}, []string{"SELECT 1", "SELECT 2"}, false},
		{"multi-line", []string{"SELECT a,", "  b", "FROM t;"}, []string{"SELECT a,\n  b\nFROM t"}, false},
		{"semicolon in a string", []string{"SELECT 'a;b' AS s;"}, []string{"SELECT 'a;b' AS s"}, false},
		{"string over lines", []string{"SELECT 'a;", "b';"}, []string{"SELECT 'a;\nb'"}, false},
		{"quoted identifier", []string{`SELECT 1 AS "x;y";`}, []string{`SELECT 1 AS "x;y"`}, false},
		{"line comment", []string{"SELECT 1 -- not; the end", ";"}, []string{"SELECT 1 -- not; the end"}, false},
		{"block comment", []string{"SELECT /* ; */ 1;"}, []string{"SELECT /* ; */ 1"}, false},
		{"block comment over lines", []string{"SELECT /* ;", "; */ 2;"}, []string{"SELECT /* ;\n; */ 2"}, false},
		{"escaped quote", []string{"SELECT 'it''s;';"}, []string{"SELECT 'it''s;'"}, false},
		{"unfinished", []string{"SELECT 1"}, nil, true},
		{"only a comment", []string{"-- nothing here"}, nil, false},
		{"empty statements", []string{";;", " ; "}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s splitter
			var got []string
			for _, l := range tc.lines {
				got = append(got, s.feed(l)...)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.pending, s.pending())
		})
	}
	var s splitter
	s.feed("SELECT 2")
	require.Equal(t, "SELECT 2", s.rest(), "the last statement may lack its ;")
	require.False(t, s.pending())
}
