package planner

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

func redactTables() []*storage.Table {
	lines := &storage.Table{Name: storage.TableName{Schema: "shop", Name: "lines"}}
	for _, k := range []string{"shop/lines/part-0.parquet", "shop/lines/part-1.parquet"} {
		lines.Files = append(lines.Files, storage.File{Object: storage.Object{Key: k}, URI: "/srv/wh/" + k})
	}
	plays := &storage.Table{Name: storage.TableName{Schema: "demo", Name: "plays"}, Files: []storage.File{
		{Object: storage.Object{Key: "demo/plays/day=2025-01-01/data_0.parquet"}, URI: "s3://bucket/prefix/demo/plays/day=2025-01-01/data_0.parquet"},
	}}
	return []*storage.Table{lines, plays}
}

// lineCtx is a DuckDB context line: line n of a statement with the caret
// under byte i of it.
func lineCtx(n int, line string, i int) string {
	prefix := fmt.Sprintf("LINE %d: ", n)
	return prefix + line + "\n" + strings.Repeat(" ", len(prefix)+i) + "^"
}

func TestErrorTextContexts(t *testing.T) {
	fragment := "SELECT CAST((country || 'x') AS INTEGER) FROM read_parquet(list_value('/srv/wh/shop/lines/part-0.parquet', " +
		"'/srv/wh/shop/lines/part-1.parquet'), hive_partitioning = false) AS lines WHERE (CAST(country AS INTEGER) > 1)"
	cutStart := "..." + fragment[strings.Index(fragment, "lines/part-1"):]
	cutEnd := fragment[:strings.Index(fragment, "list_value")+len("list_value")] + "..."
	countries := "SELECT count(*) FROM shop.lines WHERE country::INT > 1"
	casts := "SELECT CAST(country || 'x' AS INT) FROM shop.lines WHERE CAST(country AS INT) > 1"
	twice := "SELECT id, id + 'x' FROM shop.orders"
	cases := []struct {
		name     string
		sql      string
		rendered []string
		msg      string
		want     string
	}{{
		name: "probe",
		sql:  "SELECT nope FROM shop.orders",
		msg: "type query: Binder Error: Referenced column \"nope\" not found in FROM clause!\nCandidate bindings: \"item\"\n\n" +
			lineCtx(1, "SELECT nope FROM shop.orders LIMIT 0", 7),
		want: "type query: Binder Error: Referenced column \"nope\" not found in FROM clause!\nCandidate bindings: \"item\"\n\n" +
			lineCtx(1, "SELECT nope FROM shop.orders", 7),
	}, {
		name: "third line of the client's statement",
		sql:  "SELECT id\n  FROM shop.orders\n WHERE nope = 1",
		msg:  "Binder Error: x\n\n" + lineCtx(1, "SELECT id FROM shop.orders WHERE (nope = 1) LIMIT 0", 34),
		want: "Binder Error: x\n\n" + lineCtx(3, " WHERE nope = 1", 7),
	}, {
		name: "the same column twice: the one DuckDB meant",
		sql:  twice,
		msg:  "Binder Error: x\n\n" + lineCtx(1, "SELECT id, (id + 'x') FROM shop.orders LIMIT 0", 12),
		want: "Binder Error: x\n\n" + lineCtx(1, twice, 11),
	}, {
		name:     "fragment cut at the start, a cast the client wrote with ::",
		sql:      countries,
		rendered: []string{fragment},
		msg: "worker 127.0.0.1:1: Conversion Error: Could not convert string 'c1' to INT32\n\n" +
			lineCtx(1, cutStart, strings.LastIndex(cutStart, "CAST")),
		want: "worker 127.0.0.1:1: Conversion Error: Could not convert string 'c1' to INT32\n\n" +
			lineCtx(1, countries, strings.Index(countries, "country")),
	}, {
		name:     "fragment cut at the end",
		sql:      casts,
		rendered: []string{fragment},
		msg:      "Conversion Error: Could not convert string 'c1x' to INT32\n\n" + lineCtx(1, cutEnd, 7),
		want:     "Conversion Error: Could not convert string 'c1x' to INT32\n\n" + lineCtx(1, casts, 7),
	}, {
		name: "nothing of the client's statement under the caret: the context goes",
		sql:  "SELECT 1",
		msg:  "Invalid Input Error: boom\n\n" + lineCtx(1, "SELECT quiver_mask(secret_column) FROM t WHERE x > 1", 7),
		want: "Invalid Input Error: boom",
	}, {
		name: "no statement known",
		msg:  "Binder Error: x\n\n" + lineCtx(1, `SELECT * FROM "shop"."orders" LIMIT 0`, 0),
		want: "Binder Error: x",
	}, {
		name: "two contexts, one in the middle",
		sql:  "SELECT nope FROM shop.orders",
		msg: "a\n\n" + lineCtx(1, "SELECT nope FROM shop.orders LIMIT 0", 7) + " (last worker error: b\n\n" +
			lineCtx(1, "SELECT nope FROM shop.orders LIMIT 0", 7) + ")",
		want: "a\n\n" + lineCtx(1, "SELECT nope FROM shop.orders", 7) + " (last worker error: b\n\n" +
			lineCtx(1, "SELECT nope FROM shop.orders", 7) + ")",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			et := ErrorText{SQL: tc.sql, Rendered: tc.rendered, Tables: redactTables()}
			require.Equal(t, tc.want, et.Message(tc.msg))
		})
	}
}

