package ast_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner/ast"
)

// roundTrip parses sql with DuckDB, lets edit change the statement's
// node, and renders it back.
func roundTrip(t *testing.T, db *engine.DB, sql string, edit func(root ast.Node)) string {
	t.Helper()
	ctx := context.Background()
	raw, err := db.Serialize(ctx, sql)
	require.NoError(t, err)
	env, err := ast.Decode(raw)
	require.NoError(t, err)
	stmts := ast.Nodes(env[ast.FieldStatements])
	require.Len(t, stmts, 1)
	edit(stmts[0].Child(ast.FieldNode))
	b, err := json.Marshal(env)
	require.NoError(t, err)
	out, err := db.Deserialize(ctx, b)
	require.NoError(t, err)
	return out
}

func TestBuildersRenderAsDuckDBWritesThem(t *testing.T) {
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for _, tc := range []struct {
		name string
		edit func(root ast.Node)
		want string
	}{
		{"unchanged", func(ast.Node) {}, "SELECT a FROM t WHERE (b > 1)"},
		{"select list", func(root ast.Node) {
			root[ast.FieldSelectList] = []any{
				ast.Cast(ast.Function("sum", ast.ColumnRef("t", "a")), "BIGINT"),
				ast.Operator("/", ast.ColumnRef("a"), ast.Constant("INTEGER", 2)),
				ast.Star(),
			}
		}, "SELECT CAST(sum(t.a) AS BIGINT), (a / 2), * FROM t WHERE (b > 1)"},
		{"table function", func(root ast.Node) {
			fn := ast.Function("read_parquet", ast.Function("list_value", ast.Constant("VARCHAR", "/x.parquet")),
				ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", false)))
			root[ast.FieldFromTable] = ast.TableFunctionRef(fn, "t")
		}, "SELECT a FROM read_parquet(list_value('/x.parquet'), (hive_partitioning = false)) AS t WHERE (b > 1)"},
		{"subquery", func(root ast.Node) {
			inner := ast.Select(ast.Table("s", "u"))
			inner[ast.FieldSelectList] = []any{ast.ColumnRef("a"), ast.ColumnRef("b")}
			root[ast.FieldFromTable] = ast.SubqueryRef(inner, "t")
			root[ast.FieldWhere] = ast.And(root.Child(ast.FieldWhere), ast.Constant("BOOLEAN", true))
		}, "SELECT a FROM (SELECT a, b FROM s.u) AS t WHERE ((b > 1) AND true)"},
		{"modifiers", func(root ast.Node) {
			root[ast.FieldModifiers] = []any{ast.OrderByAll(), ast.Limit(ast.Constant("BIGINT", 5), nil)}
		}, "SELECT a FROM t WHERE (b > 1) ORDER BY COLUMNS(*) LIMIT 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, roundTrip(t, db, "SELECT a FROM t WHERE b > 1", tc.edit))
		})
	}
}

func TestDecodeTypesEveryObject(t *testing.T) {
	n, err := ast.Decode([]byte(`{"type":"SELECT_NODE","list":[{"class":"CONSTANT"},[{"x":{"y":1}}]],"n":18446744073709551615}`))
	require.NoError(t, err)
	require.Equal(t, ast.SelectNode, n.Type())
	count := 0
	ast.Walk(n, func(ast.Node) { count++ })
	require.Equal(t, 4, count, "the root, the constant, and both nested objects")
	require.Equal(t, json.Number("18446744073709551615"), n["n"], "numbers stay exact")
	c := n.Copy()
	c.Children("list")[0]["class"] = "OTHER"
	require.Equal(t, ast.ClassConstant, n.Children("list")[0].Class(), "Copy is deep")
	require.True(t, ast.Contains(n, false, func(x ast.Node) bool { return x.Class() == ast.ClassConstant }))
}

func TestCanonicalIgnoresAliasesAndLocations(t *testing.T) {
	a := ast.ColumnRef("x")
	b := ast.ColumnRef("x")
	b[ast.FieldAlias], b[ast.FieldQueryLocation] = "y", json.Number("7")
	require.Equal(t, ast.Canonical(a), ast.Canonical(b))
	require.NotEqual(t, ast.Canonical(a), ast.Canonical(ast.ColumnRef("z")))
}
