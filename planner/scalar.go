package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Correlated scalar subqueries. `(SELECT E FROM t WHERE t.a = o.b AND p)`,
// where o.b belongs to the enclosing query and p to the subquery alone,
// is E over the rows of t where p holds and t.a = o.b. E has no GROUP BY,
// so it is one row: its aggregates a1, a2, … over those rows, combined by
// the rest of E (constants, operators, functions and columns of the
// enclosing row, which are constants there). For every o.b the row of
//
//	(SELECT t.a AS quiver_k0, a1 AS quiver_v0, a2 AS quiver_v1, …
//	 FROM t WHERE p GROUP BY t.a) quiver_sqN
//
// whose key equals it holds the aggregates, or there is none. So the
// enclosing query's FROM clause becomes `<from> LEFT JOIN (…) quiver_sqN
// ON quiver_sqN.quiver_k0 = o.b` and the subquery E with each aggregate
// replaced by its column: one row per key keeps the enclosing rows as
// they were, and a NULL o.b or a key without rows joins nothing and gives
// NULL columns, which is each aggregate's value over no rows for those
// nullOnEmpty lists; `count` is 0 over no rows (the "count bug" of
// decorrelation), so a count's column is COALESCE(quiver_vI, 0) — a
// group's count is never NULL. E is then evaluated over the same values
// the subquery saw: `coalesce(sum(x), o.c)`, `count(*) + 1`, `CASE WHEN
// count(*) > 2 THEN avg(x) ELSE -1 END`. Any other aggregate, a window,
// a subquery or a volatile function in E, or an aggregate that reads the
// enclosing row, leaves the subquery as it is.
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
	"list": true, "array_agg": true, "string_agg": true, "first": true, "last": true, "any_value": true, "mode": true,
	"covar_pop": true, "covar_samp": true, "corr": true, "kurtosis": true, "skewness": true, "bit_and": true, "bit_or": true,
	"count_if": true, "max_by": true, "min_by": true,
}

// decorrelateScalar rewrites the correlated scalar subqueries of q's WHERE
// clause and select list that qualify (see above). keep, when not nil, is
// asked about each rewrite with the grouped subquery's FROM item: a rewrite
// it refuses is undone, references included.
func (x *extraction) decorrelateScalar(ctx context.Context, q node, keep func(ref node) bool) {
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
	eachSubquery(q, ast.FieldWhere, func(e node, put func(node)) {
		if e.Str("subquery_type") == "SCALAR" {
			subs, holders = append(subs, e), append(holders, put)
		}
	})
	aggregating := len(ast.Nodes(q[ast.FieldGroupBy])) > 0 || q[ast.FieldHaving] != nil || x.p.hasAggregates(ctx, q)
	if !aggregating {
		list, _ := q[ast.FieldSelectList].([]any)
		for i, e := range ast.Nodes(list) {
			if e.Class() == ast.ClassSubquery && e.Str("subquery_type") == "SCALAR" && e.Alias() != "" {
				subs, holders = append(subs, e), append(holders, func(r node) { list[i] = r })
			}
		}
	}
	for i, e := range subs {
		from, saved := q[ast.FieldFromTable], x.saveRefs()
		r, join, undo, ok := x.scalarJoin(ctx, q, e)
		if !ok {
			x.restoreRefs(saved)
			continue
		}
		holders[i](r)
		q[ast.FieldFromTable] = join
		if keep != nil && !keep(join.Child(ast.FieldRight)) {
			holders[i](e)
			q[ast.FieldFromTable] = from
			undo()
			x.restoreRefs(saved)
		}
	}
}

// saveRefs is what restoreRefs needs to undo a rewrite's adopted and
// duplicated references.
func (x *extraction) saveRefs() []tableRef { return slices.Clone(x.refs) }

// restoreRefs puts the references back as saveRefs found them.
func (x *extraction) restoreRefs(saved []tableRef) {
	copy(x.refs, saved)
	x.refs, x.origin = x.refs[:len(saved)], x.origin[:len(saved)]
}

