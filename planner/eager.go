package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Eager aggregation. A grouped query whose FROM clause is `A LEFT JOIN B
// ON A.k = B.j AND p(B)` (or an inner join) and whose aggregates read B
// alone, `SELECT c_custkey, count(o_orderkey) FROM customer LEFT JOIN
// orders ON c_custkey = o_custkey AND o_comment NOT LIKE … GROUP BY
// c_custkey` (TPC-H q13), can aggregate B on its join key first:
//
//	A LEFT JOIN (SELECT B.j AS quiver_k0, count(o_orderkey) AS quiver_v0
//	             FROM B WHERE p(B) GROUP BY B.j) quiver_eaN
//	  ON A.k = quiver_eaN.quiver_k0
//
// with count(x) replaced by CAST(COALESCE(sum(quiver_v0), 0) AS BIGINT)
// and sum, min and max by the same aggregate of their column. Each row of
// A met the B rows of its key; now it meets one row holding their
// aggregate, or none (NULL), so a group's aggregate over the rows it met
// is the aggregate of its rows' aggregates: a count's sum (0 when none
// matched, a count is never NULL), a sum's sum (NULL when none), the
// minimum of minimums. Only sums of integers and decimals, whose sums are
// exact in any order. B's rows are then read once, grouped by their key,
// in a stage of their own spread over the workers, where every fragment
// of A read all of them: q13's orders, every order's comment matched
// against the pattern, in each of customer's fragments.
//
// Refused: a condition conjunct that reads both sides other than such
// an equality, an aggregate that reads A or is DISTINCT, filtered or
// ordered, B's columns outside the aggregates (select list, GROUP BY,
// WHERE, HAVING), modifiers, grouping sets. The rewrite stays only when
// the grouped subquery is a stage and the query keeps its result types.

