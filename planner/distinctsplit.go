package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// DISTINCT aggregates of several arguments. `SELECT k, count(DISTINCT a),
// count(DISTINCT b), count(*) FROM t WHERE w GROUP BY k` has no partials
// one exchange can finish: each argument needs its own (keys, argument)
// pairs. It is the join, on the keys, of one grouped query per argument
// over the same rows,
//
//	SELECT quiver_d0.quiver_g0 AS k, quiver_d0.quiver_a0 AS …, quiver_d1.quiver_a1 AS …, quiver_d0.quiver_a2 AS …
//	FROM (SELECT k AS quiver_g0, count(DISTINCT a) AS quiver_a0, count(*) AS quiver_a2 FROM t WHERE w GROUP BY k) quiver_d0
//	JOIN (SELECT k AS quiver_g0, count(DISTINCT b) AS quiver_a1 FROM t WHERE w GROUP BY k) quiver_d1
//	  ON quiver_d0.quiver_g0 IS NOT DISTINCT FROM quiver_d1.quiver_g0
//
// Both read the same rows, so they have the same groups, NULL keys
// included (hence IS NOT DISTINCT FROM): the join pairs each group with
// itself once. Without GROUP BY each is one row and the join a cross
// join. The aggregates without DISTINCT go with the first argument's; the
// HAVING clause becomes the outer WHERE, ORDER BY and LIMIT stay outside.
// Each grouped query is a stage of its own (one DISTINCT argument, which
// the aggregate strategies distribute), Trino's per-argument MarkDistinct
// in SQL. Only plain shapes: one grouping set, no window, QUALIFY, sample,
// CTE, star, parameter or subquery outside the FROM and WHERE clauses, and
// every column outside the aggregates a group key.

