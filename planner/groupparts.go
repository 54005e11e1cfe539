package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// Aggregates without partials, grouped on what no split can keep whole.
// `mode`, ordered `string_agg`/`list` and the other aggregates that have no
// partial form need each group whole in one fragment. When a group key is
// a column of the split table, the table is exchanged on it (final.go);
// when the keys are a broadcast table's columns (`GROUP BY t.genre` over
// plays ⋈ titles), no table holds them, but the join's rows do. Such a
// statement is rewritten as the aggregate over a derived table of its rows,
//
//	SELECT <select list over quiver_c0, …> FROM (SELECT c0 AS quiver_c0, …
//	FROM <from> WHERE <where>) quiver_rows GROUP BY <keys over quiver_c…>
//	HAVING … ORDER BY … LIMIT …
//
// as windows are (window.go); the derived table becomes a stage split over
// the workers, its output hash-partitioned on the columns the group keys
// read into P parts, and the aggregate runs as P fragments, fragment p over
// part p: every row of a group has the same key columns, so it is in one
// part, and each group is finished whole by DuckDB's own aggregate. An
// ORDER BY or LIMIT finishes as top-k on the coordinator.
//
// Grouping sets (a coarser set's group spans parts) are rewritten but not
// repartitioned: the stage spreads the join, one worker the sets. Not
// rewritten: GROUP BY ALL, a key that reads no column (`GROUP BY 1`, an
// ordinal), DISTINCT, QUALIFY, windows, a star, a parameter or a subquery
// outside the WHERE clause, CTEs, and a FROM that neither joins nor
// filters (a split key exists then, or the stage would only copy the
// table).

// groupInput rewrites root (a copy of the statement, refs its references)
// as its aggregate over a derived table of its rows, when it qualifies
// (see above); names are the result's column names. It returns the
// derived table's columns the group keys read (nil under grouping sets)
// and whether it rewrote.
func (p *Planner) groupInput(root node, refs []tableRef, names []string) (keys []string, rewritten bool) {
	if root.Type() != ast.SelectNode || root[ast.FieldSample] != nil || root[ast.FieldQualify] != nil ||
		root.Str(ast.FieldAggregateHandle) != ast.StandardHandling || hasCTEs(root) {
		return nil, false
	}
	groups := ast.Nodes(root[ast.FieldGroupBy])
	sets, _ := root[ast.FieldGroupSets].([]any)
	if len(groups) == 0 {
		return nil, false
	}
	if _, _, ok := orderAndLimit(root); !ok {
		return nil, false
	}
	from := root.Child(ast.FieldFromTable)
	if from == nil || (from.Type() != ast.Join && root[ast.FieldWhere] == nil) {
		return nil, false
	}
	list := ast.Nodes(root[ast.FieldSelectList])
	if len(list) != len(names) {
		return nil, false
	}
	outside := []any{root[ast.FieldSelectList], root[ast.FieldHaving], root[ast.FieldModifiers], root[ast.FieldGroupBy]}
	if ast.Contains(outside, false, func(e node) bool {
		return e.Class() == ast.ClassSubquery || e.Class() == ast.ClassStar || e.Class() == ast.ClassParameter || e.Class() == ast.ClassWindow
	}) {
		return nil, false
	}
	rc := newRowColumns(list)
	newGroups := make([]any, len(groups))
	for i, g := range groups {
		r := rc.rewrite(g, false)
		if !readsColumn(r) {
			return nil, false // an ordinal or a constant
		}
		ast.Contains(r, false, func(e node) bool {
			if c := e.ColumnNames(); e.Class() == ast.ClassColumnRef && len(c) == 1 && !slices.Contains(keys, c[0]) {
				keys = append(keys, c[0])
			}
			return false
		})
		newGroups[i] = r
	}
	outList, mods := rewriteOutputs(root, names, rc.rewrite)
	// HAVING binds a name to a column before a select alias (`SELECT k AS
	// v … HAVING v > 15` filters on the column v): its names are columns,
	// but for a name no table of the FROM clause has that a select item is
	// aliased to (`count(*) AS n … HAVING n > 10`), which stays the alias
	// of the rewritten item. With a derived table in the FROM clause the
	// columns are not known: every name is a column, and one that is only
	// an alias names no column of the rows, the stage does not bind, and
	// the statement is planned as it was.
	_, top, opaque := topLevelSources(root, refs)
	aliasOnly := func(e node) bool {
		cn := e.ColumnNames()
		if opaque || e.Class() != ast.ClassColumnRef || len(cn) != 1 || !rc.aliases[strings.ToLower(cn[0])] {
			return false
		}
		for j := range top {
			if _, ok := column(refs[j].table, cn[0]); ok {
				return false
			}
		}
		return true
	}
	var having any
	if h := ast.AsNode(root[ast.FieldHaving]); h != nil {
		var rewrite func(e node) node
		rewrite = func(e node) node {
			switch {
			case aliasOnly(e):
				return e
			case e.Class() == ast.ClassColumnRef:
				return rc.rewrite(e, false)
			}
			return mapInOrder(e, rewrite)
		}
		having = rewrite(h)
	}
	rows := ast.Select(from)
	rows[ast.FieldSelectList], rows[ast.FieldWhere] = rc.inner, root[ast.FieldWhere]
	root[ast.FieldSelectList], root[ast.FieldHaving], root[ast.FieldModifiers] = outList, having, mods
	root[ast.FieldGroupBy] = newGroups
	root[ast.FieldFromTable], root[ast.FieldWhere] = ast.SubqueryRef(rows, "quiver_rows"), nil
	if len(sets) > 1 {
		return nil, true // the sets over the stage's rows, on one worker
	}
	return keys, true
}

// readsColumn reports whether an expression reads a column.
func readsColumn(e node) bool {
	return ast.Contains(e, false, func(n node) bool { return n.Class() == ast.ClassColumnRef })
}

// partitionGroups repartitions the rows stage of a statement groupInput
// rewrote on the columns its keys read; nil when it cannot be (the
// aggregate then runs on one worker over the stage's rows).
func (x *extraction) partitionGroups(ctx context.Context, keys, names []string) (*parted, error) {
	var st *stage
	from := x.root.Child(ast.FieldFromTable)
	for _, s := range x.stages {
		if from != nil && sameNode(s.holder, from.Child(ast.FieldSubquery)) && s.key == ast.FieldNode {
			st = s
		}
	}
	if st == nil || len(st.more) > 0 || len(st.sub.Fragments) < 2 {
		return nil, nil
	}
	types := make([]string, len(keys))
	for i, k := range keys {
		c := slices.Index(st.columns, k)
		if c < 0 {
			return nil, fmt.Errorf("group key column %s is not a column of the rows stage", k)
		}
		types[i] = st.types[c]
	}
	sp := &parted{parts: len(st.sub.Fragments)}
	for _, f := range st.sub.Fragments {
		sp.labels = append(sp.labels, f.Group)
	}
	if err := x.p.finishParts(ctx, sp, x.root, names); err != nil || sp.shape == nil {
		return nil, err
	}
	st.parts, st.hashColumns, st.hashTypes = sp.parts, keys, types
	return sp, nil
}
