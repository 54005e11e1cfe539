package planner

import "github.com/quiver-data/quiver/planner/ast"

// splitCandidates finds the table references a plan may split: those in the
// top-level FROM clause (through inner joins, the preserved side of outer and
// semi joins, and scan-shaped derived tables) where dividing the table's
// files among fragments and concatenating the fragments' rows gives exactly
// the rows of the whole query. References anywhere else (subqueries, CTE
// bodies, the null-supplying side of an outer join) must read every file.
func (d *dist) splitCandidates(root node, refs []tableRef) []tableRef {
	var out []tableRef
	var visit func(ref node, splittable bool)
	visit = func(ref node, splittable bool) {
		if ref == nil {
			return
		}
		switch ref.Type() {
		case ast.BaseTable:
			if !splittable {
				return
			}
			for _, r := range refs {
				if sameNode(r.node, ref) {
					out = append(out, r)
				}
			}
		case ast.Join:
			left, _ := ref[ast.FieldLeft].(node)
			right, _ := ref[ast.FieldRight].(node)
			switch rt := ref.Str(ast.FieldRefType); rt {
			case ast.RefRegular, ast.RefCross, "":
			default:
				// NATURAL, ASOF, POSITIONAL, DEPENDENT: keep both sides whole.
				return
			}
			switch ref.Str(ast.FieldJoinType) {
			case ast.JoinInner:
				visit(left, splittable)
				visit(right, splittable)
			case ast.JoinLeft, ast.JoinSemi, ast.JoinAnti:
				visit(left, splittable)
			case ast.JoinRight:
				visit(right, splittable)
			}
		case ast.Subquery:
			sub, _ := ref[ast.FieldSubquery].(node)
			inner, _ := sub[ast.FieldNode].(node)
			if inner != nil && d.scanShaped(inner) {
				from, _ := inner[ast.FieldFromTable].(node)
				visit(from, splittable)
			}
		}
	}
	from, _ := root[ast.FieldFromTable].(node)
	visit(from, true)
	return out
}

// sameNode reports whether a and b are the same map (not equal content).
func sameNode(a, b node) bool {
	if len(a) != len(b) {
		return false
	}
	// Maps are references: mark one and look for the mark in the other.
	a["\x00mark"] = true
	_, ok := b["\x00mark"]
	delete(a, "\x00mark")
	return ok
}

// scanShaped reports whether a SELECT node only projects and filters: no
// aggregates, grouping, window functions, DISTINCT, ORDER BY, LIMIT,
// QUALIFY, SAMPLE or CTEs of its own.
func (d *dist) scanShaped(n node) bool {
	if n.Type() != ast.SelectNode {
		return false
	}
	if mods, _ := n[ast.FieldModifiers].([]any); len(mods) > 0 {
		return false
	}
	if g, _ := n[ast.FieldGroupBy].([]any); len(g) > 0 {
		return false
	}
	if n[ast.FieldHaving] != nil || n[ast.FieldQualify] != nil || n[ast.FieldSample] != nil {
		return false
	}
	if cte, _ := n[ast.FieldCTEMap].(node); cte != nil {
		if m, _ := cte["map"].([]any); len(m) > 0 {
			return false
		}
	}
	return d.plainExpressions(n[ast.FieldSelectList]) == "" && d.plainExpressions(n[ast.FieldWhere]) == ""
}

// groupedDerived returns the statement of the derived table that is the
// whole FROM clause of root when that statement is one plain GROUP BY
// (no ORDER BY, LIMIT, DISTINCT, window, QUALIFY, SAMPLE or subquery):
// split on a table whose files the group keys keep apart
// (Planner.disjointGroups), each fragment's run of it returns whole
// groups, their union is the derived table's rows, and the outer query
// distributes over it as over a split table.
func (d *dist) groupedDerived(root node) node {
	from := root.Child(ast.FieldFromTable)
	if root.Type() != ast.SelectNode || from == nil || from.Type() != ast.Subquery {
		return nil
	}
	inner := from.Child(ast.FieldSubquery).Child(ast.FieldNode)
	if inner == nil || inner.Type() != ast.SelectNode || len(ast.Nodes(inner[ast.FieldGroupBy])) == 0 ||
		len(ast.Nodes(inner[ast.FieldModifiers])) > 0 || inner[ast.FieldQualify] != nil || inner[ast.FieldSample] != nil ||
		inner.Str(ast.FieldAggregateHandle) != ast.StandardHandling {
		return nil
	}
	if sets, _ := inner[ast.FieldGroupSets].([]any); len(sets) > 1 {
		return nil
	}
	if cte := inner.Child(ast.FieldCTEMap); cte != nil {
		if m, _ := cte["map"].([]any); len(m) > 0 {
			return nil
		}
	}
	if ast.Contains(inner, false, func(e node) bool { return e.Class() == ast.ClassWindow || e.Class() == ast.ClassSubquery }) {
		return nil
	}
	if d.plainExpressions(inner[ast.FieldWhere]) != "" || d.plainExpressions(inner[ast.FieldFromTable]) != "" {
		return nil
	}
	return inner
}

// fullJoinSides are the table references of a top-level FULL join's two
// sides (each reached through inner joins): no side of a FULL join may be
// split by files (each side's unmatched rows would come out of every
// fragment), but both may be exchanged on the join key, which is exact.
func fullJoinSides(root node, refs []tableRef) []tableRef {
	from := root.Child(ast.FieldFromTable)
	if from == nil || from.Type() != ast.Join || from.Str(ast.FieldJoinType) != ast.JoinFull {
		return nil
	}
	switch from.Str(ast.FieldRefType) {
	case ast.RefRegular, "":
	default:
		return nil
	}
	var out []tableRef
	for _, r := range refs {
		if innerHolds(from.Child(ast.FieldLeft), r.node) || innerHolds(from.Child(ast.FieldRight), r.node) {
			out = append(out, r)
		}
	}
	return out
}
