package planner

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

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
	// sub is a reference inside a subquery (see subqueryKeys).
	sub bool
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
	spansOf := func(key string) (map[string]span, error) {
		if bySplit, ok := splitSpans[key]; ok {
			return bySplit, nil
		}
		ss, _, err := p.fileSpans(ctx, refs[split].table, files[split], key)
		if err != nil {
			return nil, err
		}
		var bySplit map[string]span
		if ss != nil {
			bySplit = make(map[string]span, len(ss))
			for i, f := range files[split] {
				bySplit[f.PlacementKey()] = ss[i]
			}
		}
		splitSpans[key] = bySplit
		return bySplit, nil
	}
	// add records refs[j] read by ranges of the split key sk when both
	// files' spans are known.
	add := func(j int, sk, key string, sub bool) (bool, error) {
		if !sameType(refs[split].table, sk, refs[j].table, key) {
			return false, nil
		}
		spans, _, err := p.fileSpans(ctx, refs[j].table, files[j], key)
		if err != nil || spans == nil {
			return false, err
		}
		bySplit, err := spansOf(sk)
		if err != nil || bySplit == nil {
			return false, err
		}
		out = append(out, colocation{ref: j, splitKey: sk, key: key, spans: spans, sub: sub})
		return true, nil
	}
	eligible := func(j int) bool {
		return j != split && !refs[j].restricted && !hasColumnAliases(refs[j].node) && len(files[j]) >= 2
	}
	for j := range refs {
		if !top[j] || !eligible(j) {
			continue
		}
		for _, k := range joinKeys(root, refs, split, j, resolve, false) {
			if ok, err := add(j, k[0], k[1], false); err != nil {
				return nil, nil, err
			} else if ok {
				break
			}
		}
	}
	for _, c := range subqueryKeys(root, refs, split, top, opaque) {
		if !eligible(c.ref) || slices.ContainsFunc(out, func(o colocation) bool { return o.ref == c.ref }) {
			continue
		}
		if _, err := add(c.ref, c.splitKey, c.key, true); err != nil {
			return nil, nil, err
		}
	}
	return out, splitSpans, nil
}

// Co-located subqueries. A subquery of the statement that reads a table T
// only where T.b equals the split table's key a reads, in the fragment of
// some of the split table's files, the same rows from the T files whose
// span of b meets those files' spans of a — T's rows with that b are all
// there. Two forms, each exact whatever the subquery computes from them:
//
//   - correlated on the key: a WHERE conjunct (or an inner join's
//     condition) of the subquery equates T.b with the split reference's
//     column a (TPC-H q04's and q21's EXISTS over lineitem on the order
//     key). The subquery's value for an enclosing row is computed from
//     T's rows with b equal to that row's a, which comes from one of the
//     fragment's files; a NULL a matches nothing either way. It holds
//     wherever the subquery sits in the clauses, under NOT or OR too.
//   - a set of keys: `x IN (SELECT T.b FROM … [GROUP BY …, T.b] …)` as a
//     conjunct of the WHERE clause, x the split key or a column the
//     statement's joins equate with it (q18's `o_orderkey IN (SELECT
//     l_orderkey FROM lineitem GROUP BY l_orderkey HAVING …)`). Whether a
//     value v is in the set depends only on T's rows with b = v; the rows
//     the WHERE clause keeps have x equal to a key of the fragment's
//     files. Only as a conjunct: NULL and false both drop a row there,
//     so a NULL x (or a NULL in the set) cannot tell the two sets apart.
//
// Read so, the subquery costs each fragment its share of T instead of all
// of it, and a set of keys needs no stage of its own (stageFilters).

// subqueryKeys finds the subqueries' references that can be read by
// ranges of the split key (above): colocations without spans yet.
func subqueryKeys(owner node, refs []tableRef, split int, top map[int]bool, opaque bool) []colocation {
	outerKey := resolverFor(split, refs, top, opaque)
	var out []colocation
	for _, key := range []string{ast.FieldSelectList, ast.FieldWhere, ast.FieldHaving, ast.FieldQualify} {
		eachSubquery(owner, key, func(e node, _ func(node)) {
			q := e.Child(ast.FieldSubquery).Child(ast.FieldNode)
			if q == nil || q.Type() != ast.SelectNode {
				return
			}
			_, inner, innerOpaque := topLevelSources(q, refs)
			// outer resolves a column the subquery does not bind to the
			// split reference's column.
			outer := func(c node) (string, bool) {
				if c == nil || c.Class() != ast.ClassColumnRef || innerOpaque {
					return "", false
				}
				names := c.ColumnNames()
				for j := range inner {
					if len(names) == 1 {
						if _, ok := column(refs[j].table, names[0]); ok {
							return "", false
						}
					} else if len(names) == 2 && strings.EqualFold(names[0], refAlias(refs[j].node)) {
						return "", false
					}
				}
				return outerKey(names)
			}
			for _, eq := range equalities(q) {
				l, r := ast.AsNode(eq[ast.FieldLeft]), ast.AsNode(eq[ast.FieldRight])
				for _, pair := range [][2]node{{l, r}, {r, l}} {
					s, ok := outer(pair[1])
					if !ok || pair[0].Class() != ast.ClassColumnRef {
						continue
					}
					for j := range inner {
						if b, ok := resolverFor(j, refs, inner, innerOpaque)(pair[0].ColumnNames()); ok {
							out = append(out, colocation{ref: j, splitKey: s, key: b})
						}
					}
				}
			}
			if key != ast.FieldWhere || !isConjunct(owner.Child(ast.FieldWhere), e) ||
				e.Str("subquery_type") != "ANY" || e.Str("comparison_type") != ast.ExprCompareEqual {
				return
			}
			j, b, ok := keySet(q, refs, inner, innerOpaque)
			if !ok {
				return
			}
			if s, ok := probeKey(owner, refs, split, top, opaque, e.Child(ast.FieldChild)); ok {
				out = append(out, colocation{ref: j, splitKey: s, key: b})
			}
		})
	}
	return out
}

