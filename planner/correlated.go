package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Correlated EXISTS. `EXISTS (SELECT … FROM t WHERE t.a = o.b AND p)`,
// where o.b belongs to the enclosing query and p to the subquery alone,
// holds exactly when o.b is one of the non-NULL values of t.a where p
// holds: it is rewritten as
//
//	COALESCE(o.b IN (SELECT t.a FROM t WHERE p AND t.a IS NOT NULL), false)
//
// (a NULL o.b matches nothing, and without NULLs in the set IN is never
// NULL, so the COALESCE keeps EXISTS's two values under NOT and OR too).
// The IN subquery no longer refers to the enclosing query, so it can be a
// stage; NOT EXISTS is the NOT of the same. Several equalities to the
// enclosing query compare structs: `struct_pack(k0 := o.b, k1 := o.d) IN
// (SELECT struct_pack(k0 := t.a, k1 := t.c) …)`, every inner key
// filtered NOT NULL (DuckDB compares structs field by field, a NULL field
// equal only to NULL, so a NULL outer key still matches nothing). Only a plain subquery qualifies (no aggregate, GROUP
// BY, DISTINCT or set operation; a LIMIT does not change EXISTS and is
// dropped) whose WHERE conjuncts each bind alone or are such an equality,
// proved by binding: one side binds in the subquery, the other does not.

// decorrelate returns the rewrite of an EXISTS subquery expression, false
// when it does not qualify.
func (x *extraction) decorrelate(ctx context.Context, e node) (node, bool) {
	if e.Class() != ast.ClassSubquery || e.Str("subquery_type") != "EXISTS" {
		return nil, false
	}
	q := e.Child(ast.FieldSubquery).Child(ast.FieldNode)
	if q == nil || q.Type() != ast.SelectNode || q[ast.FieldWhere] == nil || len(ast.Nodes(q[ast.FieldGroupBy])) > 0 ||
		q[ast.FieldHaving] != nil || q[ast.FieldQualify] != nil || q[ast.FieldSample] != nil ||
		q.Str(ast.FieldAggregateHandle) != ast.StandardHandling || x.p.hasAggregates(ctx, q) {
		return nil, false
	}
	if cm, _ := q[ast.FieldCTEMap].(node); len(ast.Nodes(cm["map"])) > 0 {
		return nil, false
	}
	for _, m := range ast.Nodes(q[ast.FieldModifiers]) {
		if m.Type() != ast.LimitModifier {
			return nil, false
		}
		if k, ok := intConstant(ast.AsNode(m[ast.FieldLimit])); !ok || k < 1 || m[ast.FieldOffset] != nil {
			return nil, false
		}
	}
	var refs []tableRef
	var tables []*storage.Table
	for _, r := range x.refs {
		if ast.Contains(q, false, func(n node) bool { return sameNode(n, r.node) }) {
			refs = append(refs, r)
			if !slices.Contains(tables, r.table) {
				tables = append(tables, r.table)
			}
		}
	}
	if len(refs) == 0 || x.foreign(q) {
		return nil, false
	}
	inner, outer, rest, ok := x.correlation(ctx, q, tables)
	if !ok {
		return nil, false
	}
	in := x.adopt(q)
	where := copies(rest)
	for _, k := range inner {
		where = append(where, ast.IsNotNull(k.Copy()))
	}
	key, probe := inner[0].Copy(), outer[0].Copy()
	if len(inner) > 1 {
		key, probe = keyStruct(inner), keyStruct(outer)
	}
	in[ast.FieldSelectList] = []any{key}
	// The set needs each key once: DISTINCT keeps the stage's output (what
	// is written to the spool and read back) to the distinct keys.
	in[ast.FieldModifiers] = []any{node{ast.FieldType: ast.DistinctModifier, "distinct_on_targets": []any{}}}
	in[ast.FieldWhere] = andAll(where)
	out := ast.Coalesce(inSubquery(probe, in), ast.Constant("BOOLEAN", false))
	out[ast.FieldAlias] = e.Alias()
	return out, true
}

