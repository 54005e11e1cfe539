package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Correlated scalar subqueries. `(SELECT E FROM t WHERE t.a = o.b AND p)`,
// where E is an aggregate expression, o.b belongs to the enclosing query
// and p to the subquery alone, is E over the rows of t where p holds and
// t.a = o.b: for every o.b, the row of
//
//	(SELECT t.a AS quiver_k0, E AS quiver_v FROM t WHERE p GROUP BY t.a) quiver_sqN
//
// whose key equals it, or none. So the enclosing query's FROM clause
// becomes `<from> LEFT JOIN (…) quiver_sqN ON quiver_sqN.quiver_k0 = o.b`
// and the subquery `quiver_sqN.quiver_v`: one row per key keeps the
// enclosing rows as they were, a NULL o.b or a key without rows joins
// nothing and gives NULL, as the subquery over no rows does — when E is
// NULL over no rows. That holds for the aggregates nullOnEmpty lists and
// arithmetic and casts over them and constants; `count` is 0 over no rows
// (the "count bug" of decorrelation), so a subquery that is exactly a
// count becomes COALESCE(quiver_sqN.quiver_v, 0). Anything else is left
// as it is.
//
// The grouped subquery no longer refers to the enclosing query, so it
// can be a stage. Only subqueries in the WHERE clause are rewritten, and
// in the select list of a query that does not aggregate when they are
// named (the result's column names must not change); the enclosing query
// must not select an unqualified * (the join would add columns) and must
// bind each o.b on its own.

// nullOnEmpty are the aggregates that return NULL over no rows.
var nullOnEmpty = map[string]bool{
	"sum": true, "avg": true, "mean": true, "min": true, "max": true, "median": true, "fsum": true, "product": true,
	"stddev": true, "stddev_samp": true, "stddev_pop": true, "variance": true, "var_samp": true, "var_pop": true,
	"quantile_cont": true, "quantile_disc": true, "arg_min": true, "arg_max": true, "bool_and": true, "bool_or": true,
}

// arithmetic are the operators that are NULL when an operand is.
var arithmetic = map[string]bool{"+": true, "-": true, "*": true, "/": true, "//": true, "%": true}

// decorrelateScalar rewrites the correlated scalar subqueries of q's WHERE
// clause and select list that qualify (see above).
func (x *extraction) decorrelateScalar(ctx context.Context, q node) {
	from := q.Child(ast.FieldFromTable)
	if q.Type() != ast.SelectNode || from == nil || from.Type() == ast.EmptyFrom {
		return
	}
	for _, e := range ast.Nodes(q[ast.FieldSelectList]) {
		if e.Class() == ast.ClassStar && e.Str("relation_name") == "" {
			return
		}
	}
	var holders []func(node) // each puts a replacement in its subquery's place
	var subs []node
	var find func(holder node, key string, i int, e node)
	find = func(holder node, key string, i int, e node) {
		if e == nil {
			return
		}
		if e.Class() == ast.ClassSubquery {
			if e.Str("subquery_type") == "SCALAR" {
				subs = append(subs, e)
				holders = append(holders, func(r node) {
					if i >= 0 {
						holder[key].([]any)[i] = r
					} else {
						holder[key] = r
					}
				})
			}
			return // a subquery's own subqueries are its query's
		}
		for k, v := range e {
			switch v := v.(type) {
			case node:
				find(e, k, -1, v)
			case []any:
				for j, c := range v {
					if c, ok := c.(node); ok {
						find(e, k, j, c)
					}
				}
			}
		}
	}
	find(q, ast.FieldWhere, -1, ast.AsNode(q[ast.FieldWhere]))
	aggregating := len(ast.Nodes(q[ast.FieldGroupBy])) > 0 || q[ast.FieldHaving] != nil || x.p.hasAggregates(ctx, q)
	if !aggregating {
		for i, e := range ast.Nodes(q[ast.FieldSelectList]) {
			if e.Class() == ast.ClassSubquery && e.Alias() != "" {
				find(q, ast.FieldSelectList, i, e)
			}
		}
	}
	for i, e := range subs {
		r, join, ok := x.scalarJoin(ctx, q, e)
		if !ok {
			continue
		}
		holders[i](r)
		q[ast.FieldFromTable] = join
	}
}

