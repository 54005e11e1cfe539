package planner

import (
	"context"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Window functions partitioned by a column of the split table. A window
// function sees all the rows of its partition, so a fragment that holds
// some of them would compute it wrongly; but when every window of the
// statement is partitioned by the same column k of the split table (and
// maybe others), exchanging that table on hash(k) gives each fragment
// whole partitions: the fragments run the statement as it is over their
// parts, and the result is their concatenation (an ORDER BY or LIMIT
// finished on the coordinator as top-k does). When the table's files
// already hold disjoint ranges of k, the files are the parts. Trino
// plans a window the same way: a hash exchange on its partition keys.

// windowShape is the shape of a statement whose window functions all
// partition by one column of refs[split], nil when it has another kind
// of window, an aggregate, DISTINCT, or expressions a fragment could not
// evaluate over its rows alone.
func (d *dist) windowShape(root node, refs []tableRef, split int, names []string) *shape {
	if root.Type() != ast.SelectNode || root[ast.FieldSample] != nil || root.Str(ast.FieldAggregateHandle) != ast.StandardHandling ||
		len(ast.Nodes(root[ast.FieldGroupBy])) > 0 || root[ast.FieldHaving] != nil || d.hasAggregate(root) {
		return nil
	}
	order, limit, ok := orderAndLimit(root)
	if !ok {
		return nil
	}
	if d.plainExpressions(root[ast.FieldWhere]) != "" || d.plainExpressions(root[ast.FieldFromTable]) != "" {
		return nil
	}
	_, top, opaque := topLevelSources(root, refs)
	if !top[split] || refs[split].restricted || hasColumnAliases(refs[split].node) {
		return nil
	}
	resolve := resolverFor(split, refs, top, opaque)
	key, ok := "", true
	check := func(v any) {
		ast.Contains(v, true, func(e node) bool {
			switch e.Class() {
			case ast.ClassWindow:
				k := ""
				for _, part := range ast.Nodes(e["partitions"]) {
					if part.Class() != ast.ClassColumnRef {
						continue
					}
					if col, found := resolve(part.ColumnNames()); found && (key == "" || strings.EqualFold(col, key)) {
						k = col
						break
					}
				}
				if k == "" {
					ok = false
					return true
				}
				key = k
				return false // its arguments, partitions and orders must be plain
			case ast.ClassFunction:
				if d.kinds[strings.ToLower(e.FunctionName())] == "scalar" {
					return false
				}
				ok = false
				return true
			}
			return false
		})
	}
	check(root[ast.FieldSelectList])
	check(root[ast.FieldQualify])
	check(order)
	if !ok || key == "" {
		return nil
	}
	whole := d.wholeShape(root, names, order, limit)
	if whole == nil {
		return nil
	}
	whole.strategy, whole.keyedOn = strategyWindow, key
	return whole
}

// planKeyed exchanges the split table on the shape's key, or leaves its
// files as the parts when they hold disjoint ranges of it. It returns the
// exchanged reference, none when no exchange is needed or possible.
func (p *Planner) planKeyed(ctx context.Context, d *dist, stmt *statement, refs []tableRef, files [][]storage.File, split int, groups []FileGroup, sh *shape, plan *Plan) ([]int, error) {
	t := refs[split].table
	disjoint, err := p.disjointFiles(ctx, t, files[split], sh.keyedOn)
	if err != nil {
		return nil, err
	}
	why := "they group on"
	if sh.strategy == strategyWindow {
		why = "the windows partition by"
	}
	if disjoint {
		plan.needsExchange = false
		plan.Decisions.Final = "in the fragments: " + why + " " + refs[split].name.String() + "." + sh.keyedOn + " (its files hold disjoint ranges)"
		return nil, nil
	}
	prunable, top, opaque := topLevelSources(stmt.node, refs)
	side := exchanged{ref: split, key: sh.keyedOn, cols: neededColumns(stmt.node, t, sh.keyedOn)}
	if prunable[split] {
		side.filters = d.ownFilters(stmt.node, resolverFor(split, refs, top, opaque))
	}
	plan.Decisions.Final = "in the fragments: " + why + " the exchanged key " + refs[split].name.String() + "." + sh.keyedOn
	return p.exchangeSides(ctx, stmt, refs, files, split, groups, sh, plan, []exchanged{side})
}

// orderAndLimit are a query node's ORDER BY and LIMIT modifiers (nil when
// absent); false when it has another (DISTINCT, …).
func orderAndLimit(root node) (order, limit node, ok bool) {
	for _, m := range ast.Nodes(root[ast.FieldModifiers]) {
		switch m.Type() {
		case ast.OrderModifier:
			order = m
		case ast.LimitModifier:
			limit = m
		default:
			return nil, nil, false
		}
	}
	return order, limit, true
}