// inSubquery is `probe IN (q)`.
func inSubquery(probe, q node) node {
	return node{ast.FieldClass: ast.ClassSubquery, ast.FieldType: "SUBQUERY", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		"subquery_type": "ANY", ast.FieldSubquery: node{ast.FieldNamedParams: []any{}, ast.FieldNode: q},
		"child": probe, "comparison_type": "COMPARE_EQUAL"}
}

// correlation splits the WHERE conjuncts of a subquery q over tables into
// the equalities to the enclosing query (inner[i] = outer[i]: one side
// binds in q, the other does not) and the rest (each binds alone); false
// when a conjunct is neither, or there is no equality.
func (x *extraction) correlation(ctx context.Context, q node, tables []*storage.Table) (inner, outer, rest []node, ok bool) {
	for _, c := range flattenAnd(ast.AsNode(q[ast.FieldWhere])) {
		if x.bindsIn(ctx, q, tables, c, nil) {
			rest = append(rest, c)
			continue
		}
		if c.Class() != ast.ClassComparison || c.Type() != ast.ExprCompareEqual {
			return nil, nil, nil, false
		}
		l, r := ast.AsNode(c[ast.FieldLeft]), ast.AsNode(c[ast.FieldRight])
		switch {
		case x.bindsIn(ctx, q, tables, l, nil) && !x.bindsIn(ctx, q, tables, r, nil):
			inner, outer = append(inner, l), append(outer, r)
		case x.bindsIn(ctx, q, tables, r, nil) && !x.bindsIn(ctx, q, tables, l, nil):
			inner, outer = append(inner, r), append(outer, l)
		default:
			return nil, nil, nil, false
		}
	}
	return inner, outer, rest, len(inner) > 0
}

// keyStruct is struct_pack(k0 := es[0], k1 := es[1], …): the fields are
// named, so the stage's result type can be written out.
func keyStruct(es []node) node {
	fields := copies(es)
	for i, f := range fields {
		f[ast.FieldAlias] = fmt.Sprintf("k%d", i)
	}
	return ast.Function("struct_pack", fields...)
}

// Correlated IN. A conjunct of a WHERE clause `x IN (SELECT y FROM t
// WHERE p)` whose subquery refers to the enclosing query keeps a row
// exactly when `EXISTS (SELECT y FROM t WHERE p AND y = x)` does: IN is
// TRUE when some row of the set equals x, and a WHERE drops a row for
// NULL as for FALSE, so the NULLs IN can return make no difference there.
// The EXISTS is then decorrelated as above, its keys p's equalities and
// y = x.
//
// Anywhere else (under NOT or OR, in a select list or HAVING) IN's NULL
// matters: `x IN S` is TRUE when S holds x, FALSE when S is empty, NULL
// when x is NULL or S holds a NULL, and FALSE otherwise — `NOT IN`'s
// famous NULL. That is a CASE over three EXISTS of the same set, each
// decorrelated as above:
//
//	CASE WHEN EXISTS (S AND y = x) THEN true
//	     WHEN NOT EXISTS (S) THEN false
//	     WHEN x IS NULL OR EXISTS (S AND y IS NULL) THEN NULL
//	     ELSE false END
//
// Three stages read t where DuckDB's mark join reads it once, but each is
// split over the workers where the whole query ran on one. x and y must be
// free of subqueries and volatile functions (x is evaluated twice). A set
// with a LIMIT, OFFSET or ORDER BY … LIMIT is not rewritten (the EXISTS
// would see other rows).

// decorrelateIn rewrites the correlated IN subqueries of q that
// decorrelate: WHERE conjuncts as one EXISTS, the others as the CASE.
func (x *extraction) decorrelateIn(ctx context.Context, q node) {
	if q.Type() != ast.SelectNode {
		return
	}
	if where := ast.AsNode(q[ast.FieldWhere]); where != nil {
		conjuncts := flattenAnd(where)
		changed := false
		for i, c := range conjuncts {
			sq, probe, ok := x.correlatedIn(ctx, c)
			if !ok {
				continue
			}
			y := ast.Nodes(sq[ast.FieldSelectList])[0]
			if r, ok := x.existsOf(ctx, sq, ast.Equal(y.Copy(), probe.Copy())); ok {
				conjuncts[i], changed = r, true
			}
		}
		if changed {
			q[ast.FieldWhere] = andAll(conjuncts)
		}
	}
	for _, field := range []string{ast.FieldWhere, ast.FieldSelectList, ast.FieldHaving} {
		eachSubquery(q, field, func(e node, put func(node)) {
			if r, ok := x.inAsCase(ctx, e); ok {
				put(r)
			}
		})
	}
}

