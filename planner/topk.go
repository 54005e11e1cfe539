package planner

import (
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// topK distributes ORDER BY … LIMIT k [OFFSET m] (and LIMIT without ORDER
// BY): each fragment returns its own first k+m rows in order, the
// coordinator sorts their union and applies the original limit and offset.
// With DISTINCT, fragments deduplicate first and the merge deduplicates the
// union; a globally first distinct row is among its fragment's first k+m
// distinct rows, so nothing is lost.
func (d *dist) topK(root node, names []string, distinct, order, limit node) (*shape, error) {
	return d.topKOf(root, names, distinct, order, limit, false)
}

// topKOf is topK; with hide (a plain scan's own statement, not a merge or
// a part), an ORDER BY expression that is no output column is computed by
// the fragments as a hidden column (orderHidden) the merge sorts on and
// leaves out.
func (d *dist) topKOf(root node, names []string, distinct, order, limit node, hide bool) (*shape, error) {
	if err := uniqueNames(names); err != nil {
		return nil, err
	}
	// A LIMIT or OFFSET is a constant or, in a scan's own top-k, a
	// parameter (`LIMIT ? OFFSET ?`, a page of a prepared query): the
	// fragments have the arguments and keep their first `? + ?` rows; the
	// merge has none, so the fragments also return each as a hidden
	// column (boundHidden) the merge's LIMIT and OFFSET read back. Under
	// DISTINCT too: the column is one value in every row, so the rows
	// distinct with it are those distinct without it.
	var k, offset int64
	var limitParam, offsetParam bool
	if limit != nil {
		bound := func(e node, reason Reason) (int64, bool, error) {
			if v, ok := intConstant(e); ok {
				return v, false, nil
			}
			if hide && e.Class() == ast.ClassParameter {
				return 0, true, nil
			}
			return 0, false, fallbackOf(reason)
		}
		var err error
		if k, limitParam, err = bound(ast.AsNode(limit[ast.FieldLimit]), ReasonLimitNotConstant); err != nil {
			return nil, err
		}
		if limit[ast.FieldOffset] != nil {
			if offset, offsetParam, err = bound(ast.AsNode(limit[ast.FieldOffset]), ReasonOffsetNotConstant); err != nil {
				return nil, err
			}
		}
	}
	merge := mergeSelect()
	star := ast.Star()
	merge[ast.FieldSelectList] = []any{star}
	mods := []any{}
	if distinct != nil {
		mods = append(mods, distinct.Copy())
	}
	var hidden []int // the ORDER BY items the fragments compute as hidden columns
	if order != nil {
		mapped, h, err := d.mapOrders(root, names, order, hide && distinct == nil)
		if err != nil {
			return nil, err
		}
		mods, hidden = append(mods, mapped), h
		for i := range hidden {
			star["exclude_list"] = append(star["exclude_list"].([]any), orderHidden(i))
		}
	}
	if limit != nil {
		lm := node{ast.FieldType: "LIMIT_MODIFIER", ast.FieldLimit: ast.Constant("BIGINT", k), ast.FieldOffset: nil}
		if limitParam {
			lm[ast.FieldLimit] = fromPartials(boundHidden(ast.FieldLimit))
			star["exclude_list"] = append(star["exclude_list"].([]any), boundHidden(ast.FieldLimit))
		}
		switch {
		case offsetParam:
			lm[ast.FieldOffset] = fromPartials(boundHidden(ast.FieldOffset))
			star["exclude_list"] = append(star["exclude_list"].([]any), boundHidden(ast.FieldOffset))
		case offset != 0:
			lm[ast.FieldOffset] = ast.Constant("BIGINT", offset)
		}
		mods = append(mods, lm)
	}
	merge[ast.FieldModifiers] = mods
	strategy := strategyTopK
	partial := func(r node) {
		if len(hidden) > 0 {
			// r's own ORDER BY items, whose table references are its.
			o, _, _ := orderAndLimit(r)
			items := ast.Nodes(o[ast.FieldOrders])
			for i, at := range hidden {
				c := ast.AsNode(items[at]["expression"]).Copy()
				c[ast.FieldAlias] = orderHidden(i)
				r[ast.FieldSelectList] = append(r[ast.FieldSelectList].([]any), c)
			}
		}
		if limit == nil {
			return
		}
		for _, m := range ast.Nodes(r[ast.FieldModifiers]) {
			if m.Type() != ast.LimitModifier {
				continue
			}
			if !limitParam && !offsetParam {
				m[ast.FieldLimit] = ast.Constant("BIGINT", k+offset)
				m[ast.FieldOffset] = nil
				continue
			}
			// r's own parameters: the first `limit + offset` rows, and
			// each parameter a hidden column for the merge.
			first := ast.AsNode(m[ast.FieldLimit])
			hiddenBounds(r, m)
			if off := ast.AsNode(m[ast.FieldOffset]); off != nil {
				first = ast.Operator("+", first, off)
			}
			m[ast.FieldLimit], m[ast.FieldOffset] = first, nil
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

// boundHidden names the hidden column of a top-k's partials that holds
// its LIMIT (field limit) or OFFSET parameter.
func boundHidden(field string) string {
	if field == ast.FieldLimit {
		return "quiver_limit"
	}
	return "quiver_offset"
}

// hiddenBounds appends to r's select list each LIMIT or OFFSET of its
// limit modifier m that is a parameter, as the boundHidden column a
// merge reads it back from (fromPartials).
func hiddenBounds(r, m node) {
	for _, f := range []string{ast.FieldLimit, ast.FieldOffset} {
		if v := ast.AsNode(m[f]); v != nil && v.Class() == ast.ClassParameter {
			c := v.Copy()
			c[ast.FieldAlias] = boundHidden(f)
			r[ast.FieldSelectList] = append(r[ast.FieldSelectList].([]any), c)
		}
	}
}

// fromPartials is `(SELECT any_value(c) FROM quiver_partials)`, a value
// every partial row holds alike; NULL over no rows, when there is nothing
// to limit.
func fromPartials(c string) node {
	sel := mergeSelect()
	sel[ast.FieldSelectList] = []any{function("any_value", []any{ast.ColumnRef(c)})}
	return node{ast.FieldClass: ast.ClassSubquery, ast.FieldType: "SUBQUERY", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		"subquery_type": "SCALAR", ast.FieldSubquery: node{ast.FieldNode: sel, ast.FieldNamedParams: []any{}}, ast.FieldChild: nil,
		"comparison_type": "INVALID"}
}

// orderHidden names the i-th hidden ORDER BY column of a top-k's partials.
func orderHidden(i int) string { return fmt.Sprintf("quiver_o%d", i) }

// mapOrders rewrites an ORDER BY over the query's inputs into one over its
// output columns (the partials' columns), or falls back when an order
// expression is not an output column. With hide, such an expression is a
// hidden column instead (`ORDER BY revenue DESC LIMIT 10` selecting
// play_id) when it is a plain expression of the FROM clause's columns: no
// aggregate, window or subquery, and no name that is also an output
// column's (ORDER BY would bind a select alias where the select list
// binds the column). It returns the indices of the hidden items.
func (d *dist) mapOrders(root node, names []string, order node, hide bool) (node, []int, error) {
	sel := ast.Nodes(root[ast.FieldSelectList])
	hasStar := false
	for _, s := range sel {
		if s.Class() == ast.ClassStar {
			hasStar = true
		}
	}
	out := order.Copy()
	var hidden []int
	for i, o := range ast.Nodes(out[ast.FieldOrders]) {
		e := ast.AsNode(o["expression"])
		name, ok := outputColumn(e, sel, names, hasStar)
		if !ok {
			if !hide || !hideable(d, e, names) {
				return nil, nil, fallbackOf(ReasonOrderByExpression)
			}
			name = orderHidden(len(hidden))
			hidden = append(hidden, i)
		}
		o["expression"] = ast.ColumnRef(name)
	}
	return out, hidden, nil
}

// hideable reports whether an ORDER BY expression can be a hidden column
// of the partials (mapOrders).
func hideable(d *dist, e node, names []string) bool {
	if _, ok := intConstant(e); ok || d.plainExpressions(e) != "" || !readsColumn(e) {
		return false
	}
	return !ast.Contains(e, false, func(n node) bool {
		if n.Class() == ast.ClassSubquery || n.Class() == ast.ClassParameter {
			return true
		}
		if n.Class() != ast.ClassColumnRef {
			return false
		}
		cn := n.ColumnNames()
		for _, name := range names {
			if strings.EqualFold(name, cn[len(cn)-1]) {
				return true
			}
		}
		return false
	})
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
