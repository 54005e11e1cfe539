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

// Set operations repartitioned on all their columns. A statement whose
// root is a tree of UNION, INTERSECT and EXCEPT (with or without ALL)
// has its branches planned as stages (stages.go); alone, the remainder
// would compute the set operation on one worker over all their rows.
// Instead each branch's output is hash-partitioned on all of its columns
// into P parts, and the remainder is P fragments, fragment p the same set
// operation over part p of every branch. The result of a set operation
// for a row value depends only on the occurrences of that value in each
// branch (UNION and INTERSECT and EXCEPT keep or drop it, their ALL forms
// count it), and every occurrence of a value lands in one part, so the
// parts' results are disjoint and their concatenation is the answer. An
// ORDER BY or LIMIT on the root is finished on the coordinator, as top-k
// does.
//
// A value must hash alike in every branch, but branches may differ in
// types (`SELECT 1 UNION SELECT 1.5`): the columns are hashed cast to the
// result's types, which is what the set operation compares when it is one
// node. A tree of several nodes compares at each node in that node's
// types, so it is only repartitioned when every branch already has the
// result's types. A branch that reads no table (`SELECT 0, 'none'`) is not
// a stage: each fragment computes it and keeps the rows of its part. A
// branch that reads a CTE of the statement, or a stage that is also read
// elsewhere, keeps the set operation on one worker: its rows would be
// read whole by every fragment.

// setTree is the set operation at a statement's root: its inner nodes
// and its branches (the leaves: queries that are not set operations, or
// set operations with modifiers of their own).
type setTree struct {
	root   node
	inner  []node
	leaves []slot
	// sets[i] says that only which values leaves[i] holds matters, not how
	// often: a UNION, INTERSECT or EXCEPT above it reads its input as a
	// set, with only UNION ALL or INTERSECT ALL between (whose output's
	// values depend only on their inputs' values; EXCEPT ALL's counts do
	// not). Such a branch is written deduplicated.
	sets []bool
}

// setTreeOf is the set operation tree of root, nil when root is not a set
// operation, is only UNION ALL (concatenated, nothing to compare), or
// matches columns by name.
func setTreeOf(root node) *setTree {
	if root.Type() != ast.SetOperationNode {
		return nil
	}
	t := &setTree{root: root}
	compares := false
	// set: only the values of n's output matter (see setTree.sets).
	var visit func(n node, set bool) bool
	visit = func(n node, set bool) bool {
		op := n.Str("setop_type")
		if op != "UNION" && op != "INTERSECT" && op != "EXCEPT" {
			return false
		}
		all, _ := n["setop_all"].(bool)
		if !all || op != "UNION" {
			compares = true
		}
		below := !all || (set && op != "EXCEPT")
		for _, k := range []string{ast.FieldLeft, ast.FieldRight} {
			c := n.Child(k)
			if c == nil {
				return false
			}
			if c.Type() == ast.SetOperationNode && len(ast.Nodes(c[ast.FieldModifiers])) == 0 && !hasCTEs(c) {
				t.inner = append(t.inner, c)
				if !visit(c, below) {
					return false
				}
				continue
			}
			t.leaves = append(t.leaves, slot{holder: n, key: k})
			t.sets = append(t.sets, below)
		}
		return true
	}
	if !visit(root, false) || !compares {
		return nil
	}
	return t
}

// hasCTEs reports whether a query node defines CTEs of its own.
func hasCTEs(q node) bool {
	m := q.Child(ast.FieldCTEMap)
	return m != nil && len(ast.Nodes(m["map"])) > 0
}

// isInner reports whether q is an inner node of the tree (walked into,
// never a stage of its own).
func (t *setTree) isInner(q node) bool {
	return t != nil && slices.ContainsFunc(t.inner, func(n node) bool { return sameNode(n, q) })
}

// isLeaf reports whether holder[key] is one of the tree's branches.
func (t *setTree) isLeaf(holder node, key string) bool {
	return t.leaf(holder, key) >= 0
}

// leaf is the index of the branch holder[key], -1 when it is not one.
func (t *setTree) leaf(holder node, key string) int {
	if t == nil {
		return -1
	}
	return slices.IndexFunc(t.leaves, func(s slot) bool { return s.key == key && sameNode(s.holder, holder) })
}

