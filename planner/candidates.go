package planner

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
		switch str(ref, "type") {
		case "BASE_TABLE":
			if !splittable {
				return
			}
			for _, r := range refs {
				if sameNode(r.node, ref) {
					out = append(out, r)
				}
			}
		case "JOIN":
			left, _ := ref["left"].(node)
			right, _ := ref["right"].(node)
			switch rt := str(ref, "ref_type"); rt {
			case "REGULAR", "CROSS", "":
			default:
				// NATURAL, ASOF, POSITIONAL, DEPENDENT: keep both sides whole.
				return
			}
			switch str(ref, "join_type") {
			case "INNER":
				visit(left, splittable)
				visit(right, splittable)
			case "LEFT", "SEMI", "ANTI":
				visit(left, splittable)
			case "RIGHT":
				visit(right, splittable)
			}
		case "SUBQUERY":
			sub, _ := ref["subquery"].(node)
			inner, _ := sub["node"].(node)
			if inner != nil && d.scanShaped(inner) {
				from, _ := inner["from_table"].(node)
				visit(from, splittable)
			}
		}
	}
	from, _ := root["from_table"].(node)
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
	if str(n, "type") != "SELECT_NODE" {
		return false
	}
	if mods, _ := n["modifiers"].([]any); len(mods) > 0 {
		return false
	}
	if g, _ := n["group_expressions"].([]any); len(g) > 0 {
		return false
	}
	if n["having"] != nil || n["qualify"] != nil || n["sample"] != nil {
		return false
	}
	if cte, _ := n["cte_map"].(node); cte != nil {
		if m, _ := cte["map"].([]any); len(m) > 0 {
			return false
		}
	}
	return d.plainExpressions(n["select_list"]) == "" && d.plainExpressions(n["where_clause"]) == ""
}