// eagerAggregate rewrites q (a grouped query of the statement) as above
// when keep, asked with the grouped subquery's FROM item, plans it as a
// stage; false when it does not qualify or keep refuses (q is unchanged).
func (x *extraction) eagerAggregate(ctx context.Context, q node, keep func(ref node) bool) bool {
	if q.Type() != ast.SelectNode || len(ast.Nodes(q[ast.FieldGroupBy])) == 0 || len(ast.Nodes(q[ast.FieldGroupSets])) > 1 ||
		q[ast.FieldHaving] != nil || q[ast.FieldQualify] != nil || q[ast.FieldSample] != nil || len(ast.Nodes(q[ast.FieldModifiers])) > 0 ||
		q.Str(ast.FieldAggregateHandle) != ast.StandardHandling {
		return false
	}
	if cm, _ := q[ast.FieldCTEMap].(node); len(ast.Nodes(cm["map"])) > 0 {
		return false
	}
	join := q.Child(ast.FieldFromTable)
	if join == nil || join.Type() != ast.Join || join.Str(ast.FieldRefType) != ast.RefRegular || len(ast.Nodes(join[ast.FieldUsing])) > 0 {
		return false
	}
	jt := join.Str(ast.FieldJoinType)
	left, b := join.Child(ast.FieldLeft), join.Child(ast.FieldRight)
	if jt != ast.JoinLeft && jt != ast.JoinInner || b == nil || !x.isRef(b) || hasColumnAliases(b) {
		return false
	}
	bi := slices.IndexFunc(x.refs, func(r tableRef) bool { return sameNode(r.node, b) })
	bTables := []*storage.Table{x.refs[bi].table}
	aTables := x.tablesIn(left)
	bProbe, aProbe := ast.Select(b.Copy()), ast.Select(left.Copy())
	onB := func(e node) bool { return !x.foreign(e) && x.bindsIn(ctx, bProbe, bTables, e, nil) }
	onA := func(e node) bool { return x.bindsIn(ctx, aProbe, aTables, e, nil) }
	// The condition: equalities of A to B, and conjuncts of B alone.
	var aKeys, bKeys, own []node
	for _, c := range flattenAnd(join.Child(ast.FieldCondition)) {
		if onB(c) {
			own = append(own, c)
			continue
		}
		if c.Class() != ast.ClassComparison || c.Type() != ast.ExprCompareEqual {
			return false
		}
		l, r := c.Child(ast.FieldLeft), c.Child(ast.FieldRight)
		switch {
		case onA(l) && onB(r):
			aKeys, bKeys = append(aKeys, l), append(bKeys, r)
		case onA(r) && onB(l):
			aKeys, bKeys = append(aKeys, r), append(bKeys, l)
		default:
			return false
		}
	}
	if len(aKeys) == 0 {
		return false
	}
	if w := q.Child(ast.FieldWhere); w != nil && !onA(w) {
		return false
	}
	for _, g := range ast.Nodes(q[ast.FieldGroupBy]) {
		if !onA(g) {
			return false
		}
	}
	kinds, err := x.p.loadKinds(ctx)
	if err != nil {
		return false
	}
	// The aggregates, each over B alone; everything else reads A.
	type leaf struct {
		holder  func(node)
		agg     node
		outside node // the aggregate's replacement
	}
	var leaves []*leaf
	ok := true
	var scan func(n node, put func(node))
	scan = func(n node, put func(node)) {
		switch {
		case !ok:
		case n.Class() == ast.ClassFunction && kinds[n.FunctionName()] == "aggregate":
			name := n.FunctionName()
			args := ast.Nodes(n[ast.FieldChildren])
			ob := ast.AsNode(n[ast.FieldOrderBys])
			if name != "count" && name != "sum" && name != "min" && name != "max" || len(args) != 1 || n[ast.FieldFilter] != nil ||
				n[ast.FieldDistinct] == true || ob != nil && len(ast.Nodes(ob[ast.FieldOrders])) > 0 || !pure(n) || !onB(args[0]) {
				ok = false
				return
			}
			if name == "sum" && !x.exactSum(ctx, bProbe, bTables, args[0]) {
				ok = false
				return
			}
			leaves = append(leaves, &leaf{holder: put, agg: n})
		case n.Class() == ast.ClassSubquery || n.Class() == ast.ClassWindow || n.Class() == ast.ClassStar:
			ok = false
		case n.Class() == ast.ClassColumnRef:
			ok = onA(n) // a column outside the aggregates is A's
		default:
			for _, k := range sortedKeys(n) {
				switch c := n[k].(type) {
				case node:
					scan(c, func(r node) { n[k] = r })
				case []any:
					for i, ci := range c {
						if cn, isNode := ci.(node); isNode {
							scan(cn, func(r node) { c[i] = r })
						}
					}
				}
			}
		}
	}
	list, _ := q[ast.FieldSelectList].([]any)
	for i, e := range ast.Nodes(list) {
		scan(e, func(r node) { list[i] = r })
	}
	if !ok || len(leaves) == 0 {
		return false
	}
	tables := x.tablesIn(q)
	want, err := x.schemaOf(ctx, q, tables)
	if err != nil || want.NumFields() != len(list) {
		return false
	}
	// Build the grouped B and put it in place.
	names := make([]string, len(list))
	for i, e := range ast.Nodes(list) {
		names[i] = e.Alias()
		if names[i] == "" {
			e[ast.FieldAlias] = want.Field(i).Name // the name must not change
		}
	}
	saved := x.saveRefs()
	x.subs++
	alias := fmt.Sprintf("quiver_ea%d", x.subs)
	grouped := ast.Select(x.adopt(b))
	var sel, groups []any
	var on []node
	for i, k := range bKeys {
		col := fmt.Sprintf("quiver_k%d", i)
		s := k.Copy()
		s[ast.FieldAlias] = col
		sel, groups = append(sel, s), append(groups, k.Copy())
		on = append(on, ast.Equal(aKeys[i].Copy(), ast.ColumnRef(alias, col)))
	}
	for i, l := range leaves {
		v := l.agg.Copy()
		v[ast.FieldAlias] = fmt.Sprintf("quiver_v%d", i)
		sel = append(sel, v)
		col := ast.ColumnRef(alias, fmt.Sprintf("quiver_v%d", i))
		switch name := l.agg.FunctionName(); name {
		case "count":
			l.outside = ast.Cast(ast.Coalesce(ast.Function("sum", col), ast.Constant("INTEGER", 0)), "BIGINT")
		default:
			l.outside = ast.Function(name, col)
		}
		l.outside[ast.FieldAlias] = l.agg.Alias()
	}
	grouped[ast.FieldSelectList] = sel
	grouped[ast.FieldGroupBy] = groups
	grouped[ast.FieldGroupSets] = groupSets(len(groups))
	grouped[ast.FieldWhere] = andAll(copies(own))
	ref := ast.SubqueryRef(grouped, alias)
	oldCond, oldRight := join[ast.FieldCondition], join[ast.FieldRight]
	join[ast.FieldCondition], join[ast.FieldRight] = andAll(on), ref
	for _, l := range leaves {
		l.holder(l.outside)
	}
	undo := func() {
		join[ast.FieldCondition], join[ast.FieldRight] = oldCond, oldRight
		for _, l := range leaves {
			l.holder(l.agg)
		}
		for i, e := range ast.Nodes(list) {
			e[ast.FieldAlias] = names[i]
		}
		x.restoreRefs(saved)
	}
	if got, err := x.schemaOf(ctx, q, tables); err != nil || !got.Equal(want) {
		x.p.logger.Debug("eager aggregation not used: the result types change", "err", err, "got", got, "want", want)
		undo()
		return false
	}
	if !keep(ref) {
		undo()
		return false
	}
	return true
}

// exactSum reports whether sum(e) over B is exact in any order: e is an
// integer or a decimal.
func (x *extraction) exactSum(ctx context.Context, bProbe node, tables []*storage.Table, e node) bool {
	sc, err := x.typeIn(ctx, bProbe, tables, e, nil)
	if err != nil || sc.NumFields() != 1 {
		return false
	}
	switch sc.Field(0).Type.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

// schemaOf types a query node over tables.
func (x *extraction) schemaOf(ctx context.Context, q node, tables []*storage.Table) (*arrow.Schema, error) {
	probe := q.Copy()
	probe[ast.FieldModifiers] = []any{ast.Limit(ast.Constant("BIGINT", 0), nil)}
	sql, err := x.p.renderNode(ctx, probe)
	if err != nil {
		return nil, err
	}
	return x.p.opts.Typer.Schema(ctx, tables, sql, nil)
}
