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
			// Parameters of the LIMIT and OFFSET stay in the probe
			// (`LIMIT 0 * $1 OFFSET $2`): it types every parameter of
			// the statement, and a prepared statement's parameter
			// schema comes from it.
			z := zero
			if ast.Contains(mn, false, func(n node) bool { return n.Class() == ast.ClassParameter }) {
				z = zero.Copy()
				if l := ast.AsNode(mn[ast.FieldLimit]); l != nil && mn.Type() == ast.LimitModifier {
					z[ast.FieldLimit] = ast.Operator("*", ast.Constant("BIGINT", 0), l.Copy())
				}
				if o := ast.AsNode(mn[ast.FieldOffset]); o != nil && mn.Type() == ast.LimitModifier {
					z[ast.FieldOffset] = o.Copy()
				}
			}
			out = append(out, z)
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
