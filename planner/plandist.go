package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/planner/prune"
	"github.com/quiver-data/quiver/storage"
)

// Typer types statements against empty tables shaped like the warehouse's
// (the coordinator's shadow catalog).
type Typer interface {
	// Schema is the result schema of probe.
	Schema(ctx context.Context, tables []*storage.Table, probe string, args []any) (*arrow.Schema, error)
	// MergeSchema is the result schema of merge run over a PartialsTable
	// shaped like the result of partialsProbe.
	MergeSchema(ctx context.Context, tables []*storage.Table, partialsProbe, merge string, args []any) (*arrow.Schema, error)
}

// distribute chooses how to split the statement (a stage's when depth > 0).
// It returns the shape and the index in refs of the split reference, or a
// fallback error.
func (p *Planner) distribute(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, plan *Plan, depth int) (*shape, int, error) {
	if len(refs) == 0 {
		return nil, -1, fallbackOf(ReasonNoTables)
	}
	if p.opts.Partitioner == nil || p.opts.Typer == nil || p.opts.Functions == nil {
		return nil, -1, fallbackOf(ReasonDisabled)
	}
	kinds, err := p.loadKinds(ctx)
	if err != nil {
		return nil, -1, err
	}
	d := &dist{kinds: kinds}
	if t := stmt.node.Type(); t != ast.SelectNode {
		return nil, -1, fallbackOf(ReasonStatement, strings.ToLower(t))
	}
	cands := d.splitCandidates(stmt.node, refs)
	var inner node // a derived table whose groups the split may keep whole
	if len(cands) == 0 {
		if inner = d.groupedDerived(stmt.node); inner != nil {
			cands = d.splitCandidates(inner, refs)
			d.derived = inner
		} else if cands = fullJoinSides(stmt.node, refs); len(cands) > 0 {
			plan.needsExchange = true // Planner.plan falls back when no partner is found
		}
		if len(cands) == 0 {
			return nil, -1, fallbackOf(ReasonNoSplittableTable)
		}
	}
	split := -1
	for _, c := range cands {
		for i, r := range refs {
			if !sameNode(r.node, c.node) {
				continue
			}
			if split < 0 || r.table.Rows > refs[split].table.Rows ||
				r.table.Rows == refs[split].table.Rows && len(files[i]) > len(files[split]) {
				split = i
			}
		}
	}
	if len(files[split]) == 1 {
		// One file: its row groups are the split.
		slices, err := p.sliceFile(ctx, refs[split].table, files[split][0])
		if err != nil {
			return nil, -1, err
		}
		if len(slices) > 1 {
			files[split] = slices
			plan.Decisions.Slices = len(slices)
		}
	}
	if len(files[split]) < 2 {
		return nil, -1, fallbackOf(ReasonSingleFile)
	}
	if inner != nil {
		key, err := p.disjointGroups(ctx, inner, refs, files, split, ast.Nodes(inner[ast.FieldGroupBy]))
		if err != nil {
			return nil, -1, err
		}
		if key == "" {
			return nil, -1, fallbackOf(ReasonNoSplittableTable)
		}
		plan.Decisions.Derived = "grouped whole in every fragment on " + key
	}
	if len(p.opts.Partitioner.Partition(files[split])) < 2 {
		// One worker gets every file (the pool has one healthy worker):
		// partials and a merge would only add work to the same answer.
		return nil, -1, fallbackOf(ReasonOneWorker)
	}
	args := make([]any, plan.Params)
	schema, err := p.opts.Typer.Schema(ctx, plan.Tables, plan.Probe, args)
	if err != nil {
		return nil, -1, err
	}
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	d.fromColumn = fromColumns(stmt.node, refs)
	// A subquery that stageFilters may make a stage need not be small.
	stageable := depth == 0 && plan.Params == 0 && p.opts.TypeName != nil
	d.constant = func(q node, groups []node, sets bool) bool {
		return p.constantSubquery(ctx, d, refs, files, split, q, groups, sets, stageable)
	}
	sh, err := d.choose(stmt.node, names)
	if err != nil {
		if wsh := d.windowShape(stmt.node, refs, split, names); wsh != nil {
			sh, err = wsh, nil
			plan.needsExchange = true // Planner.plan falls back when it cannot exchange
		}
	}
	if err != nil {
		whole, werr := p.wholeOrFallback(ctx, d, stmt, refs, files, split, names, err, plan)
		if werr != nil {
			lsh, ok := d.withLists(stmt.node, names, werr)
			if !ok {
				return nil, -1, werr
			}
			whole = lsh
		}
		sh = whole
	}
	if sh.merge == nil {
		return sh, split, nil
	}
	if ast.Contains(sh.merge, false, func(e node) bool { return e.Class() == ast.ClassParameter }) {
		return nil, -1, fallbackOf(ReasonParameterInMerge)
	}
	env := node{"error": false, ast.FieldStatements: []any{node{ast.FieldNamedParams: []any{}, ast.FieldNode: sh.merge}}}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, -1, fmt.Errorf("encode merge: %w", err)
	}
	mergeSQL, err := p.opts.Parser.Deserialize(ctx, raw)
	if err != nil {
		return nil, -1, err
	}
	penv, proot, _ := copyWithRefs(stmt, refs)
	sh.partial(proot)
	limitZero(proot)
	partialsProbe, err := p.render(ctx, &statement{envelope: penv, node: proot})
	if err != nil {
		return nil, -1, err
	}
	got, err := p.opts.Typer.MergeSchema(ctx, plan.Tables, partialsProbe, mergeSQL, args)
	if err != nil {
		// A merge DuckDB cannot even bind is a planner limitation, not the
		// user's error: run the query whole.
		p.logger.Debug("merge does not bind", "merge", mergeSQL, "partials", partialsProbe, "err", err)
		return nil, -1, fallbackOf(ReasonMergeInvalid)
	}
	if !got.Equal(schema) {
		for i, f := range schema.Fields() {
			if i >= got.NumFields() || !arrow.TypeEqual(f.Type, got.Field(i).Type) || f.Name != got.Field(i).Name {
				return nil, -1, fallbackOf(ReasonMergeTypeMismatch, f.Name)
			}
		}
		return nil, -1, fallbackOf(ReasonMergeTypeMismatch)
	}
	plan.Merge = &Merge{SQL: mergeSQL, PartialsProbe: partialsProbe}
	return sh, split, nil
}