// scalarJoin returns the column that replaces the scalar subquery e of q
// and q's FROM clause joined to its grouped form, false when it does not
// qualify.
func (x *extraction) scalarJoin(ctx context.Context, q, e node) (node, node, bool) {
	sq := e.Child(ast.FieldSubquery).Child(ast.FieldNode)
	if sq == nil || sq.Type() != ast.SelectNode || sq[ast.FieldWhere] == nil || len(ast.Nodes(sq[ast.FieldGroupBy])) > 0 ||
		sq[ast.FieldHaving] != nil || sq[ast.FieldQualify] != nil || sq[ast.FieldSample] != nil || len(ast.Nodes(sq[ast.FieldModifiers])) > 0 ||
		sq.Str(ast.FieldAggregateHandle) != ast.StandardHandling || len(ast.Nodes(sq[ast.FieldSelectList])) != 1 {
		return nil, nil, false
	}
	if cm, _ := sq[ast.FieldCTEMap].(node); len(ast.Nodes(cm["map"])) > 0 {
		return nil, nil, false
	}
	v := ast.Nodes(sq[ast.FieldSelectList])[0]
	count := v.Class() == ast.ClassFunction && (v.FunctionName() == "count" || v.FunctionName() == "count_star")
	var empty node // E over no rows, when it is not NULL and not a plain count
	if !count && !x.nullOverNoRows(ctx, v) {
		e, ok := x.overNoRows(ctx, v)
		if !ok {
			return nil, nil, false
		}
		empty = e
	}
	tables := x.tablesIn(sq)
	if len(tables) == 0 || x.foreign(sq) {
		return nil, nil, false
	}
	inner, outer, rest, ok := x.correlation(ctx, sq, tables)
	if !ok {
		return nil, nil, false
	}
	outerTables := x.tablesIn(q)
	rows := q.Copy() // q's rows before any grouping, where a WHERE sees them
	rows[ast.FieldGroupBy], rows[ast.FieldGroupSets], rows[ast.FieldHaving], rows[ast.FieldQualify] = []any{}, []any{}, nil, nil
	for _, o := range outer {
		if !x.bindsIn(ctx, rows, outerTables, o, nil) {
			return nil, nil, false // it refers further out
		}
	}
	x.subs++
	alias := fmt.Sprintf("quiver_sq%d", x.subs)
	grouped := x.adopt(sq)
	list := make([]any, 0, len(inner)+1)
	groups := make([]any, 0, len(inner))
	var on []node
	for i, k := range inner {
		col := fmt.Sprintf("quiver_k%d", i)
		sel := k.Copy()
		sel[ast.FieldAlias] = col
		list = append(list, sel)
		groups = append(groups, k.Copy())
		on = append(on, node{ast.FieldClass: ast.ClassComparison, ast.FieldType: ast.ExprCompareEqual, ast.FieldAlias: "",
			ast.FieldQueryLocation: ast.NoLocation, ast.FieldLeft: ast.ColumnRef(alias, col), ast.FieldRight: outer[i].Copy()})
	}
	val := v.Copy()
	val[ast.FieldAlias] = "quiver_v"
	list = append(list, val)
	if empty != nil {
		// A group's row says it was there: a key without rows joins none.
		m := ast.Constant("BOOLEAN", true)
		m[ast.FieldAlias] = "quiver_m"
		list = append(list, m)
	}
	grouped[ast.FieldSelectList] = list
	grouped[ast.FieldGroupBy] = groups
	grouped[ast.FieldGroupSets] = groupSets(len(groups))
	grouped[ast.FieldWhere] = andAll(copies(rest))
	join := node{ast.FieldType: ast.Join, ast.FieldAlias: "", ast.FieldSample: nil, ast.FieldQueryLocation: ast.NoLocation,
		ast.FieldLeft: q.Child(ast.FieldFromTable), ast.FieldRight: ast.SubqueryRef(grouped, alias), ast.FieldCondition: andAll(on),
		ast.FieldJoinType: ast.JoinLeft, ast.FieldRefType: ast.RefRegular, ast.FieldUsing: []any{},
		"delim_flipped": false, "duplicate_eliminated_columns": []any{}}
	r := ast.ColumnRef(alias, "quiver_v")
	if count {
		r = ast.Coalesce(r, ast.Constant("BIGINT", 0))
	}
	if empty != nil {
		missing := node{ast.FieldClass: ast.ClassOperator, ast.FieldType: ast.ExprIsNull, ast.FieldAlias: "",
			ast.FieldQueryLocation: ast.NoLocation, ast.FieldChildren: []any{ast.ColumnRef(alias, "quiver_m")}}
		r = caseWhen([][2]node{{missing, empty}}, r)
	}
	r[ast.FieldAlias] = e.Alias()
	return r, join, true
}

