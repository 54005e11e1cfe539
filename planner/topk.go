package planner

import "strings"

// topK distributes ORDER BY … LIMIT k [OFFSET m] (and LIMIT without ORDER
// BY): each fragment returns its own first k+m rows in order, the
// coordinator sorts their union and applies the original limit and offset.
// With DISTINCT, fragments deduplicate first and the merge deduplicates the
// union; a globally first distinct row is among its fragment's first k+m
// distinct rows, so nothing is lost.
func (d *dist) topK(root node, names []string, distinct, order, limit node) (*shape, error) {
	if err := uniqueNames(names); err != nil {
		return nil, err
	}
	var k, offset int64
	if limit != nil {
		var ok bool
		if k, ok = intConstant(asNode(limit["limit"])); !ok {
			return nil, fallbackf("limit_not_constant")
		}
		if limit["offset"] != nil {
			if offset, ok = intConstant(asNode(limit["offset"])); !ok {
				return nil, fallbackf("offset_not_constant")
			}
		}
	}
	merge := selectNode()
	merge["select_list"] = []any{star()}
	mods := []any{}
	if distinct != nil {
		mods = append(mods, cloneNode(distinct))
	}
	if order != nil {
		mapped, err := d.mapOrders(root, names, order)
		if err != nil {
			return nil, err
		}
		mods = append(mods, mapped)
	}
	if limit != nil {
		lm := node{"type": "LIMIT_MODIFIER", "limit": constant("BIGINT", k), "offset": nil}
		if offset != 0 {
			lm["offset"] = constant("BIGINT", offset)
		}
		mods = append(mods, lm)
	}
	merge["modifiers"] = mods
	strategy := strategyTopK
	partial := func(r node) {
		if limit == nil {
			return
		}
		for _, m := range asNodes(r["modifiers"]) {
			if str(m, "type") == "LIMIT_MODIFIER" {
				m["limit"] = constant("BIGINT", k+offset)
				m["offset"] = nil
			}
		}
	}
	return &shape{strategy: strategy, partial: partial, merge: merge}, nil
}

// distinct distributes SELECT DISTINCT: fragments deduplicate, the
// coordinator deduplicates the union.
func (d *dist) distinct(root node) (*shape, error) {
	merge := selectNode()
	merge["select_list"] = []any{star()}
	merge["modifiers"] = []any{node{"type": "DISTINCT_MODIFIER", "distinct_on_targets": []any{}}}
	return &shape{strategy: strategyDistinct, partial: func(node) {}, merge: merge}, nil
}

// mapOrders rewrites an ORDER BY over the query's inputs into one over its
// output columns (the partials' columns), or falls back when an order
// expression is not an output column.
func (d *dist) mapOrders(root node, names []string, order node) (node, error) {
	sel := asNodes(root["select_list"])
	hasStar := false
	for _, s := range sel {
		if str(s, "class") == "STAR" {
			hasStar = true
		}
	}
	out := cloneNode(order)
	for _, o := range asNodes(out["orders"]) {
		e := asNode(o["expression"])
		name, ok := outputColumn(e, sel, names, hasStar)
		if !ok {
			return nil, fallbackf("order_by_expression")
		}
		o["expression"] = colRef(name)
	}
	return out, nil
}

// outputColumn finds the output column an ORDER BY expression names: an
// ordinal, an output name, or an expression of the select list.
func outputColumn(e node, sel []node, names []string, hasStar bool) (string, bool) {
	if k, ok := intConstant(e); ok {
		if k >= 1 && int(k) <= len(names) {
			return names[k-1], true
		}
		return "", false
	}
	if str(e, "class") == "COLUMN_REF" {
		cn := columnNames(e)
		last := cn[len(cn)-1]
		if len(cn) == 1 || hasStar {
			for _, n := range names {
				if strings.EqualFold(n, last) {
					return n, true
				}
			}
		}
	}
	if hasStar || len(sel) != len(names) {
		return "", false
	}
	want := canonical(e)
	for i, s := range sel {
		if canonical(s) == want {
			return names[i], true
		}
	}
	return "", false
}

func asNode(v any) node {
	n, _ := v.(node)
	return n
}
