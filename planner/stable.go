package planner

import "github.com/quiver-data/quiver/planner/ast"

// Fragments streamed straight to the client (scans and single-fragment
// plans) are resumed after a worker failure by skipping the rows the client
// already has, which needs the same rows in the same order on every run.
// DuckDB keeps scan order (preserve_insertion_order), but parallel joins,
// hash aggregates, DISTINCT and set operations produce rows in an order
// that varies run to run. Such fragments get ORDER BY ALL: their output
// becomes a function of the multiset of rows (identical rows are
// interchangeable), at the price of a sort.

// deterministicOrder reports whether a statement's rows come out in the
// same order on every run: a user ORDER BY, or a plain scan of one table.
func deterministicOrder(root node) bool {
	// A statement of any kind (set operations too) with its own ORDER BY
	// keeps it; a second one would not even parse.
	for _, m := range ast.Nodes(root[ast.FieldModifiers]) {
		if m.Type() == ast.OrderModifier {
			return true
		}
	}
	if root.Type() != ast.SelectNode {
		return false
	}
	if ast.Contains(root, false, func(e node) bool {
		switch e.Class() {
		case ast.ClassSubquery, ast.ClassWindow:
			return true
		}
		return e.Type() == ast.Join || e.Type() == ast.DistinctModifier
	}) {
		return false
	}
	if g, _ := root[ast.FieldGroupBy].([]any); len(g) > 0 {
		return false
	}
	if cte := ast.AsNode(root[ast.FieldCTEMap]); cte != nil {
		if m, _ := cte["map"].([]any); len(m) > 0 {
			return false
		}
	}
	return true
}

// stabilize adds ORDER BY ALL to a statement whose order is not
// deterministic, before any LIMIT (which may then pick other rows than an
// unordered run would: LIMIT without ORDER BY promises no particular rows).
func stabilize(root node) {
	if deterministicOrder(root) {
		return
	}
	order := ast.OrderByAll()
	var mods []any
	placed := false
	for _, m := range ast.Nodes(root[ast.FieldModifiers]) {
		if !placed && m.Type() == ast.LimitModifier {
			mods = append(mods, order)
			placed = true
		}
		mods = append(mods, m)
	}
	if !placed {
		mods = append(mods, order)
	}
	root[ast.FieldModifiers] = mods
}