// readAsSet reports whether only the values of every slot of st matter.
func (t *setTree) readAsSet(st *stage) bool {
	if !t.sets[t.leaf(st.holder, st.key)] {
		return false
	}
	return !slices.ContainsFunc(st.more, func(s slot) bool { return !t.sets[t.leaf(s.holder, s.key)] })
}

// parted is a remainder run as parts: P fragments, fragment p reading
// part p of its stages' outputs (a set operation over its branches'
// parts, an aggregate over its rows' parts, groupparts.go).
type parted struct {
	parts  int
	labels []string // the worker each part's fragment prefers
	// local are the branches without tables, each kept to its part by
	// the fragment that computes it.
	local []localBranch
	shape *shape
	merge *Merge
	// names and types are the result's columns, the types hashed on.
	names, types []string
}

// localBranch is a branch computed in every fragment.
type localBranch struct {
	slot
	sql string // the branch alone
}

// partitionSet repartitions the set operation tree t of a staged
// statement whose result is want; nil when it cannot be (the set
// operation then runs on one worker over the branches' outputs).
func (x *extraction) partitionSet(ctx context.Context, t *setTree, want *arrow.Schema) (*parted, error) {
	p := x.p
	types := make([]string, want.NumFields())
	names := make([]string, want.NumFields())
	for i, f := range want.Fields() {
		name, err := p.opts.TypeName(f.Type)
		if err != nil {
			return nil, nil
		}
		types[i], names[i] = name, f.Name
	}
	sp := &parted{}
	var leafStages []*stage
	for _, leaf := range t.leaves {
		st := x.stageAt(leaf)
		if st == nil {
			q := leaf.holder.Child(leaf.key)
			if x.readsData(q) {
				p.logger.Debug("set operation on one worker: a branch reads data but is not a stage", "op", t.root.Str("setop_type"))
				return nil, nil
			}
			sql, err := p.renderNode(ctx, q.Copy())
			if err != nil {
				return nil, err
			}
			if len(t.inner) > 0 {
				schema, err := p.opts.Typer.Schema(ctx, nil, sql, nil)
				if err != nil || !sameTypes(p, schema, types) {
					return nil, nil
				}
			}
			sp.local = append(sp.local, localBranch{slot: leaf, sql: sql})
			continue
		}
		if len(st.types) != len(types) || (len(t.inner) > 0 && !slices.Equal(st.types, types)) {
			return nil, nil
		}
		// Every slot of the stage must be a branch: another reads it whole.
		if !t.isLeaf(st.holder, st.key) || slices.ContainsFunc(st.more, func(s slot) bool { return !t.isLeaf(s.holder, s.key) }) {
			return nil, nil
		}
		if !slices.Contains(leafStages, st) {
			leafStages = append(leafStages, st)
		}
		if n := len(st.sub.Fragments); n > sp.parts {
			sp.parts, sp.labels = n, nil
			for _, f := range st.sub.Fragments {
				sp.labels = append(sp.labels, f.Group)
			}
		}
	}
	if sp.parts < 2 {
		return nil, nil
	}
	if err := p.finishParts(ctx, sp, t.root, names); err != nil || sp.shape == nil {
		return nil, err
	}
	for _, st := range leafStages {
		st.parts, st.hashTypes, st.distinct = sp.parts, types, t.readAsSet(st)
		st.counted = !st.distinct
	}
	sp.names, sp.types = names, types
	return sp, nil
}

// keepSplit puts back in their places the branches that were stages only
// to be repartitioned (their plans are one fragment), once the set
// operation is not: as stages they would only add a round. It reports how
// many stages are left.
func (x *extraction) keepSplit() int {
	kept := x.stages[:0]
	for _, st := range x.stages {
		if st.sub.Decisions.Strategy != strategySingle {
			kept = append(kept, st)
			continue
		}
		st.holder[st.key] = st.orig
		for _, m := range st.more {
			m.holder[m.key] = m.orig
		}
	}
	x.stages = kept
	return len(kept)
}

