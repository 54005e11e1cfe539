package harness

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseQueries(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []Query
		wantErr string
	}{
		{
			name: "header, ordered flag, trailing semicolon",
			input: `-- corpus header
-- name: first
SELECT 1;

-- name: second
-- ordered
SELECT a
FROM t
ORDER BY a;
`,
			want: []Query{
				{Name: "first", SQL: "SELECT 1", Line: 2},
				{Name: "second", SQL: "SELECT a\nFROM t\nORDER BY a", Ordered: true, Line: 5},
			},
		},
		{
			name:  "ordered only directly after the header",
			input: "-- name: q\nSELECT 1\n-- ordered\nFROM t\n",
			want:  []Query{{Name: "q", SQL: "SELECT 1\n-- ordered\nFROM t", Line: 1}},
		},
		{
			name:  "comment inside a statement is kept",
			input: "-- name: q\n-- why this matters\nSELECT 1",
			want:  []Query{{Name: "q", SQL: "-- why this matters\nSELECT 1", Line: 1}},
		},
		{
			name:  "trailing section comment is not part of the statement",
			input: "-- name: q\nSELECT 1;\n\n-- ---- next section ----\n\n-- name: r\nSELECT 2",
			want:  []Query{{Name: "q", SQL: "SELECT 1", Line: 1}, {Name: "r", SQL: "SELECT 2", Line: 6}},
		},
		{name: "empty statement", input: "-- name: q\n\n-- name: r\nSELECT 1", wantErr: "has no statement"},
		{name: "duplicate name", input: "-- name: q\nSELECT 1\n-- name: q\nSELECT 2", wantErr: "already used"},
		{name: "bad name", input: "-- name: a-b\nSELECT 1", wantErr: "not an identifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseQueries(bufio.NewScanner(strings.NewReader(tc.input)))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestCorpus checks the shared corpus parses and follows its own rules.
func TestCorpus(t *testing.T) {
	path := filepath.Join(RepoRoot(t), "testdata", "e2e", "queries.sql")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no corpus at %s", path)
	}
	queries, err := LoadQueries(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(queries), 40)
	for _, q := range queries {
		upper := strings.ToUpper(q.SQL)
		require.NotContains(t, q.SQL, ";", "query %s holds more than one statement", q.Name)
		if q.Ordered {
			require.Contains(t, upper, "ORDER BY", "query %s is marked ordered without ORDER BY", q.Name)
		}
		if strings.Contains(upper, "LIMIT") {
			require.Contains(t, upper, "ORDER BY", "query %s uses LIMIT without ORDER BY", q.Name)
		}
	}
}
