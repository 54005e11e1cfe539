package planner

import (
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
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
	sel := ast.Nodes(root[ast.FieldSelectList])
	for _, s := range sel {
		if s.Class() == ast.ClassStar {
			return nil, fallbackOf(ReasonStarInAggregate)
		}
	}
	if len(sel) != len(names) {
		return nil, fallbackOf(ReasonSelectListShape)
	}
	a := &aggRewrite{dist: d, merge: map[string]node{}, partialIndex: map[string]string{}}
	groupBy := ast.Nodes(root[ast.FieldGroupBy])
	if root.Str(ast.FieldAggregateHandle) == ast.ForceAggregates {
		// GROUP BY ALL: every select expression without an aggregate.
		groupBy = nil
		for _, s := range sel {
			if !ast.Contains(s, true, func(e node) bool {
				return e.Class() == ast.ClassFunction && d.kinds[strings.ToLower(e.FunctionName())] == "aggregate"
			}) {
				g := s.Copy()
				g[ast.FieldAlias] = ""
				groupBy = append(groupBy, g)
			}
		}
	}
	sets, _ := root[ast.FieldGroupSets].([]any)
	multi := len(sets) > 1
	for _, g := range groupBy {
		if k, ok := intConstant(g); ok {
			if k < 1 || int(k) > len(sel) {
				return nil, fallbackOf(ReasonGroupByOrdinal)
			}
			g = sel[k-1].Copy()
			g[ast.FieldAlias] = ""
		} else if g.Class() == ast.ClassColumnRef && len(g.ColumnNames()) == 1 {
			for _, s := range sel {
				if !strings.EqualFold(s.Alias(), g.ColumnNames()[0]) || ast.Canonical(s) == ast.Canonical(g) {
					continue
				}
				// DuckDB binds a GROUP BY name to a column of the FROM
				// first, to a select-list alias only when there is none.
				if d.fromColumn == nil {
					return nil, fallbackOf(ReasonGroupByAlias)
				}
				col, certain := d.fromColumn(g.ColumnNames()[0])
				if !certain {
					return nil, fallbackOf(ReasonGroupByAlias)
				}
				if !col {
					g = s.Copy() // the alias: group by its expression
					g[ast.FieldAlias] = ""
				}
				// else the column (`SELECT upper(d) AS d … GROUP BY d`
				// groups on the column d; the item is upper(k0)).
				break
			}
		}
		if r := d.plainExpressions(g); r != "" {
			return nil, fallbackOf(ReasonGroupBy, r)
		}
		a.groups = append(a.groups, g.Copy())
	}
	// Collect every aggregate call first: DISTINCT arguments decide the
	// partials' grouping.
	var aggs []node
	collect := func(v any) {
		ast.Contains(v, true, func(e node) bool {
			if e.Class() == ast.ClassFunction && d.kinds[strings.ToLower(e.FunctionName())] == "aggregate" {
				aggs = append(aggs, e)
				return false
			}
			return false
		})
	}
	collect(root[ast.FieldSelectList])
	collect(root[ast.FieldHaving])
	if order != nil {
		collect(order)
	}
	for _, agg := range aggs {
		if err := a.add(agg); err != nil {
			return nil, err
		}
	}
	if a.distinctArg != nil && len(a.groups) == 0 {
		// The partials of a global aggregate with DISTINCT are grouped on
		// its argument: over no rows there are none, and a count must
		// still say 0, not NULL.
		for key := range a.counts {
			a.merge[key] = ast.Coalesce(a.merge[key], ast.Constant("INTEGER", 0))
		}
	}

	// Uncorrelated scalar and EXISTS subqueries outside the aggregates
	// (`count(*) - (SELECT count(*) FROM titles)`), and parameters there
	// (`HAVING count(*) > ?`), are constants of the statement, and a
	// subquery correlated only through the group keys (`(SELECT target
	// FROM targets t WHERE t.region = s.region)` grouped on s.region) is
	// one in each group (Planner.constantSubquery): each
	// fragment computes one as a column of its partials (a subquery over
	// the broadcast tables it reads, a parameter from its arguments), the
	// same value in every row, and the merge, which has no arguments,
	// takes any_value of it. A global aggregate's partials have a row per
	// fragment even over no rows, so the merge has the value then too; one
	// grouped on a DISTINCT argument has none, and the centered moments'
	// merge reads other columns: those fall back.
	a.constants = outputConstants(d, root)
	if len(a.constants) > 0 && (len(a.centered) > 0 || a.distinctArg != nil && len(a.groups) == 0) {
		return nil, fallbackOf(ReasonSubqueryInAggregate)
	}
	for _, q := range a.constants {
		if q.Class() != ast.ClassSubquery {
			continue
		}
		if t := q.Str("subquery_type"); t != "SCALAR" && t != "EXISTS" || d.constant == nil ||
			!d.constant(q.Child(ast.FieldSubquery).Child(ast.FieldNode), a.groups, multi) {
			return nil, fallbackOf(ReasonSubqueryInAggregate)
		}
	}
	merge := mergeSelect()
	final := make([]any, len(sel))
	for i, s := range sel {
		f, err := a.final(s)
		if err != nil {
			return nil, err
		}
		f[ast.FieldAlias] = names[i]
		final[i] = f
	}
	merge[ast.FieldSelectList] = final
	if h := ast.AsNode(root[ast.FieldHaving]); h != nil {
		f, err := a.final(h)
		if err != nil {
			return nil, err
		}
		merge[ast.FieldHaving] = f
	}
	mods := []any{}
	if order != nil {
		o := order.Copy()
		for _, item := range ast.Nodes(o[ast.FieldOrders]) {
			e := ast.AsNode(item["expression"])
			if name, ok := outputColumn(e, nil, names, false); ok && (e.Class() == ast.ClassColumnRef || e.Type() == ast.ExprValueConstant) {
				item["expression"] = ast.ColumnRef(name)
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
	// A LIMIT or OFFSET parameter (`ORDER BY n DESC LIMIT ?`, a prepared
	// top-N): the merge has no arguments, so each fragment returns it as
	// a column of its partials (boundHidden), the same value in every
	// row, and the merge's LIMIT reads it back, as a scan's top-k does.
	// Over no partial rows it is NULL, and there is nothing to limit.
	boundParams := 0
	if limit != nil {
		lm := limit.Copy()
		for _, f := range []string{ast.FieldLimit, ast.FieldOffset} {
			if v := ast.AsNode(lm[f]); v != nil && v.Class() == ast.ClassParameter {
				lm[f] = fromPartials(boundHidden(f))
				boundParams++
			}
		}
		mods = append(mods, lm)
	}
	merge[ast.FieldModifiers] = mods
	keys := make([]any, 0, len(a.groups))
	for i := range a.groups {
		keys = append(keys, ast.ColumnRef(fmt.Sprintf("k%d", i)))
	}
	merge[ast.FieldGroupBy] = keys
	merge[ast.FieldGroupSets] = groupSets(len(keys))
	switch {
	case len(a.centered) > 0 && multi:
		// Grand means per set: the partials expanded once per set.
		var err error
		if merge, err = a.setMerge(merge, keys, sets); err != nil {
			return nil, err
		}
	case len(a.centered) > 0:
		merge[ast.FieldFromTable] = a.centeredPartials(keys)
	case multi:
		// The partials group on every key; the merge forms the sets
		// (their indices are the keys'), GROUPING() over k0, k1, ….
		merge[ast.FieldGroupSets] = ast.Clone(sets)
	}

	// The fragments' statement: grouping keys, the DISTINCT argument, partials.
	var partialSelect, partialGroups []any
	for i, g := range a.groups {
		c := g.Copy()
		c[ast.FieldAlias] = fmt.Sprintf("k%d", i)
		partialSelect = append(partialSelect, c)
		partialGroups = append(partialGroups, g.Copy())
	}
	if a.distinctArg != nil {
		c := a.distinctArg.Copy()
		c[ast.FieldAlias] = "d0"
		partialSelect = append(partialSelect, c)
		partialGroups = append(partialGroups, a.distinctArg.Copy())
	}
	partialSelect = append(partialSelect, ast.List(a.partials)...)
	if len(partialSelect)+len(a.constants)+boundParams == 0 {
		return nil, fallbackOf(ReasonEmptyPartials)
	}
	partial := func(r node) {
		// r's own constants, whose table references read its files.
		subs := outputConstants(d, r)
		r[ast.FieldSelectList] = ast.Clone(partialSelect)
		for i, q := range subs {
			q[ast.FieldAlias] = fmt.Sprintf("s%d", i)
			r[ast.FieldSelectList] = append(r[ast.FieldSelectList].([]any), q)
		}
		// r's own LIMIT and OFFSET parameters, for the merge.
		for _, m := range ast.Nodes(r[ast.FieldModifiers]) {
			if m.Type() == ast.LimitModifier {
				hiddenBounds(r, m)
			}
		}
		r[ast.FieldGroupBy] = ast.Clone(partialGroups)
		if partialGroups == nil {
			r[ast.FieldGroupBy] = []any{}
		}
		r[ast.FieldGroupSets] = groupSets(len(partialGroups))
		r[ast.FieldAggregateHandle] = ast.StandardHandling
		r[ast.FieldHaving] = nil
		r[ast.FieldModifiers] = []any{}
	}
	return &shape{strategy: strategyAggregate, partial: partial, merge: merge, groups: a.groups, order: order, limit: limit, distinct: a.distinctArg, groupingSets: multi, centered: len(a.centered) > 0, lists: a.lists}, nil
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
	counts       map[string]bool   // the merge keys of count and count_star
	centered     []centered        // grand means the merge reads (moments.go)
	lists        bool              // some partials are lists of values (addList)
	constants    []node            // the output expressions' constant subqueries and parameters, column s<i> of the partials
}

// outputConstants are the subquery expressions and parameters of a
// statement's select list and HAVING outside aggregate calls, in the
// order of a walk that is the same in every copy of the statement.
// Subqueries inside aggregate calls have made the statement fall back
// before (aggRewrite.add); constants in ORDER BY are met in a copy, not
// found here, and fall back in final or in the merge's check.
func outputConstants(d *dist, root node) []node {
	var out []node
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case node:
			switch {
			case v.Class() == ast.ClassSubquery || v.Class() == ast.ClassParameter:
				out = append(out, v)
				return
			case v.Class() == ast.ClassFunction && d.kinds[strings.ToLower(v.FunctionName())] == "aggregate":
				return
			}
			for _, k := range sortedKeys(v) {
				visit(v[k])
			}
		case []any:
			for _, c := range v {
				visit(c)
			}
		}
	}
	visit(root[ast.FieldSelectList])
	visit(root[ast.FieldHaving])
	return out
}

// partial adds a partial aggregate column (once) and returns its name.
func (a *aggRewrite) partial(e node) string {
	key := ast.Canonical(e)
	if name, ok := a.partialIndex[key]; ok {
		return name
	}
	name := fmt.Sprintf("p%d", len(a.partials))
	c := e.Copy()
	c[ast.FieldAlias] = name
	a.partials = append(a.partials, c)
	a.partialIndex[key] = name
	return name
}

func (a *aggRewrite) add(agg node) error {
	name := strings.ToLower(agg.FunctionName())
	if ast.Contains(agg, false, func(e node) bool { return e.Class() == ast.ClassSubquery }) {
		// A partial is a copy of the call, whose table references the
		// fragment could no longer bind to its files.
		return fallbackOf(ReasonSubqueryInAggregate, name)
	}
	if holistic[name] && a.dist.listPartials {
		return a.addList(name, agg)
	}
	if !decomposable[name] && momentAggregates[name] == 0 {
		return fallbackOf(ReasonAggregate, name)
	}
	if ob := ast.AsNode(agg[ast.FieldOrderBys]); ob != nil {
		if orders, _ := ob[ast.FieldOrders].([]any); len(orders) > 0 {
			return fallbackOf(ReasonOrderedAggregate, name)
		}
	}
	children := ast.Nodes(agg[ast.FieldChildren])
	key, done, err := a.plainCall(agg)
	if done || err != nil {
		return err
	}
	if distinct, _ := agg[ast.FieldDistinct].(bool); distinct || name == "approx_count_distinct" {
		if len(children) != 1 || agg[ast.FieldFilter] != nil {
			return fallbackOf(ReasonDistinctAggregateShape)
		}
		if a.distinctArg == nil {
			a.distinctArg = children[0].Copy()
		} else if ast.Canonical(a.distinctArg) != ast.Canonical(children[0]) {
			return fallbackOf(ReasonDistinctArguments)
		}
		switch name {
		case "count", "sum", "avg", "mean", "min", "max", "approx_count_distinct":
		default:
			return fallbackOf(ReasonDistinctAggregate, name)
		}
		m := function(name, []any{ast.ColumnRef("d0")})
		m[ast.FieldDistinct] = name != "approx_count_distinct"
		a.merge[key] = m
		return nil
	}
	bare := agg.Copy()
	bare[ast.FieldAlias] = ""
	if args := momentAggregates[name]; args > 0 {
		if len(children) != args {
			return fallbackOf(ReasonAggregate, name)
		}
		a.merge[key] = a.addMoments(name, bare)
		return nil
	}
	switch name {
	case "count_star", "count":
		a.merge[key] = ast.Cast(function("sum", []any{ast.ColumnRef(a.partial(bare))}), "BIGINT")
		if a.counts == nil {
			a.counts = map[string]bool{}
		}
		a.counts[key] = true
	case "sum":
		a.merge[key] = function("sum", []any{ast.ColumnRef(a.partial(bare))})
	case "min", "max", "bool_and", "bool_or":
		a.merge[key] = function(name, []any{ast.ColumnRef(a.partial(bare))})
	case "avg", "mean":
		s := bare.Copy()
		s[ast.FieldFunctionName] = "sum"
		c := bare.Copy()
		c[ast.FieldFunctionName] = "count"
		a.merge[key] = ast.Operator("/",
			ast.Cast(function("sum", []any{ast.ColumnRef(a.partial(s))}), "DOUBLE"),
			function("sum", []any{ast.ColumnRef(a.partial(c))}))
	}
	return nil
}

// plainCall checks that an aggregate call's arguments and FILTER are
// plain expressions, and returns its key among the merges and whether it
// is there already.
func (a *aggRewrite) plainCall(agg node) (key string, done bool, err error) {
	for _, c := range ast.Nodes(agg[ast.FieldChildren]) {
		if r := a.dist.plainExpressions(c); r != "" {
			return "", false, fallbackOf(ReasonAggregateArgument, r)
		}
	}
	if r := a.dist.plainExpressions(agg[ast.FieldFilter]); r != "" {
		return "", false, fallbackOf(ReasonAggregateFilter, r)
	}
	key = ast.Canonical(agg)
	_, done = a.merge[key]
	return key, done, nil
}

// holistic are the aggregates without a partial state smaller than their
// values whose result does not depend on the order of those values.
var holistic = map[string]bool{"median": true, "quantile_cont": true, "quantile_disc": true, "quantile": true}

// addList adds a holistic aggregate `f(x, args…)` as the list of its
// values: each fragment's partial is `list(x)` (its FILTER kept) and the
// merge `list_aggregate(flatten(list(p)), 'f', args…)`, DuckDB's own f
// over the same values, NULLs included (f skips them as it does over
// rows). Only plain calls: no DISTINCT, no ORDER BY, constant arguments
// after the first.
func (a *aggRewrite) addList(name string, agg node) error {
	children := ast.Nodes(agg[ast.FieldChildren])
	distinct, _ := agg[ast.FieldDistinct].(bool)
	ordered := false
	if ob := ast.AsNode(agg[ast.FieldOrderBys]); ob != nil {
		orders, _ := ob[ast.FieldOrders].([]any)
		ordered = len(orders) > 0
	}
	if distinct || ordered || len(children) == 0 {
		return fallbackOf(ReasonAggregate, name)
	}
	for _, c := range children[1:] {
		if c.Class() != ast.ClassConstant && (c.Class() != ast.ClassFunction || c.FunctionName() != "list_value" ||
			ast.Contains(c, false, func(n node) bool { return n.Class() == ast.ClassColumnRef })) {
			return fallbackOf(ReasonAggregateArgument, name)
		}
	}
	key, done, err := a.plainCall(agg)
	if done || err != nil {
		return err
	}
	l := agg.Copy()
	l[ast.FieldAlias], l[ast.FieldFunctionName], l[ast.FieldChildren] = "", "list", []any{children[0].Copy()}
	args := []any{function("flatten", []any{function("list", []any{ast.ColumnRef(a.partial(l))})}), ast.Constant("VARCHAR", name)}
	for _, c := range children[1:] {
		args = append(args, c.Copy())
	}
	a.merge[key] = function("list_aggregate", args)
	a.lists = true
	return nil
}

// final rewrites an output expression over the partials: grouping
// expressions become key columns, aggregate calls their merge expressions.
func (a *aggRewrite) final(e node) (node, error) {
	key := ast.Canonical(e)
	for i, g := range a.groups {
		if ast.Canonical(g) == key {
			return ast.ColumnRef(fmt.Sprintf("k%d", i)), nil
		}
	}
	switch e.Class() {
	case ast.ClassFunction:
		switch a.dist.kinds[strings.ToLower(e.FunctionName())] {
		case "scalar":
		case "aggregate":
			m, ok := a.merge[key]
			if !ok {
				return nil, fallbackOf(ReasonAggregate, e.FunctionName())
			}
			return m.Copy(), nil
		default:
			return nil, fallbackOf(ReasonFunction, strings.ToLower(e.FunctionName()))
		}
	case ast.ClassColumnRef:
		// `device` grouped as `p.device` (or the reverse): the same column
		// when exactly one key has that name.
		cn := e.ColumnNames()
		match := -1
		for i, g := range a.groups {
			if g.Class() != ast.ClassColumnRef {
				continue
			}
			gn := g.ColumnNames()
			if strings.EqualFold(gn[len(gn)-1], cn[len(cn)-1]) && (len(gn) == 1 || len(cn) == 1) {
				if match >= 0 {
					return nil, fallbackOf(ReasonAmbiguousColumn, cn[len(cn)-1])
				}
				match = i
			}
		}
		if match < 0 {
			return nil, fallbackOf(ReasonUngroupedColumn, strings.Join(cn, "."))
		}
		return ast.ColumnRef(fmt.Sprintf("k%d", match)), nil
	case ast.ClassSubquery, ast.ClassParameter:
		for i, q := range a.constants {
			if sameNode(q, e) {
				return function("any_value", []any{ast.ColumnRef(fmt.Sprintf("s%d", i))}), nil
			}
		}
		if e.Class() == ast.ClassSubquery {
			return nil, fallbackOf(ReasonSubqueryInAggregate)
		}
	case ast.ClassWindow:
		return nil, fallbackOf(ReasonWindowFunction)
	}
	return ast.MapChildren(e, a.final)
}