// keySet reports a subquery whose rows are values of one column b of a
// reference refs[j] in its FROM clause, each value in it or not by T's
// rows with that value alone: `SELECT [DISTINCT] T.b FROM … [WHERE …]
// [GROUP BY …, T.b, … [HAVING …]]`.
func keySet(q node, refs []tableRef, inner map[int]bool, opaque bool) (int, string, bool) {
	sel := q.Children(ast.FieldSelectList)
	if len(sel) != 1 || sel[0].Class() != ast.ClassColumnRef || q[ast.FieldSample] != nil || q[ast.FieldQualify] != nil ||
		q.Str(ast.FieldAggregateHandle) != ast.StandardHandling {
		return 0, "", false
	}
	for _, m := range q.Children(ast.FieldModifiers) {
		if m.Type() != ast.DistinctModifier || len(m.Children("distinct_on_targets")) > 0 {
			return 0, "", false
		}
	}
	// Grouped, b is one of the keys: every group holding a value of b is
	// made of T's rows with that value.
	group := q.Children(ast.FieldGroupBy)
	switch {
	case len(group) == 0 && q[ast.FieldHaving] != nil:
		return 0, "", false
	case len(group) > 0 && !slices.ContainsFunc(group, func(g node) bool { return ast.Canonical(g) == ast.Canonical(sel[0]) }):
		return 0, "", false
	case len(ast.Nodes(q[ast.FieldGroupSets])) > 1:
		return 0, "", false
	}
	for j := range inner {
		if b, ok := resolverFor(j, refs, inner, opaque)(sel[0].ColumnNames()); ok {
			return j, b, true
		}
	}
	return 0, "", false
}

// probeKey resolves the probe of an `x IN (…)` conjunct to the split key:
// x is the split reference's column, or a column of another top-level
// reference that the statement's joins equate with it.
func probeKey(owner node, refs []tableRef, split int, top map[int]bool, opaque bool, x node) (string, bool) {
	resolve := columnOf(refs, top, opaque)
	if s, ok := resolve(split, x); ok {
		return s, true
	}
	for k := range top {
		c, ok := resolve(k, x)
		if k == split || !ok {
			continue
		}
		for _, pair := range joinKeys(owner, refs, split, k, resolve, false) {
			if strings.EqualFold(pair[1], c) {
				return pair[0], true
			}
		}
	}
	return "", false
}

// isConjunct reports whether e is cond or one of its AND-ed terms.
func isConjunct(cond, e node) bool {
	switch {
	case cond == nil:
		return false
	case sameNode(cond, e):
		return true
	case cond.Type() == ast.ExprAnd:
		return slices.ContainsFunc(cond.Children(ast.FieldChildren), func(c node) bool { return isConjunct(c, e) })
	}
	return false
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

// once reports whether the groups' fragments, reading c's reference by
// ranges, read its files about once between them (at most 1.5 times its
// bytes): as a stage would, without the stage's spool and round.
func (c colocation) once(files []storage.File, groups []FileGroup, bySplit map[string]span) bool {
	var whole, read int64
	for _, f := range files {
		whole += f.Size
	}
	for _, g := range groups {
		fs, _ := c.narrow(files, g.Files, bySplit)
		for _, f := range fs {
			read += f.Size
		}
	}
	return 2*read <= 3*whole
}

// describe is the EXPLAIN text of a colocation.
func (c colocation) describe(refs []tableRef, split int) string {
	in := ""
	if c.sub {
		in = " in a subquery"
	}
	return fmt.Sprintf("%s%s by %s ranges of %s.%s", refs[c.ref].name, in, c.key, refs[split].name, c.splitKey)
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