// splitDistinct rewrites root (a copy of the statement) as its join of one
// grouped query per DISTINCT argument, when it qualifies (see above);
// names are the result's column names. It reports whether it did.
func (x *extraction) splitDistinct(ctx context.Context, root node, names []string) bool {
	kinds, err := x.p.loadKinds(ctx)
	if err != nil || root.Type() != ast.SelectNode || root[ast.FieldSample] != nil || root[ast.FieldQualify] != nil ||
		root.Str(ast.FieldAggregateHandle) != ast.StandardHandling {
		return false
	}
	if sets, _ := root[ast.FieldGroupSets].([]any); len(sets) > 1 {
		return false
	}
	if cm, _ := root[ast.FieldCTEMap].(node); len(ast.Nodes(cm["map"])) > 0 {
		return false
	}
	from := root.Child(ast.FieldFromTable)
	list := ast.Nodes(root[ast.FieldSelectList])
	if from == nil || from.Type() == ast.EmptyFrom || len(list) != len(names) {
		return false
	}
	outside := []any{root[ast.FieldSelectList], root[ast.FieldHaving], root[ast.FieldModifiers]}
	if ast.Contains(outside, false, func(e node) bool {
		return e.Class() == ast.ClassSubquery || e.Class() == ast.ClassStar || e.Class() == ast.ClassParameter || e.Class() == ast.ClassWindow
	}) {
		return false
	}
	groups := ast.Nodes(root[ast.FieldGroupBy])
	// The aggregates, each in the query of its DISTINCT argument.
	var args []string             // canonical DISTINCT arguments, in order
	var aggs [][]node             // per argument query, its aggregates
	column := map[string][2]int{} // canonical aggregate -> (query, column)
	var plain []node              // aggregates without DISTINCT
	visitNodes(outside, func(e node) bool {
		if e.Class() != ast.ClassFunction || kinds[strings.ToLower(e.FunctionName())] != "aggregate" {
			return false
		}
		if _, seen := column[ast.Canonical(e)]; seen {
			return true
		}
		children := ast.Nodes(e[ast.FieldChildren])
		if distinct, _ := e[ast.FieldDistinct].(bool); distinct && len(children) == 1 {
			arg := ast.Canonical(children[0])
			q := slices.Index(args, arg)
			if q < 0 {
				args, aggs, q = append(args, arg), append(aggs, nil), len(args)
			}
			column[ast.Canonical(e)] = [2]int{q, -1}
			aggs[q] = append(aggs[q], e)
		} else {
			column[ast.Canonical(e)] = [2]int{0, -1}
			plain = append(plain, e)
		}
		return true // an aggregate's arguments are its query's
	})
	if len(args) < 2 {
		return false
	}
	aggs[0] = append(aggs[0], plain...)
	n := 0
	for q, as := range aggs {
		for _, a := range as {
			column[ast.Canonical(a)] = [2]int{q, n}
			n++
		}
	}
	alias := func(q int) string { return fmt.Sprintf("quiver_d%d", q) }
	ok := true
	var rewrite func(e node, outputNames bool) node
	rewrite = func(e node, outputNames bool) node {
		if !ok {
			return e
		}
		key := ast.Canonical(e)
		if c, found := column[key]; found {
			return ast.ColumnRef(alias(c[0]), fmt.Sprintf("quiver_a%d", c[1]))
		}
		for i, g := range groups {
			if ast.Canonical(g) == key {
				return ast.ColumnRef(alias(0), fmt.Sprintf("quiver_g%d", i))
			}
		}
		if e.Class() == ast.ClassColumnRef {
			cn := e.ColumnNames()
			if outputNames && len(cn) == 1 && containsFold(names, cn[0]) {
				return e // the select item it names
			}
			match := -1
			for i, g := range groups {
				if g.Class() == ast.ClassColumnRef {
					gn := g.ColumnNames()
					if strings.EqualFold(gn[len(gn)-1], cn[len(cn)-1]) && (len(gn) == 1 || len(cn) == 1) {
						if match >= 0 {
							ok = false
						}
						match = i
					}
				}
			}
			if match < 0 {
				ok = false // a column outside the aggregates that is not a key
				return e
			}
			return ast.ColumnRef(alias(0), fmt.Sprintf("quiver_g%d", match))
		}
		return mapInOrder(e, func(c node) node { return rewrite(c, outputNames) })
	}
	outList, mods := rewriteOutputs(root, names, rewrite)
	var where any
	if h := ast.AsNode(root[ast.FieldHaving]); h != nil {
		where = rewrite(h, true)
	}
	if !ok {
		return false
	}
	// One grouped query per argument over its own copy of the rows.
	var joined node
	for q, as := range aggs {
		sub := ast.Select(x.duplicate(from))
		if w := ast.AsNode(root[ast.FieldWhere]); w != nil {
			sub[ast.FieldWhere] = x.duplicate(w)
		}
		sel := make([]any, 0, len(groups)+len(as))
		for i, g := range groups {
			c := g.Copy()
			c[ast.FieldAlias] = fmt.Sprintf("quiver_g%d", i)
			sel = append(sel, c)
		}
		for _, a := range as {
			c := a.Copy()
			c[ast.FieldAlias] = fmt.Sprintf("quiver_a%d", column[ast.Canonical(a)][1])
			sel = append(sel, c)
		}
		sub[ast.FieldSelectList], sub[ast.FieldGroupBy], sub[ast.FieldGroupSets] = sel, ast.List(copies(groups)), groupSets(len(groups))
		ref := ast.SubqueryRef(sub, alias(q))
		if joined == nil {
			joined = ref
			continue
		}
		var on []node
		for i := range groups {
			g := fmt.Sprintf("quiver_g%d", i)
			on = append(on, ast.NotDistinct(ast.ColumnRef(alias(0), g), ast.ColumnRef(alias(q), g)))
		}
		joined = ast.JoinRef(joined, ref, andAll(on), ast.JoinInner)
	}
	root[ast.FieldSelectList], root[ast.FieldFromTable], root[ast.FieldWhere] = outList, joined, where
	root[ast.FieldGroupBy], root[ast.FieldGroupSets], root[ast.FieldHaving], root[ast.FieldModifiers] = []any{}, []any{}, nil, mods
	return true
}

// visitNodes calls f on every node under v, parents first,
// and does not descend below a node f returns true for.
func visitNodes(v any, f func(node) bool) {
	switch v := v.(type) {
	case node:
		if f(v) {
			return
		}
		for _, k := range sortedKeys(v) {
			visitNodes(v[k], f)
		}
	case []any:
		for _, c := range v {
			visitNodes(c, f)
		}
	}
}

// containsFold reports whether names holds name, ignoring case.
func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
