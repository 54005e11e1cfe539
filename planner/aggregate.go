package planner

import (
	"fmt"
	"strings"
)

// aggregate distributes a grouped or global aggregate the way Loki's
// shardmapper does: workers compute partial aggregates per group (count,
// sum, min, max, bool_and/or as themselves; avg as a sum and a count), the
// coordinator groups the partials again and combines them (counts and sums
// are summed, avg = sum of sums / sum of counts). DISTINCT aggregates over
// one shared argument x add x to the partial grouping keys and are finished
// with the same DISTINCT aggregate over x. HAVING, ORDER BY and LIMIT run
// in the merge.
func (d *dist) aggregate(root node, names []string, order, limit node) (*shape, error) {
	if err := uniqueNames(names); err != nil {
		return nil, err
	}
	sel := asNodes(root["select_list"])
	for _, s := range sel {
		if str(s, "class") == "STAR" {
			return nil, fallbackf("star_in_aggregate")
		}
	}
	if len(sel) != len(names) {
		return nil, fallbackf("select_list_shape")
	}
	a := &aggRewrite{dist: d, merge: map[string]node{}, partialIndex: map[string]string{}}
	for _, g := range asNodes(root["group_expressions"]) {
		if k, ok := intConstant(g); ok {
			if k < 1 || int(k) > len(sel) {
				return nil, fallbackf("group_by_ordinal")
			}
			g = cloneNode(sel[k-1])
			g["alias"] = ""
		} else if str(g, "class") == "COLUMN_REF" && len(columnNames(g)) == 1 {
			for _, s := range sel {
				if strings.EqualFold(str(s, "alias"), columnNames(g)[0]) && canonical(s) != canonical(g) {
					return nil, fallbackf("group_by_alias")
				}
			}
		}
		if r := d.plainExpressions(g); r != "" {
			return nil, fallbackf("group_by:%s", r)
		}
		a.groups = append(a.groups, cloneNode(g))
	}
	// Collect every aggregate call first: DISTINCT arguments decide the
	// partials' grouping.
	var aggs []node
	collect := func(v any) {
		contains(v, true, func(e node) bool {
			if str(e, "class") == "FUNCTION" && d.kinds[strings.ToLower(str(e, "function_name"))] == "aggregate" {
				aggs = append(aggs, e)
				return false
			}
			return false
		})
	}
	collect(root["select_list"])
	collect(root["having"])
	if order != nil {
		collect(order)
	}
	for _, agg := range aggs {
		if err := a.add(agg); err != nil {
			return nil, err
		}
	}

	merge := selectNode()
	final := make([]any, len(sel))
	for i, s := range sel {
		f, err := a.final(s)
		if err != nil {
			return nil, err
		}
		f["alias"] = names[i]
		final[i] = f
	}
	merge["select_list"] = final
	if h := asNode(root["having"]); h != nil {
		f, err := a.final(h)
		if err != nil {
			return nil, err
		}
		merge["having"] = f
	}
	mods := []any{}
	if order != nil {
		o := cloneNode(order)
		for _, item := range asNodes(o["orders"]) {
			e := asNode(item["expression"])
			if name, ok := outputColumn(e, nil, names, false); ok && (str(e, "class") == "COLUMN_REF" || str(e, "type") == "VALUE_CONSTANT") {
				item["expression"] = colRef(name)
				continue
			}
			f, err := a.final(e)
			if err != nil {
				return nil, err
			}
			item["expression"] = f
		}
		mods = append(mods, o)
	}
	if limit != nil {
		mods = append(mods, cloneNode(limit))
	}
	merge["modifiers"] = mods
	keys := make([]any, 0, len(a.groups))
	for i := range a.groups {
		keys = append(keys, colRef(fmt.Sprintf("k%d", i)))
	}
	merge["group_expressions"] = keys
	merge["group_sets"] = groupSets(len(keys))

	// The fragments' statement: grouping keys, the DISTINCT argument, partials.
	var partialSelect, partialGroups []any
	for i, g := range a.groups {
		c := cloneNode(g)
		c["alias"] = fmt.Sprintf("k%d", i)
		partialSelect = append(partialSelect, c)
		partialGroups = append(partialGroups, cloneNode(g))
	}
	if a.distinctArg != nil {
		c := cloneNode(a.distinctArg)
		c["alias"] = "d0"
		partialSelect = append(partialSelect, c)
		partialGroups = append(partialGroups, cloneNode(a.distinctArg))
	}
	partialSelect = append(partialSelect, nodesToAny(a.partials)...)
	if len(partialSelect) == 0 {
		return nil, fallbackf("empty_partials")
	}
	partial := func(r node) {
		r["select_list"] = clone(partialSelect)
		r["group_expressions"] = clone(partialGroups)
		if partialGroups == nil {
			r["group_expressions"] = []any{}
		}
		r["group_sets"] = groupSets(len(partialGroups))
		r["having"] = nil
		r["modifiers"] = []any{}
	}
	return &shape{strategy: strategyAggregate, partial: partial, merge: merge}, nil
}

func groupSets(n int) []any {
	if n == 0 {
		return []any{}
	}
	set := make([]any, n)
	for i := range set {
		set[i] = i
	}
	return []any{set}
}