// correlatedIn returns the set and the probe of e when e is a correlated
// `probe IN (SELECT y FROM … WHERE …)` the rewrites take.
func (x *extraction) correlatedIn(ctx context.Context, e node) (sq, probe node, ok bool) {
	if e.Class() != ast.ClassSubquery || e.Str("subquery_type") != "ANY" || e.Str("comparison_type") != "COMPARE_EQUAL" {
		return nil, nil, false
	}
	sq, probe = e.Child(ast.FieldSubquery).Child(ast.FieldNode), e.Child("child")
	if sq == nil || probe == nil || sq.Type() != ast.SelectNode || len(ast.Nodes(sq[ast.FieldSelectList])) != 1 || sq[ast.FieldWhere] == nil {
		return nil, nil, false
	}
	if slices.ContainsFunc(ast.Nodes(sq[ast.FieldModifiers]), func(m node) bool { return m.Type() != ast.DistinctModifier }) {
		return nil, nil, false
	}
	y := ast.Nodes(sq[ast.FieldSelectList])[0]
	if !pure(y) || !pure(probe) || x.standsAlone(ctx, sq) {
		return nil, nil, false // uncorrelated: a stage as it is
	}
	return sq, probe, true
}

// inAsCase is the CASE of three decorrelated EXISTS that e, a correlated
// IN, is equal to (see above); false when e is not one or they do not
// decorrelate.
func (x *extraction) inAsCase(ctx context.Context, e node) (node, bool) {
	sq, probe, ok := x.correlatedIn(ctx, e)
	if !ok {
		return nil, false
	}
	y := ast.Nodes(sq[ast.FieldSelectList])[0]
	match, ok := x.existsOf(ctx, sq, ast.Equal(y.Copy(), probe.Copy()))
	if !ok {
		return nil, false
	}
	some, ok := x.existsOf(ctx, sq, nil)
	if !ok {
		return nil, false
	}
	nulls, ok := x.existsOf(ctx, sq, ast.IsNull(y.Copy()))
	if !ok {
		return nil, false
	}
	r := caseWhen([][2]node{
		{match, ast.Constant("BOOLEAN", true)},
		{ast.Not(some), ast.Constant("BOOLEAN", false)},
		{ast.Or(ast.IsNull(probe.Copy()), nulls), ast.Cast(nullConstant(), "BOOLEAN")},
	}, ast.Constant("BOOLEAN", false))
	r[ast.FieldAlias] = e.Alias()
	return r, true
}

// existsOf is the decorrelated `EXISTS (sq AND extra)` (extra may be nil)
// over a copy of sq, which stays as it is; false when it does not
// decorrelate.
func (x *extraction) existsOf(ctx context.Context, sq, extra node) (node, bool) {
	c := x.duplicate(sq)
	c[ast.FieldModifiers] = []any{}
	if extra != nil {
		c[ast.FieldWhere] = ast.And(ast.AsNode(c[ast.FieldWhere]), extra)
	}
	exists := node{ast.FieldClass: ast.ClassSubquery, ast.FieldType: "SUBQUERY", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		"subquery_type": "EXISTS", ast.FieldSubquery: node{ast.FieldNamedParams: []any{}, ast.FieldNode: c},
		"child": nil, "comparison_type": "INVALID"}
	return x.decorrelate(ctx, exists)
}

// volatile are the functions whose value changes from call to call.
var volatile = map[string]bool{"random": true, "gen_random_uuid": true, "uuid": true, "nextval": true, "currval": true, "setseed": true}

// pure reports whether e holds no subquery and no volatile function, so
// evaluating it twice gives one value.
func pure(e node) bool {
	return !ast.Contains(e, true, func(n node) bool {
		return n.Class() == ast.ClassSubquery || (n.Class() == ast.ClassFunction && volatile[n.FunctionName()])
	})
}

