package planner

import "github.com/quiver-data/quiver/planner/ast"

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
		if k, ok = intConstant(ast.AsNode(limit[ast.FieldLimit])); !ok {
			return nil, fallbackOf(ReasonLimitNotConstant)
		}
		if limit[ast.FieldOffset] != nil {
			if offset, ok = intConstant(ast.AsNode(limit[ast.FieldOffset])); !ok {
				return nil, fallbackOf(ReasonOffsetNotConstant)
			}
		}
	}
	merge := mergeSelect()
	merge[ast.FieldSelectList] = []any{ast.Star()}
	mods := []any{}
	if distinct != nil {
		mods = append(mods, distinct.Copy())
	}
	if order != nil {
		mapped, err := d.mapOrders(root, names, order)
		if err != nil {
			return nil, err
		}
		mods = append(mods, mapped)
	}
	if limit != nil {
		lm := node{ast.FieldType: "LIMIT_MODIFIER", ast.FieldLimit: ast.Constant("BIGINT", k), ast.FieldOffset: nil}
		if offset != 0 {
			lm[ast.FieldOffset] = ast.Constant("BIGINT", offset)
		}
		mods = append(mods, lm)
	}
	merge[ast.FieldModifiers] = mods
	strategy := strategyTopK
	partial := func(r node) {
		if limit == nil {
			return
		}
		for _, m := range ast.Nodes(r[ast.FieldModifiers]) {
			if m.Type() == ast.LimitModifier {
				m[ast.FieldLimit] = ast.Constant("BIGINT", k+offset)
				m[ast.FieldOffset] = nil
			}
		}
	}
	return &shape{strategy: strategy, partial: partial, merge: merge}, nil
}

// distinct distributes SELECT DISTINCT: fragments deduplicate, the
// coordinator deduplicates the union.
func (d *dist) distinct(root node) (*shape, error) {
	merge := mergeSelect()
	merge[ast.FieldSelectList] = []any{ast.Star()}
	merge[ast.FieldModifiers] = []any{node{ast.FieldType: ast.DistinctModifier, "distinct_on_targets": []any{}}}
	return &shape{strategy: strategyDistinct, partial: func(node) {}, merge: merge}, nil
}

// mapOrders rewrites an ORDER BY over the query's inputs into one over its
// output columns (the partials' columns), or falls back when an order
// expression is not an output column.
func (d *dist) mapOrders(root node, names []string, order node) (node, error) {
	sel := ast.Nodes(root[ast.FieldSelectList])
	hasStar := false
	for _, s := range sel {
		if s.Class() == ast.ClassStar {
			hasStar = true
		}
	}
	out := order.Copy()
	for _, o := range ast.Nodes(out[ast.FieldOrders]) {
		e := ast.AsNode(o["expression"])
		name, ok := outputColumn(e, sel, names, hasStar)
		if !ok {
			return nil, fallbackOf(ReasonOrderByExpression)
		}
		o["expression"] = ast.ColumnRef(name)
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
	if e.Class() == ast.ClassColumnRef {
		cn := e.ColumnNames()
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
	want := ast.Canonical(e)
	for i, s := range sel {
		if ast.Canonical(s) == want {
			return names[i], true
		}
	}
	return "", false
}