// withLists chooses the statement's shape again with holistic aggregates
// as lists of values, when err is the fallback for one of them.
func (d *dist) withLists(root node, names []string, err error) (*shape, bool) {
	var fb fallback
	if !errors.As(err, &fb) || fb.reason != ReasonAggregate || !holistic[fb.detail] {
		return nil, false
	}
	d.listPartials = true
	sh, err := d.choose(root, names)
	d.listPartials = false
	return sh, err == nil
}

// fromColumns resolves names against the tables of root's top-level FROM:
// certain only when every source there is a warehouse table whose columns
// keep their names.
func fromColumns(root node, refs []tableRef) func(string) (bool, bool) {
	_, top, opaque := topLevelSources(root, refs)
	for i := range refs {
		if top[i] && hasColumnAliases(refs[i].node) {
			opaque = true
		}
	}
	return func(name string) (bool, bool) {
		if opaque {
			return false, false
		}
		for i := range refs {
			if _, ok := column(refs[i].table, name); ok && top[i] {
				return true, true
			}
		}
		return false, true
	}
}

// pruneRefs returns the files each reference reads after pruning, and
// records per-table counts in the decisions. Only references in the
// top-level FROM that the top-level WHERE filters row by row are pruned:
// inner-join sides and preserved sides of outer joins. The null-supplying
// side of an outer join is never pruned (`WHERE b.x IS NULL` after a LEFT
// JOIN would otherwise gain rows).
func (p *Planner) pruneRefs(ctx context.Context, root node, refs []tableRef, dec *Decisions) ([][]storage.File, error) {
	out := make([][]storage.File, len(refs))
	dec.Files, dec.Pruned = map[string]int{}, map[string]int{}
	for i, r := range refs {
		out[i] = r.table.Files
	}
	where := ast.AsNode(root[ast.FieldWhere])
	if root.Type() == ast.SelectNode && where != nil {
		prunable, top, opaque := topLevelSources(root, refs)
		for i, r := range refs {
			if !prunable[i] {
				continue
			}
			kept, err := prune.Files(ctx, r.table, where, resolverFor(i, refs, top, opaque), p.opts.Footers)
			if err != nil {
				return nil, err
			}
			out[i] = kept
		}
	}
	for i, r := range refs {
		name := r.name.String()
		pruned := len(r.table.Files) - len(out[i])
		if pruned > 0 {
			p.pruned.Add(float64(pruned))
			dec.Pruned[name] = max(dec.Pruned[name], pruned)
		}
		dec.Files[name] = max(dec.Files[name], len(out[i]))
	}
	return out, nil
}