// scalarJoin returns the column that replaces the scalar subquery e of q,
// q's FROM clause joined to its grouped form and what undoes the changes
// to the FROM clause's joins; false when it does not qualify.
func (x *extraction) scalarJoin(ctx context.Context, q, e node) (node, node, func(), bool) {
	sq := e.Child(ast.FieldSubquery).Child(ast.FieldNode)
	if sq == nil || sq.Type() != ast.SelectNode || sq[ast.FieldWhere] == nil || len(ast.Nodes(sq[ast.FieldGroupBy])) > 0 ||
		sq[ast.FieldHaving] != nil || sq[ast.FieldQualify] != nil || sq[ast.FieldSample] != nil || len(ast.Nodes(sq[ast.FieldModifiers])) > 0 ||
		sq.Str(ast.FieldAggregateHandle) != ast.StandardHandling || len(ast.Nodes(sq[ast.FieldSelectList])) != 1 {
		return nil, nil, nil, false
	}
	if cm, _ := sq[ast.FieldCTEMap].(node); len(ast.Nodes(cm["map"])) > 0 {
		return nil, nil, nil, false
	}
	v := ast.Nodes(sq[ast.FieldSelectList])[0]
	tables := x.tablesIn(sq)
	if len(tables) == 0 || x.foreign(sq) {
		return nil, nil, nil, false
	}
	inner, outer, rest, ok := x.correlation(ctx, sq, tables)
	if !ok {
		return nil, nil, nil, false
	}
	outerTables := x.tablesIn(q)
	rows := q.Copy() // q's rows before any grouping, where a WHERE sees them
	rows[ast.FieldGroupBy], rows[ast.FieldGroupSets], rows[ast.FieldHaving], rows[ast.FieldQualify] = []any{}, []any{}, nil, nil
	for _, o := range outer {
		if !x.bindsIn(ctx, rows, outerTables, o, nil) {
			return nil, nil, nil, false // it refers further out
		}
	}
	value, aggs, ok := x.aggregateLeaves(ctx, v, sq, tables, rows, outerTables, rest)
	if !ok {
		return nil, nil, nil, false
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
		on = append(on, ast.Equal(ast.ColumnRef(alias, col), outer[i].Copy()))
	}
	for i, a := range aggs {
		col := a.Copy()
		col[ast.FieldAlias] = fmt.Sprintf("quiver_v%d", i)
		list = append(list, col)
	}
	grouped[ast.FieldSelectList] = list
	grouped[ast.FieldGroupBy] = groups
	grouped[ast.FieldGroupSets] = groupSets(len(groups))
	where := copies(rest)
	if m := x.magicSet(ctx, q, e, inner, outer, tables); m != nil {
		where = append(where, m)
	}
	grouped[ast.FieldWhere] = andAll(where)
	from := q.Child(ast.FieldFromTable)
	undo := uncross(from)
	join := ast.JoinRef(from, ast.SubqueryRef(grouped, alias), andAll(on), ast.JoinLeft)
	r := value(alias)
	r[ast.FieldAlias] = e.Alias()
	return r, join, undo, true
}

// aggregateLeaves finds the aggregates of E, the value of the scalar
// subquery sq over tables with the WHERE conjuncts rest, and returns E as
// a function of the grouped subquery's alias (each aggregate its column,
// see above). False when an aggregate has no known value over no rows or
// does not bind in sq alone, or the rest of E is not a plain function of
// the enclosing row (rows over outerTables).
func (x *extraction) aggregateLeaves(ctx context.Context, e, sq node, tables []*storage.Table, rows node,
	outerTables []*storage.Table, rest []node) (func(alias string) node, []node, bool) {
	kinds, err := x.p.loadKinds(ctx)
	if err != nil {
		return nil, nil, false
	}
	var aggs []node
	var counts []bool
	ok := true
	var scan func(n node)
	scan = func(n node) {
		if !ok {
			return
		}
		switch {
		case n.Class() == ast.ClassSubquery || n.Class() == ast.ClassWindow || n.Class() == ast.ClassStar:
			ok = false
		case n.Class() == ast.ClassFunction && kinds[n.FunctionName()] == "aggregate":
			name := n.FunctionName()
			count := name == "count" || name == "count_star"
			if (!count && !nullOnEmpty[name]) || !pure(n) || !x.bindsIn(ctx, sq, tables, n, rest) {
				ok = false
				return
			}
			aggs, counts = append(aggs, n), append(counts, count)
			n["\x00leaf"] = len(aggs) - 1
		case n.Class() == ast.ClassFunction && volatile[n.FunctionName()]:
			ok = false
		case n.Class() == ast.ClassColumnRef:
			// A column outside the aggregates is the enclosing row's.
			if x.bindsIn(ctx, sq, tables, n, nil) || !x.bindsIn(ctx, rows, outerTables, n, nil) {
				ok = false
			}
		default:
			for _, k := range sortedKeys(n) {
				switch c := n[k].(type) {
				case node:
					scan(c)
				case []any:
					for _, c := range ast.Nodes(c) {
						scan(c)
					}
				}
			}
		}
	}
	scan(e)
	template := e.Copy()
	for _, a := range aggs {
		delete(a, "\x00leaf")
	}
	if !ok || len(aggs) == 0 {
		return nil, nil, false
	}
	value := func(alias string) node {
		out := template.Copy()
		var put func(n node) node
		put = func(n node) node {
			if i, ok := n["\x00leaf"].(int); ok {
				r := ast.ColumnRef(alias, fmt.Sprintf("quiver_v%d", i))
				if counts[i] {
					r = ast.Coalesce(r, ast.Constant("BIGINT", 0))
				}
				return r
			}
			for k, v := range n {
				switch c := v.(type) {
				case node:
					n[k] = put(c)
				case []any:
					for j, cj := range c {
						if cn, ok := cj.(node); ok {
							c[j] = put(cn)
						}
					}
				}
			}
			return n
		}
		return put(out)
	}
	return value, copies(aggs), true
}