// aggRewrite accumulates the partial aggregates and the merge expression of
// every aggregate call.
type aggRewrite struct {
	dist         *dist
	groups       []node
	distinctArg  node
	partials     []node
	partialIndex map[string]string // canonical partial -> column name
	merge        map[string]node   // canonical aggregate call -> merge expression
}

// partial adds a partial aggregate column (once) and returns its name.
func (a *aggRewrite) partial(e node) string {
	key := canonical(e)
	if name, ok := a.partialIndex[key]; ok {
		return name
	}
	name := fmt.Sprintf("p%d", len(a.partials))
	c := cloneNode(e)
	c["alias"] = name
	a.partials = append(a.partials, c)
	a.partialIndex[key] = name
	return name
}

func (a *aggRewrite) add(agg node) error {
	name := strings.ToLower(str(agg, "function_name"))
	if !decomposable[name] {
		return fallbackf("aggregate:%s", name)
	}
	if ob := asNode(agg["order_bys"]); ob != nil {
		if orders, _ := ob["orders"].([]any); len(orders) > 0 {
			return fallbackf("ordered_aggregate:%s", name)
		}
	}
	children := asNodes(agg["children"])
	for _, c := range children {
		if r := a.dist.plainExpressions(c); r != "" {
			return fallbackf("aggregate_argument:%s", r)
		}
	}
	if r := a.dist.plainExpressions(agg["filter"]); r != "" {
		return fallbackf("aggregate_filter:%s", r)
	}
	key := canonical(agg)
	if _, done := a.merge[key]; done {
		return nil
	}
	if distinct, _ := agg["distinct"].(bool); distinct {
		if len(children) != 1 || agg["filter"] != nil {
			return fallbackf("distinct_aggregate_shape")
		}
		if a.distinctArg == nil {
			a.distinctArg = cloneNode(children[0])
		} else if canonical(a.distinctArg) != canonical(children[0]) {
			return fallbackf("distinct_arguments")
		}
		switch name {
		case "count", "sum", "avg", "mean", "min", "max":
		default:
			return fallbackf("distinct_aggregate:%s", name)
		}
		m := function(name, []any{colRef("d0")})
		m["distinct"] = true
		a.merge[key] = m
		return nil
	}
	bare := cloneNode(agg)
	bare["alias"] = ""
	switch name {
	case "count_star", "count":
		a.merge[key] = castTo(function("sum", []any{colRef(a.partial(bare))}), "BIGINT")
	case "sum":
		a.merge[key] = function("sum", []any{colRef(a.partial(bare))})
	case "min", "max", "bool_and", "bool_or":
		a.merge[key] = function(name, []any{colRef(a.partial(bare))})
	case "avg", "mean":
		s := cloneNode(bare)
		s["function_name"] = "sum"
		c := cloneNode(bare)
		c["function_name"] = "count"
		a.merge[key] = binaryOp("/",
			castTo(function("sum", []any{colRef(a.partial(s))}), "DOUBLE"),
			function("sum", []any{colRef(a.partial(c))}))
	}
	return nil
}

// final rewrites an output expression over the partials: grouping
// expressions become key columns, aggregate calls their merge expressions.
func (a *aggRewrite) final(e node) (node, error) {
	key := canonical(e)
	for i, g := range a.groups {
		if canonical(g) == key {
			return colRef(fmt.Sprintf("k%d", i)), nil
		}
	}
	switch str(e, "class") {
	case "FUNCTION":
		switch a.dist.kinds[strings.ToLower(str(e, "function_name"))] {
		case "scalar":
		case "aggregate":
			m, ok := a.merge[key]
			if !ok {
				return nil, fallbackf("aggregate:%s", str(e, "function_name"))
			}
			return cloneNode(m), nil
		default:
			return nil, fallbackf("function:%s", strings.ToLower(str(e, "function_name")))
		}
	case "COLUMN_REF":
		// `device` grouped as `p.device` (or the reverse): the same column
		// when exactly one key has that name.
		cn := columnNames(e)
		match := -1
		for i, g := range a.groups {
			if str(g, "class") != "COLUMN_REF" {
				continue
			}
			gn := columnNames(g)
			if strings.EqualFold(gn[len(gn)-1], cn[len(cn)-1]) && (len(gn) == 1 || len(cn) == 1) {
				if match >= 0 {
					return nil, fallbackf("ambiguous_column:%s", cn[len(cn)-1])
				}
				match = i
			}
		}
		if match < 0 {
			return nil, fallbackf("ungrouped_column:%s", strings.Join(cn, "."))
		}
		return colRef(fmt.Sprintf("k%d", match)), nil
	case "SUBQUERY":
		return nil, fallbackf("subquery_in_aggregate_result")
	case "WINDOW":
		return nil, fallbackf("window_function")
	}
	out := make(node, len(e))
	for k, v := range e {
		switch v := v.(type) {
		case node:
			f, err := a.final(v)
			if err != nil {
				return nil, err
			}
			out[k] = f
		case []any:
			list := make([]any, len(v))
			for i, x := range v {
				if xn, ok := x.(node); ok {
					f, err := a.final(xn)
					if err != nil {
						return nil, err
					}
					list[i] = f
				} else {
					list[i] = clone(x)
				}
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	return out, nil
}