// overNoRows is E's value over no rows when E is made of constants,
// casts, arithmetic, COALESCE, CASE, a few NULL-propagating scalar
// functions and aggregates whose value over no rows is known (0 for
// count, NULL for those nullOnEmpty lists) — with no column outside an
// aggregate's arguments: `coalesce(sum(x), 0)` is `coalesce(NULL, 0)`.
// The enclosing query uses it for the keys without rows, whose left join
// finds no group (the general form of the count bug).
func (x *extraction) overNoRows(ctx context.Context, e node) (node, bool) {
	kinds, err := x.p.loadKinds(ctx)
	if err != nil {
		return nil, false
	}
	aggregates := 0
	var sub func(e node) (node, bool)
	subAll := func(e node, fields ...string) (node, bool) {
		out := e.Copy()
		for _, f := range fields {
			switch v := e[f].(type) {
			case nil:
			case node:
				c, ok := sub(v)
				if !ok {
					return nil, false
				}
				out[f] = c
			case []any:
				list := make([]any, len(v))
				for i, c := range v {
					cn, ok := c.(node)
					if !ok {
						return nil, false
					}
					if list[i], ok = sub(cn); !ok {
						return nil, false
					}
				}
				out[f] = list
			default:
				return nil, false
			}
		}
		return out, true
	}
	sub = func(e node) (node, bool) {
		switch e.Class() {
		case ast.ClassConstant:
			return e.Copy(), true
		case ast.ClassCast:
			return subAll(e, "child")
		case ast.ClassOperator:
			if e.Type() != ast.ExprCoalesce {
				return nil, false
			}
			return subAll(e, ast.FieldChildren)
		case ast.ClassCase:
			out := e.Copy()
			checks := make([]any, 0)
			for _, c := range ast.Nodes(e["case_checks"]) {
				w, ok := sub(ast.AsNode(c["when_expr"]))
				if !ok {
					return nil, false
				}
				t, ok := sub(ast.AsNode(c["then_expr"]))
				if !ok {
					return nil, false
				}
				checks = append(checks, node{"when_expr": w, "then_expr": t})
			}
			out["case_checks"] = checks
			return subAll(out, "else_expr")
		case ast.ClassComparison:
			return subAll(e, ast.FieldLeft, ast.FieldRight)
		case ast.ClassFunction:
			name := e.FunctionName()
			if b, _ := e[ast.FieldIsOperator].(bool); b && arithmetic[name] {
				return subAll(e, ast.FieldChildren)
			}
			if kinds[name] == "aggregate" {
				aggregates++
				switch {
				case name == "count" || name == "count_star":
					return ast.Cast(ast.Constant("INTEGER", 0), "BIGINT"), true
				case nullOnEmpty[name]:
					return nullConstant(), true
				}
				return nil, false
			}
			if emptySafeFunctions[name] {
				return subAll(e, ast.FieldChildren)
			}
		}
		return nil, false
	}
	out, ok := sub(e)
	if !ok || aggregates == 0 {
		return nil, false
	}
	out[ast.FieldAlias] = ""
	return out, true
}

// emptySafeFunctions are deterministic scalar functions overNoRows may
// evaluate with its aggregates' values over no rows.
var emptySafeFunctions = map[string]bool{
	"nullif": true, "ifnull": true, "round": true, "abs": true, "greatest": true, "least": true,
	"floor": true, "ceil": true, "ceiling": true, "sqrt": true, "ln": true, "log": true, "exp": true, "power": true, "pow": true,
}

// nullOverNoRows reports whether an aggregate expression is NULL over no
// rows: one of the aggregates nullOnEmpty lists, or arithmetic and casts
// over such aggregates and constants.
func (x *extraction) nullOverNoRows(ctx context.Context, e node) bool {
	kinds, err := x.p.loadKinds(ctx)
	if err != nil {
		return false
	}
	d := &dist{kinds: kinds}
	aggregates := 0
	var ok func(e node) bool
	ok = func(e node) bool {
		switch e.Class() {
		case ast.ClassConstant:
			return true
		case ast.ClassCast:
			return ok(e.Child("child"))
		case ast.ClassFunction:
			if b, _ := e[ast.FieldIsOperator].(bool); b && arithmetic[e.FunctionName()] {
				return !slices.ContainsFunc(e.Children(ast.FieldChildren), func(c node) bool { return !ok(c) })
			}
			if nullOnEmpty[e.FunctionName()] && d.hasAggregate(node{ast.FieldSelectList: []any{e}}) {
				aggregates++
				return true
			}
		}
		return false
	}
	return ok(e) && aggregates > 0
}

// tablesIn are the distinct tables of the extraction's references under n.
func (x *extraction) tablesIn(n node) []*storage.Table {
	var out []*storage.Table
	for _, r := range x.refs {
		if ast.Contains(n, false, func(c node) bool { return sameNode(c, r.node) }) && !slices.Contains(out, r.table) {
			out = append(out, r.table)
		}
	}
	return out
}