// eachSubquery calls visit for every subquery expression under
// holder[key] that is not inside another subquery, with a function that
// puts a replacement in its place.
func eachSubquery(holder node, key string, visit func(e node, put func(node))) {
	switch v := holder[key].(type) {
	case node:
		if v.Class() == ast.ClassSubquery {
			visit(v, func(r node) { holder[key] = r })
			return // a subquery's own subqueries are its query's
		}
		for _, k := range sortedKeys(v) {
			eachSubquery(v, k, visit)
		}
	case []any:
		for i, c := range v {
			c, ok := c.(node)
			if !ok {
				continue
			}
			if c.Class() == ast.ClassSubquery {
				visit(c, func(r node) { v[i] = r })
				continue
			}
			for _, k := range sortedKeys(c) {
				eachSubquery(c, k, visit)
			}
		}
	}
}

// sortedKeys are n's keys in order, for a deterministic walk.
func sortedKeys(n node) []string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// standsAlone reports whether a subquery binds without its enclosing
// query.
func (x *extraction) standsAlone(ctx context.Context, q node) bool {
	return x.p.standsAlone(ctx, x.refs, q)
}

// standsAlone reports whether a subquery, whose table references are
// among refs, binds without its enclosing query.
func (p *Planner) standsAlone(ctx context.Context, refs []tableRef, q node) bool {
	var tables []*storage.Table
	for _, r := range refs {
		if ast.Contains(q, false, func(n node) bool { return sameNode(n, r.node) }) && !slices.Contains(tables, r.table) {
			tables = append(tables, r.table)
		}
	}
	sql, err := p.renderNode(ctx, q)
	if err != nil {
		return false
	}
	_, err = p.opts.Typer.Schema(ctx, tables, sql, nil)
	return err == nil
}

// constantSubquery reports whether a subquery of a split aggregate's
// select list or HAVING can be a column of its partials (aggregate.go),
// the same value in every partial row of a group. Either it is a constant
// of the statement — it binds alone — or, with groups and no grouping sets,
// a function of the group keys: correlated only through them (keyedOn).
// It must call no volatile function (each fragment would draw its own
// value). A constant one is computed by every fragment unless it may be
// a stage (stageable: stageFilters plans it as one when its own plan is
// split, and the fragments read its output); it must then read only
// tables small enough to broadcast, other than the split one
// (refs[split]), since a subquery over the split table (TPC-H q11's
// HAVING) costs each fragment more than its share of the statement. A
// correlated one is computed by every fragment for its groups, DuckDB
// joining its tables with them as a broadcast join would: it must not
// read the split table, and its tables may be of any size (the statement
// on one worker, the alternative, reads them whole too).
func (p *Planner) constantSubquery(ctx context.Context, d *dist, refs []tableRef, files [][]storage.File, split int, q node,
	groups []node, sets bool, stageable bool) bool {
	if ast.Contains(q, false, func(n node) bool { return n.Class() == ast.ClassFunction && volatile[n.FunctionName()] }) {
		return false
	}
	small, splitFree := true, true
	maxBytes := p.maxBroadcastBytes(ctx)
	for i, r := range refs {
		if !ast.Contains(q, false, func(n node) bool { return sameNode(n, r.node) }) {
			continue
		}
		splitFree = splitFree && r.name != refs[split].name
		small = small && splitFree && !p.tooLarge(r.table, files[i], maxBytes)
	}
	if p.standsAlone(ctx, refs, q) {
		return stageable || small
	}
	return splitFree && len(groups) > 0 && !sets && keyedOn(d, q, refs, groups)
}

