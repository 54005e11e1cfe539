package planner

import (
	"github.com/quiver-data/quiver/planner/ast"
)

// node is one object of DuckDB's serialized statement tree.
type node = ast.Node

// function is a call of name over children.
func function(name string, children []any) node {
	return ast.Function(name, ast.Nodes(children)...)
}

// limitZero makes the statement return no rows (DuckDB then plans an empty
// result) and returns the original modifiers so the caller can restore them.
// A second LIMIT would not survive json_deserialize_sql, so an existing one is
// overwritten instead.
func limitZero(root node) any {
	saved := root[ast.FieldModifiers]
	mods, _ := saved.([]any)
	out := make([]any, 0, len(mods)+1)
	zero := ast.Limit(ast.Constant("BIGINT", 0), nil)
	replaced := false
	for _, m := range mods {
		mn, ok := m.(node)
		if ok && (mn.Type() == ast.LimitModifier || mn.Type() == ast.LimitPercentModifier) {
			out = append(out, zero)
			replaced = true
			continue
		}
		out = append(out, m)
	}
	if !replaced {
		out = append(out, zero)
	}
	root[ast.FieldModifiers] = out
	return saved
}