func TestErrorTextLongLine(t *testing.T) {
	sql := "SELECT " + strings.Repeat("id, ", 60) + "nope FROM shop.orders"
	msg := "Binder Error: x\n\nLINE 1: ..." + sql[len(sql)-100:] + " LIMIT 0\n" + strings.Repeat(" ", 8+3+100-len("nope FROM shop.orders")) + "^"
	got := ErrorText{SQL: sql}.Message(msg)
	_, ctx, ok := strings.Cut(got, "\n\n")
	require.True(t, ok, got)
	line, caret, _ := strings.Cut(ctx, "\n")
	require.True(t, strings.HasPrefix(line, "LINE 1: ..."), line)
	require.Equal(t, "nope", line[len(caret)-1:len(caret)+3], "caret under nope:\n%s", ctx)
	require.NotContains(t, got, "LIMIT 0")
}

func TestErrorTextScrubs(t *testing.T) {
	cases := []struct {
		name, sql, msg, want string
	}{
		{"read_parquet call", "SELECT * FROM shop.lines",
			"Error in read_parquet(list_value('/srv/wh/shop/lines/part-0.parquet'), hive_partitioning = false): bad",
			"Error in shop.lines: bad"},
		{"read_parquet of unknown files", "SELECT 1", "x read_parquet(list_value('/a/b.parquet')) y", "x a table y"},
		{"cut read_parquet", "SELECT 1", "x FROM read_parquet(list_value...\nnext", "x FROM a table\nnext"},
		{"file URI becomes its key", "SELECT 1", "IO Error: File '/srv/wh/shop/lines/part-1.parquet' too small",
			"IO Error: File 'shop/lines/part-1.parquet' too small"},
		{"S3 URI becomes its key", "SELECT 1", "HTTP 403 on s3://bucket/prefix/demo/plays/day=2025-01-01/data_0.parquet",
			"HTTP 403 on demo/plays/day=2025-01-01/data_0.parquet"},
		{"the root goes from paths under it", "SELECT 1", "No files found that match the pattern \"/srv/wh/shop/lines/*.parquet\"",
			"No files found that match the pattern \"shop/lines/*.parquet\""},
		{"other paths keep their last element", "SELECT 1", "cannot open /var/lib/quiver/tmp/spill-3.tmp: full",
			"cannot open .../spill-3.tmp: full"},
		{"other storage URIs too", "SELECT 1", "list s3://other-bucket/some/prefix/: denied", "list .../prefix: denied"},
		{"http keeps the host", "SELECT 1", `Get "http://127.0.0.1:9000/bucket?list-type=2&prefix=wh%2F": refused`,
			`Get "http://127.0.0.1:9000/...": refused`},
		{"what the client wrote stays", "SELECT * FROM read_parquet('/etc/passwd')",
			"refused: read_parquet('/etc/passwd') reads a file", "refused: read_parquet('/etc/passwd') reads a file"},
		{"division is no path", "SELECT a / b", "x (a / b) and 1/2/3", "x (a / b) and 1/2/3"},
		{"LIMIT 0 the client did not write", "SELECT 1 LIMIT 10", "in SELECT 1 LIMIT 0", "in SELECT 1"},
		{"LIMIT 0 the client wrote", "SELECT 1 LIMIT 0", "in SELECT 1 LIMIT 0", "in SELECT 1 LIMIT 0"},
		{"system tables", "SELECT * FROM system.queries", "Table quiver_system_queries has no x; quiver_system.queries",
			"Table system.queries has no x; system.queries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ErrorText{SQL: tc.sql, Tables: redactTables()}.Message(tc.msg))
		})
	}
}

func TestNewErrorTextCollectsRenderedStatements(t *testing.T) {
	plan := &Plan{Probe: "p", Fragments: []Fragment{{SQL: "f1"}, {SQL: "f2"}}, Merge: &Merge{SQL: "m", PartialsProbe: "pp"}, Tables: redactTables()}
	err := &RenderedError{SQL: "typed", Err: errors.New("x")}
	et := NewErrorText("q", plan, err)
	require.Equal(t, []string{"p", "f1", "f2", "m", "pp", "typed"}, et.Rendered)
	require.Equal(t, "q", et.SQL)
	require.Len(t, et.Tables, 2)
	require.Equal(t, ErrorText{SQL: "q"}, NewErrorText("q", nil, errors.New("x")))
}

// FuzzErrorText: any message with a context line, about any statement,
// is rewritten without a panic, and never keeps a rendered statement the
// client did not write in its context line.
func FuzzErrorText(f *testing.F) {
	f.Add("SELECT nope FROM t", "SELECT nope FROM t LIMIT 0", uint8(1), uint8(7))
	f.Add("SELECT 'a\nb' x", "...b' x", uint8(2), uint8(3))
	f.Add("SELECT\n\tx::INT", "SELECT CAST(x AS INTEGER) FROM read_parquet(list_value('/srv/wh/shop/lines/part-0.parquet'))", uint8(1), uint8(200))
	f.Fuzz(func(t *testing.T, sql, rendered string, line, col uint8) {
		if strings.Contains(rendered, "\n") || !utf8.ValidString(sql) {
			return // a client's SQL is UTF-8: gRPC and the plain-Flight path check it
		}
		msg := "Binder Error: x\n\n" + fmt.Sprintf("LINE %d: %s\n%s^", line, rendered, strings.Repeat(" ", int(col)))
		got := ErrorText{SQL: sql, Rendered: []string{rendered}, Tables: redactTables()}.Message(msg)
		if i := strings.Index(got, "LINE "); i >= 0 && !strings.Contains(sql, "LINE ") {
			l, _, _ := strings.Cut(got[i:], "\n")
			_, text, _ := strings.Cut(l, ": ")
			text = strings.TrimSuffix(strings.TrimPrefix(text, "..."), "...")
			if !strings.Contains(sql, text) {
				t.Fatalf("context %q is not of the client's statement %q", l, sql)
			}
		}
	})
}