// finishParts sets the shape of root's parts and their merge: each part's
// first k+m rows and the coordinator's top-k over them when root orders or
// limits, nothing to merge otherwise. It leaves sp.shape nil when root has
// another modifier or an ORDER BY top-k cannot map.
func (p *Planner) finishParts(ctx context.Context, sp *parted, root node, names []string) error {
	order, limit, ok := orderAndLimit(root)
	if !ok {
		return nil
	}
	sh := &shape{strategy: strategySingle, partial: func(node) {}}
	if order != nil || limit != nil {
		top, err := (&dist{}).topK(root, names, nil, order, limit)
		if err != nil {
			return nil
		}
		sql, err := p.renderNode(ctx, top.merge)
		if err != nil {
			return err
		}
		sh.partial, sh.merge = top.partial, top.merge
		sp.merge = &Merge{SQL: sql}
	}
	sp.shape = sh
	return nil
}

// stageAt is the stage read at a branch, nil when the branch is not one.
func (x *extraction) stageAt(s slot) *stage {
	for _, st := range x.stages {
		if sameNode(st.holder, s.holder) && st.key == s.key {
			return st
		}
		for _, m := range st.more {
			if sameNode(m.holder, s.holder) && m.key == s.key {
				return st
			}
		}
	}
	return nil
}

// readsData reports whether q reads a table, a CTE or a stage's output.
func (x *extraction) readsData(q node) bool {
	if x.foreign(q) || ast.Contains(q, false, func(n node) bool { return x.isRef(n) }) {
		return true
	}
	return slices.ContainsFunc(x.stages, func(st *stage) bool {
		return ast.Contains(q, false, func(n node) bool { return sameNode(n, st.holder) })
	})
}

// sameTypes reports whether a schema's columns have the DuckDB types.
func sameTypes(p *Planner, schema *arrow.Schema, types []string) bool {
	if schema.NumFields() != len(types) {
		return false
	}
	for i, f := range schema.Fields() {
		if name, err := p.opts.TypeName(f.Type); err != nil || name != types[i] {
			return false
		}
	}
	return true
}

// partHash is the part of a row whose columns are cols, hashed as types:
// the expression exchanges and branches agree on.
func partHash(cols, types []string, parts int) string {
	hash := make([]string, len(cols))
	for i, c := range cols {
		hash[i] = fmt.Sprintf("CAST(%s AS %s)", quoteIdent(c), types[i])
	}
	return fmt.Sprintf("CAST(hash(%s) %% %d AS BIGINT)", strings.Join(hash, ", "), parts)
}

// bindLocal puts in each local branch's place the branch keeping only
// the rows of part.
func (p *Planner) bindLocal(ctx context.Context, sp *parted, part int) error {
	cols := make([]string, len(sp.names))
	sel := make([]string, len(sp.names))
	for i, n := range sp.names {
		cols[i] = fmt.Sprintf("c%d", i)
		sel[i] = fmt.Sprintf("c%d AS %s", i, quoteIdent(n))
	}
	for _, b := range sp.local {
		sql := fmt.Sprintf("SELECT %s FROM (%s) AS quiver_branch(%s) WHERE %s = %d",
			strings.Join(sel, ", "), b.sql, strings.Join(cols, ", "), partHash(cols, sp.types, sp.parts), part)
		s, err := p.parse(ctx, sql)
		if err != nil {
			return fmt.Errorf("set operation branch of part %d: %w", part, err)
		}
		b.holder[b.key] = s.node
	}
	return nil
}

// partedFragments renders the remainder of a repartitioned set operation:
// one fragment per part, each reading its part of every branch.
func (p *Planner) partedFragments(ctx context.Context, sp *parted, stages []*stage, rem *statement, refs []tableRef, files [][]storage.File) ([]Fragment, error) {
	frags := make([]Fragment, sp.parts)
	for part := range frags {
		if err := p.readStages(ctx, stages, part); err != nil {
			return nil, err
		}
		if err := p.bindLocal(ctx, sp, part); err != nil {
			return nil, err
		}
		f, err := p.fragment(ctx, rem, refs, files, -1, FileGroup{Label: sp.labels[part]}, sp.shape)
		if err != nil {
			return nil, err
		}
		frags[part] = f
	}
	return frags, nil
}

// setOpName names a set operation node's operation ("union", "except all").
func setOpName(n node) string {
	op := strings.ToLower(n.Str("setop_type"))
	if all, _ := n["setop_all"].(bool); all {
		op += " all"
	}
	return op
}
