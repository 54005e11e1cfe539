package planner

import (
	"context"
	"fmt"
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

// Windows over other partitions, or none. Their rows cannot be split, but
// the work that makes them can: a statement whose FROM joins tables or
// whose WHERE filters them is rewritten as the window over a derived
// table of its rows,
//
//	SELECT <select list over quiver_c0, quiver_c1, …> FROM (SELECT c0 AS
//	quiver_c0, c1 AS quiver_c1, … FROM <from> WHERE <where>) quiver_rows
//	<QUALIFY, ORDER BY, LIMIT>
//
// (c0, c1, … the columns the statement names outside the WHERE clause,
// each select item aliased to the name DuckDB gave it), and the derived
// table becomes a stage like any subquery: split, joined and filtered on
// every worker, its rows gathered in the spool for the window's one
// fragment. Over a plain scan the stage would only copy the table's
// columns into the spool before the same one worker reads them, so such
// windows stay one fragment (fallback `select:window_function`). So do
// statements that aggregate, sample, have a CTE, a star or a subquery
// outside the WHERE clause: their names do not map onto one row source.

// windowInput rewrites root (a copy of the statement) as its windows over
// a derived table of its rows, when it qualifies (see above); names are
// the result's column names. It reports whether it did.
func (p *Planner) windowInput(ctx context.Context, root node, names []string) bool {
	if root.Type() != ast.SelectNode || root[ast.FieldSample] != nil || root.Str(ast.FieldAggregateHandle) != ast.StandardHandling ||
		len(ast.Nodes(root[ast.FieldGroupBy])) > 0 || root[ast.FieldHaving] != nil || p.hasAggregates(ctx, root) {
		return false
	}
	if hasCTEs(root) {
		return false
	}
	from := root.Child(ast.FieldFromTable)
	if from == nil || (from.Type() != ast.Join && root[ast.FieldWhere] == nil) {
		return false // no input work to spread
	}
	list := ast.Nodes(root[ast.FieldSelectList])
	if len(list) != len(names) {
		return false
	}
	outside := []any{root[ast.FieldSelectList], root[ast.FieldQualify], root[ast.FieldModifiers]}
	windows := false
	if ast.Contains(outside, false, func(e node) bool {
		windows = windows || e.Class() == ast.ClassWindow
		return e.Class() == ast.ClassSubquery || e.Class() == ast.ClassStar || e.Class() == ast.ClassParameter
	}) || !windows {
		return false
	}
	rc := newRowColumns(list)
	outList, mods := rewriteOutputs(root, names, rc.rewrite)
	var qualify any
	if q := ast.AsNode(root[ast.FieldQualify]); q != nil {
		qualify = rc.rewrite(q, true)
	}
	if len(rc.inner) == 0 {
		return false
	}
	rows := ast.Select(from)
	rows[ast.FieldSelectList], rows[ast.FieldWhere] = rc.inner, root[ast.FieldWhere]
	root[ast.FieldSelectList], root[ast.FieldQualify], root[ast.FieldModifiers] = outList, qualify, mods
	root[ast.FieldFromTable], root[ast.FieldWhere] = ast.SubqueryRef(rows, "quiver_rows"), nil
	return true
}

// rowColumns maps the columns a statement names onto the columns of a
// derived table of its rows, quiver_c0, quiver_c1, … in the order met.
type rowColumns struct {
	aliases map[string]bool // the select list's aliases, lowercased
	inner   []any           // the derived table's select list
	index   map[string]string
}

func newRowColumns(list []node) *rowColumns {
	rc := &rowColumns{aliases: map[string]bool{}, index: map[string]string{}}
	for _, e := range list {
		if e.Alias() != "" {
			rc.aliases[strings.ToLower(e.Alias())] = true
		}
	}
	return rc
}

// rewrite is e over the derived table: each column reference the derived
// table's column, except, where outputNames, a name of a select item.
func (rc *rowColumns) rewrite(e node, outputNames bool) node {
	if e.Class() == ast.ClassColumnRef {
		cn := e.ColumnNames()
		if outputNames && len(cn) == 1 && rc.aliases[strings.ToLower(cn[0])] {
			return e // the select item it names, which keeps that name
		}
		k := ast.Canonical(e)
		name, ok := rc.index[k]
		if !ok {
			name = fmt.Sprintf("quiver_c%d", len(rc.inner))
			c := e.Copy()
			c[ast.FieldAlias] = name
			rc.inner, rc.index[k] = append(rc.inner, c), name
		}
		return ast.ColumnRef(name)
	}
	return mapInOrder(e, func(c node) node { return rc.rewrite(c, outputNames) })
}

// rewriteOutputs rewrites a statement's select list, each item aliased to
// the name DuckDB gave it, and its modifiers (whose references to those
// names stay), for a statement over a derived table of its rows.
func rewriteOutputs(root node, names []string, rewrite func(e node, outputNames bool) node) (list, mods []any) {
	for i, e := range ast.Nodes(root[ast.FieldSelectList]) {
		r := rewrite(e, false)
		r[ast.FieldAlias] = names[i]
		list = append(list, r)
	}
	mods = make([]any, 0)
	for _, m := range ast.Nodes(root[ast.FieldModifiers]) {
		mods = append(mods, rewrite(m, true))
	}
	return list, mods
}

// mapInOrder is a copy of n with f applied to each child node, visited in
// key order (the names rewrites number as they meet columns are stable).
func mapInOrder(n node, f func(node) node) node {
	out := make(node, len(n))
	for _, k := range sortedKeys(n) {
		switch v := n[k].(type) {
		case node:
			if v == nil {
				out[k] = v
				continue
			}
			out[k] = f(v)
		case []any:
			list := make([]any, len(v))
			for i, c := range v {
				if cn, ok := c.(node); ok && cn != nil {
					list[i] = f(cn)
				} else {
					list[i] = ast.Clone(c)
				}
			}
			out[k] = list
		default:
			out[k] = ast.Clone(v)
		}
	}
	return out
}