// uncross writes the cross products of a FROM clause's join tree as
// inner joins ON true: DuckDB renders `a, b` joined to c as `a, b LEFT
// JOIN c ON …`, which parses as a joined to (b LEFT JOIN c), and the
// condition could not see a. It returns what undoes it.
func uncross(ref node) func() {
	if ref == nil || ref.Type() != ast.Join {
		return func() {}
	}
	crossed := ref.Str(ast.FieldRefType) == ast.RefCross
	if crossed {
		ref[ast.FieldRefType], ref[ast.FieldCondition] = ast.RefRegular, ast.Constant("BOOLEAN", true)
	}
	l, r := uncross(ref.Child(ast.FieldLeft)), uncross(ref.Child(ast.FieldRight))
	return func() {
		if crossed {
			ref[ast.FieldRefType], ref[ast.FieldCondition] = ast.RefCross, nil
		}
		l()
		r()
	}
}

// magicSet is a filter that keeps the grouped form of q's scalar
// subquery e (keys inner, equal to outer of the enclosing row) to the keys
// the enclosing query can look up, as DuckDB's own decorrelation keeps
// the subquery to the enclosing rows' distinct keys (its delim join):
// without it the stage aggregates every key of its tables (TPC-H q17's
// `avg(l_quantity)` of every part, where the enclosing query asks for
// the parts of one brand and container). For a table T of q's FROM clause
// smaller than the subquery's largest, over whose columns some of the
// outer keys are computed, and whose own conjuncts of q's WHERE filter it,
// it is
//
//	inner IN (SELECT outer FROM T WHERE <T's conjuncts>)
//
// (struct_pack of the keys for several). It only removes groups no row of
// the result reads: a row that reaches the result passes every WHERE
// conjunct, T's among them, so its key is in the set, or it is NULL
// (T's side NULL-extended), and NULL joins no group anyway. nil when no
// table qualifies.
func (x *extraction) magicSet(ctx context.Context, q, e node, inner, outer []node, innerTables []*storage.Table) node {
	var most int64
	for _, t := range innerTables {
		most = max(most, t.Rows)
	}
	var conjuncts []node
	for _, c := range flattenAnd(q.Child(ast.FieldWhere)) {
		if !ast.Contains(c, false, func(n node) bool { return sameNode(n, e) }) {
			conjuncts = append(conjuncts, c)
		}
	}
	_, top, _ := topLevelSources(q, x.refs)
	for i, r := range x.refs {
		if !top[i] || r.table.Rows >= most {
			continue
		}
		probe := ast.Select(r.node.Copy())
		var keys []int
		for j, o := range outer {
			if x.bindsIn(ctx, probe, []*storage.Table{r.table}, o, nil) {
				keys = append(keys, j)
			}
		}
		var own []node
		for _, c := range conjuncts {
			tables := x.tablesIn(c)
			if !slices.Contains(tables, r.table) {
				tables = append(tables, r.table)
			}
			if !x.foreign(c) && x.bindsIn(ctx, probe, tables, c, nil) {
				own = append(own, c)
			}
		}
		if len(keys) == 0 || len(own) == 0 {
			continue
		}
		set := ast.Select(x.duplicate(r.node))
		where := make([]node, len(own))
		for j, c := range own {
			where[j] = x.duplicate(c)
		}
		set[ast.FieldWhere] = andAll(where)
		ins, outs := make([]node, len(keys)), make([]node, len(keys))
		for j, k := range keys {
			ins[j], outs[j] = inner[k], outer[k]
		}
		probeKey, setKey := ins[0].Copy(), outs[0].Copy()
		if len(keys) > 1 {
			probeKey, setKey = keyStruct(ins), keyStruct(outs)
		}
		set[ast.FieldSelectList] = []any{setKey}
		return inSubquery(probeKey, set)
	}
	return nil
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
