package lineage_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/planner/ast"
)

// tables is a fixed catalog: t(a, b, s) and u(a, c).
var tables = map[string][]string{"t": {"a", "b", "s"}, "u": {"a", "c"}}

func bind(t *testing.T, db *engine.DB, sql string) ([]string, error) {
	t.Helper()
	raw, err := db.Serialize(t.Context(), sql)
	require.NoError(t, err)
	env, err := ast.Decode(raw)
	require.NoError(t, err)
	stmts := ast.Nodes(env[ast.FieldStatements])
	require.Len(t, stmts, 1, sql)
	g, err := lineage.Bind(stmts[0].Child(ast.FieldNode), lineage.Options{
		Table: func(n ast.Node) (lineage.Table, bool) {
			cols, ok := tables[n.Str(ast.FieldTableName)]
			return lineage.Table{Catalog: "quiver", Schema: "main", Name: n.Str(ast.FieldTableName), Columns: cols}, ok
		},
		Aggregate: func(name string) bool { return name == "sum" || name == "count_star" || name == "max" },
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range g.Edges(nil) {
		o := e.Output
		if !e.Kind.Direct() {
			o = "*"
		}
		out = append(out, fmt.Sprintf("%s <- %s %s", o, strings.TrimPrefix(e.Source.String(), "quiver.main."), e.Kind))
	}
	return out, nil
}

// TestBindShapes covers what the planner's sandbox may never let
// through but DuckDB's grammar has: recursive CTEs, NATURAL joins,
// VALUES, table functions, lambdas, UNION BY NAME, COLUMNS, RENAME,
// struct fields, semi joins, and a CTE shadowing a table.
func TestBindShapes(t *testing.T) {
	db, err := engine.Open(t.Context(), engine.Options{Threads: 1})
	require.NoError(t, err)
	defer db.Close()
	cases := []struct {
		sql  string
		want []string
	}{
		{"WITH RECURSIVE r(n, x) AS (SELECT 1, a FROM t UNION ALL SELECT n + 1, x + b FROM r, t WHERE n < 3) SELECT x FROM r",
			// x is t.a, then t.a + t.b, …: computed from both.
			[]string{"x <- t.a expression", "x <- t.b expression"}},
		{"SELECT * FROM t NATURAL JOIN u", []string{
			"a <- t.a identity", "b <- t.b identity", "s <- t.s identity", "c <- u.c identity",
			"* <- t.a join", "* <- u.a join"}},
		{"SELECT v.k, t.b FROM (VALUES (1), (2)) v(k) JOIN t ON v.k = t.a", []string{"b <- t.b identity", "* <- t.a join"}},
		{"SELECT g.i, t.a FROM t, range(t.a) g(i)", []string{"i <- t.a expression", "a <- t.a identity"}},
		{"SELECT list_transform([a], lambda x: x + b) AS l FROM t", []string{"l <- t.a expression", "l <- t.b expression"}},
		{"SELECT a, b FROM t UNION BY NAME SELECT c AS b, a FROM u", []string{
			"a <- t.a identity", "a <- u.a identity", "b <- t.b identity", "b <- u.c identity"}},
		{"SELECT COLUMNS('^[ab]$') FROM t", []string{"a <- t.a identity", "b <- t.b identity"}},
		{"SELECT * RENAME (a AS z) FROM u", []string{"z <- u.a identity", "c <- u.c identity"}},
		{"SELECT s.f AS f, t.s.g AS g FROM t", []string{"f <- t.s expression", "g <- t.s expression"}},
		{"SELECT * FROM t SEMI JOIN u ON t.a = u.a", []string{
			"a <- t.a identity", "b <- t.b identity", "s <- t.s identity", "* <- t.a join", "* <- u.a join"}},
		{"WITH u AS (SELECT a AS c FROM t) SELECT c FROM u", []string{"c <- t.a identity"}},
		{"SELECT max(a) FILTER (WHERE b > 0) AS m, count(*) AS n FROM t QUALIFY m > 1", []string{
			"m <- t.a aggregate", "m <- t.b aggregate", "* <- t.a filter", "* <- t.b filter"}},
		{"SELECT DISTINCT ON (b) a FROM t ORDER BY b, a", []string{
			"a <- t.a identity", "* <- t.b group_by", "* <- t.b sort", "* <- t.a sort"}},
	}
	for _, c := range cases {
		got, err := bind(t, db, c.sql)
		require.NoError(t, err, c.sql)
		require.ElementsMatch(t, c.want, got, "%s\n got:\n%s", c.sql, strings.Join(got, "\n"))
	}
}

// TestBindRefusesWhatItCannotDerive: a statement whose lineage is not
// exactly known yields ErrUnsupported, never a partial answer.
func TestBindRefusesWhatItCannotDerive(t *testing.T) {
	db, err := engine.Open(t.Context(), engine.Options{Threads: 1})
	require.NoError(t, err)
	defer db.Close()
	for _, sql := range []string{
		"SELECT * FROM range(3)",                         // a table function's columns are unknown
		"SELECT nope FROM t",                             // no such column
		"SELECT * FROM missing",                          // no such table
		"SELECT * FROM t PIVOT (sum(a) FOR b IN (1, 2))", // PIVOT
		"SELECT COLUMNS(lambda c: c LIKE 'a%') FROM t",   // COLUMNS over an expression
	} {
		_, err := bind(t, db, sql)
		require.ErrorIs(t, err, lineage.ErrUnsupported, sql)
	}
}

// BenchmarkBind is the binder's cost per query (a join, an aggregate, a
// CTE and a correlated subquery), to put beside planning's.
func BenchmarkBind(b *testing.B) {
	db, err := engine.Open(b.Context(), engine.Options{Threads: 1})
	require.NoError(b, err)
	defer db.Close()
	raw, err := db.Serialize(b.Context(), `WITH x AS (SELECT a, sum(b) AS s FROM t GROUP BY a)
		SELECT x.a, x.s, u.c FROM x JOIN u USING (a) WHERE EXISTS (SELECT 1 FROM t t2 WHERE t2.a = u.a AND t2.b > 0) ORDER BY 2`)
	require.NoError(b, err)
	env, err := ast.Decode(raw)
	require.NoError(b, err)
	root := ast.Nodes(env[ast.FieldStatements])[0].Child(ast.FieldNode)
	opts := lineage.Options{
		Table: func(n ast.Node) (lineage.Table, bool) {
			cols, ok := tables[n.Str(ast.FieldTableName)]
			return lineage.Table{Catalog: "quiver", Schema: "main", Name: n.Str(ast.FieldTableName), Columns: cols}, ok
		},
		Aggregate: func(name string) bool { return name == "sum" },
	}
	for b.Loop() {
		if _, err := lineage.Bind(root, opts); err != nil {
			b.Fatal(err)
		}
	}
}
