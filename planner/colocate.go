package planner

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Co-located broadcast. A broadcast table T joined to the split table S on
// equal keys (S.a = T.b) needs, in the fragment that reads some of S's
// files, only T's rows whose b can equal an a of those files: every other
// row of T finds no partner there, and T's rows reach the output only
// through that join (it is inner, or T is the side an outer, semi or anti
// join does not keep). When both tables are laid out by the key — TPC-H's
// lineitem and orders by order key, a warehouse written by customer or by
// date — the footers' min … max of a and b say which of T's files can
// meet which of S's, and each fragment reads only those: a broadcast that
// every fragment paid in full costs about 1/N of it, and the join's build
// side shrinks with it. This is the storage-partitioned join of Spark and
// Iceberg, decided from Parquet statistics instead of a declared bucketing.
//
// It is exact whatever the statistics miss: a file whose span is unknown is
// kept, a fragment whose S files have an unknown span reads all of T, and
// NULL keys join nothing on either side.

// colocation is a broadcast reference read by ranges of the split table's
// join key.
type colocation struct {
	ref      int
	splitKey string
	key      string
	spans    []span // of files[ref], by index
}

// colocated finds the broadcast references of a split plan that can be
// read by ranges (see above): top-level, not under a policy (a masked key
// joins on values the statistics do not describe), with at least two
// files, equated with the split reference on an integer or date column of
// the same type whose footers give every file's span. splitSpans are the
// split table's spans by placement key.
//
// The references are those of the query node whose FROM clause holds the
// split reference — the statement, or the derived table the split table
// sits in (TPC-H q07–q09): that node's result is the same whichever rows
// of the joined table outside the ranges it reads.
func (p *Planner) colocated(ctx context.Context, root node, refs []tableRef, files [][]storage.File, split int) ([]colocation, map[string]map[string]span, error) {
	if p.opts.Footers == nil || refs[split].restricted || hasColumnAliases(refs[split].node) {
		return nil, nil, nil
	}
	if root = fromOwner(root, refs[split].node); root == nil {
		return nil, nil, nil
	}
	_, top, opaque := topLevelSources(root, refs)
	if !top[split] {
		return nil, nil, nil
	}
	resolve := columnOf(refs, top, opaque)
	var out []colocation
	splitSpans := map[string]map[string]span{} // split key column → placement key → span
	for j := range refs {
		if j == split || !top[j] || refs[j].restricted || hasColumnAliases(refs[j].node) || len(files[j]) < 2 {
			continue
		}
		for _, k := range joinKeys(root, refs, split, j, resolve, false) {
			if !sameType(refs[split].table, k[0], refs[j].table, k[1]) {
				continue
			}
			spans, _, err := p.fileSpans(ctx, refs[j].table, files[j], k[1])
			if err != nil {
				return nil, nil, err
			}
			if spans == nil {
				continue
			}
			bySplit, ok := splitSpans[k[0]]
			if !ok {
				ss, _, err := p.fileSpans(ctx, refs[split].table, files[split], k[0])
				if err != nil {
					return nil, nil, err
				}
				if ss != nil {
					bySplit = make(map[string]span, len(ss))
					for i, f := range files[split] {
						bySplit[f.PlacementKey()] = ss[i]
					}
				}
				splitSpans[k[0]] = bySplit
			}
			if bySplit == nil {
				continue
			}
			out = append(out, colocation{ref: j, splitKey: k[0], key: k[1], spans: spans})
			break
		}
	}
	return out, splitSpans, nil
}

// narrow returns the files of c's reference that can meet the group's
// files of the split table, and whether that drops any; all of them when
// a group file's span is unknown.
func (c colocation) narrow(files []storage.File, group []storage.File, bySplit map[string]span) ([]storage.File, bool) {
	mine := make([]span, 0, len(group))
	for _, f := range group {
		sp, ok := bySplit[f.PlacementKey()]
		if !ok {
			return files, false
		}
		mine = append(mine, sp)
	}
	slices.SortFunc(mine, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	merged := mine[:0:0]
	for _, sp := range mine {
		if n := len(merged); n > 0 && sp.lo <= merged[n-1].hi {
			merged[n-1].hi = max(merged[n-1].hi, sp.hi)
			continue
		}
		merged = append(merged, sp)
	}
	var out []storage.File
	for i, f := range files {
		sp := c.spans[i]
		// The first merged span ending at or after sp.lo is the only one
		// that can overlap sp.
		k, _ := slices.BinarySearchFunc(merged, sp.lo, func(m span, lo int64) int { return cmp.Compare(m.hi, lo) })
		if k < len(merged) && merged[k].lo <= sp.hi {
			out = append(out, f)
		}
	}
	return out, len(out) < len(files)
}

// describe is the EXPLAIN text of a colocation.
func (c colocation) describe(refs []tableRef, split int) string {
	return fmt.Sprintf("%s by %s ranges of %s.%s", refs[c.ref].name, c.key, refs[split].name, c.splitKey)
}

// fromOwner is the query node under root whose FROM clause holds ref,
// through joins.
func fromOwner(root, ref node) node {
	var owner node
	ast.Walk(root, func(n node) {
		if owner == nil && n.Type() == ast.SelectNode && fromHolds(n.Child(ast.FieldFromTable), ref) {
			owner = n
		}
	})
	return owner
}

func fromHolds(tree, ref node) bool {
	switch {
	case tree == nil:
		return false
	case sameNode(tree, ref):
		return true
	case tree.Type() == ast.Join:
		return fromHolds(tree.Child(ast.FieldLeft), ref) || fromHolds(tree.Child(ast.FieldRight), ref)
	}
	return false
}