// topLevelSources marks which refs sit in the top-level FROM where the
// top-level WHERE filters their rows, and reports whether the FROM clause
// also has sources whose columns the planner cannot see (derived tables,
// table functions, CTEs), which makes unqualified column names ambiguous.
func topLevelSources(root node, refs []tableRef) (prunable, top map[int]bool, opaque bool) {
	prunable, top = map[int]bool{}, map[int]bool{}
	var visit func(ref node, filtered bool)
	visit = func(ref node, filtered bool) {
		if ref == nil {
			return
		}
		switch ref.Type() {
		case ast.BaseTable:
			for i, r := range refs {
				if sameNode(r.node, ref) {
					top[i] = true
					if filtered {
						prunable[i] = true
					}
					return
				}
			}
			opaque = true // a CTE
		case ast.Join:
			left, right := ast.AsNode(ref[ast.FieldLeft]), ast.AsNode(ref[ast.FieldRight])
			inner := ref.Str(ast.FieldRefType) == ast.RefRegular || ref.Str(ast.FieldRefType) == ast.RefCross || ref.Str(ast.FieldRefType) == ""
			switch jt := ref.Str(ast.FieldJoinType); {
			case inner && jt == ast.JoinInner:
				visit(left, filtered)
				visit(right, filtered)
			case inner && (jt == ast.JoinLeft || jt == ast.JoinSemi || jt == ast.JoinAnti):
				visit(left, filtered)
				visit(right, false)
			case inner && jt == ast.JoinRight:
				visit(left, false)
				visit(right, filtered)
			default:
				visit(left, false)
				visit(right, false)
			}
		case ast.EmptyFrom:
		default:
			opaque = true
		}
	}
	visit(ast.AsNode(root[ast.FieldFromTable]), true)
	return prunable, top, opaque
}

// resolverFor maps column references to columns of refs[i]: qualified by
// its alias (or table name), or unqualified when no other source of the
// FROM clause (inScope: every top-level table reference) has that column.
func resolverFor(i int, refs []tableRef, inScope map[int]bool, opaque bool) prune.Resolver {
	self := refs[i]
	alias := self.node.Alias()
	if alias == "" {
		alias = self.name.Name
	}
	has := func(t *storage.Table, col string) bool {
		for _, c := range t.Columns {
			if strings.EqualFold(c.Name, col) {
				return true
			}
		}
		return false
	}
	return func(names []string) (string, bool) {
		switch len(names) {
		case 2:
			if strings.EqualFold(names[0], alias) {
				return names[1], has(self.table, names[1])
			}
			return "", false
		case 1:
			if opaque || !has(self.table, names[0]) {
				return "", false
			}
			for j, r := range refs {
				if j != i && inScope[j] && has(r.table, names[0]) {
					return "", false
				}
			}
			return names[0], true
		}
		return "", false
	}
}