// keyedOn reports whether a correlated subquery q reads the enclosing
// query only through its group keys: every column reference that no table
// of q's FROM clause has names a group key that is a column, outside q's
// aggregate calls (an aggregate of the enclosing rows would see only a
// fragment's), and q holds no subquery and no derived table (their scopes
// are not followed).
func keyedOn(d *dist, q node, refs []tableRef, groups []node) bool {
	if q.Type() != ast.SelectNode || ast.Contains([]any{q[ast.FieldSelectList], q[ast.FieldWhere], q[ast.FieldHaving], q[ast.FieldFromTable]}, false,
		func(n node) bool { return n.Class() == ast.ClassSubquery }) {
		return false
	}
	_, inner, opaque := topLevelSources(q, refs)
	if opaque || len(inner) == 0 {
		return false
	}
	isGroup := func(c node) bool {
		cn := c.ColumnNames()
		for _, g := range groups {
			if g.Class() != ast.ClassColumnRef {
				continue
			}
			gn := g.ColumnNames()
			if strings.EqualFold(gn[len(gn)-1], cn[len(cn)-1]) && (len(gn) == 1 || len(cn) == 1 || ast.Canonical(g) == ast.Canonical(c)) {
				return true
			}
		}
		return false
	}
	ok := true
	var visit func(v any, inAggregate bool)
	visit = func(v any, inAggregate bool) {
		switch v := v.(type) {
		case node:
			switch {
			case v.Class() == ast.ClassColumnRef:
				for j := range inner {
					if _, own := resolverFor(j, refs, inner, false)(v.ColumnNames()); own {
						return
					}
				}
				ok = ok && !inAggregate && isGroup(v)
				return
			case v.Class() == ast.ClassFunction && d.kinds[strings.ToLower(v.FunctionName())] == "aggregate":
				inAggregate = true
			}
			for _, k := range sortedKeys(v) {
				visit(v[k], inAggregate)
			}
		case []any:
			for _, c := range v {
				visit(c, inAggregate)
			}
		}
	}
	for _, key := range []string{ast.FieldSelectList, ast.FieldWhere, ast.FieldGroupBy, ast.FieldHaving, ast.FieldQualify, ast.FieldModifiers} {
		visit(q[key], false)
	}
	// Join conditions in the FROM clause are its own; its table
	// references hold no column references.
	ast.Walk(q[ast.FieldFromTable], func(n node) {
		if n.Type() == ast.Join {
			visit(n[ast.FieldCondition], false)
		}
	})
	return ok
}

// bindsIn reports whether e binds in q's FROM with only the conjuncts
// where (so it does not refer to the enclosing query).
func (x *extraction) bindsIn(ctx context.Context, q node, tables []*storage.Table, e node, where []node) bool {
	_, err := x.typeIn(ctx, q, tables, e, where)
	return err == nil
}

// typeIn types e in q's FROM with only the conjuncts where: a schema of
// one field.
func (x *extraction) typeIn(ctx context.Context, q node, tables []*storage.Table, e node, where []node) (*arrow.Schema, error) {
	probe := q.Copy()
	probe[ast.FieldSelectList] = []any{e.Copy()}
	probe[ast.FieldWhere] = andAll(copies(where))
	return x.schemaOf(ctx, probe, tables)
}

// adopt copies q, which is about to leave the tree, and makes the
// references in the copy the extraction's: each takes the place in x.refs
// of the reference it copies.
func (x *extraction) adopt(q node) node {
	return x.copyRefs(q, func(i int, n node) { x.refs[i].node = n })
}

// duplicate copies q, which stays in the tree, and adds the references in
// the copy to the extraction's, each reading the files of the reference
// it copies.
func (x *extraction) duplicate(q node) node {
	return x.copyRefs(q, func(i int, n node) {
		r := x.refs[i]
		r.node = n
		x.refs, x.origin = append(x.refs, r), append(x.origin, x.origin[i])
	})
}

// copyRefs copies q and calls found with each reference of the extraction
// in q and its copy.
func (x *extraction) copyRefs(q node, found func(i int, n node)) node {
	const mark = "\x00copy"
	n := len(x.refs)
	for i, r := range x.refs {
		if ast.Contains(q, false, func(c node) bool { return sameNode(c, r.node) }) {
			r.node[mark] = i
		}
	}
	cp := q.Copy()
	for _, r := range x.refs[:n] {
		delete(r.node, mark)
	}
	ast.Walk(cp, func(c node) {
		if i, ok := c[mark].(int); ok {
			delete(c, mark)
			found(i, c)
		}
	})
	return cp
}
