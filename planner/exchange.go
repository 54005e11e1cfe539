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

// A repartitioned join. The split table S is divided among fragments by
// files and every other table is read whole by each fragment (broadcast),
// which is right while the others are small. A table T too large for that
// (Options.BroadcastRows) that S joins on S.a = T.b is instead exchanged
// with S: a stage of producers reads each table's files, keeps the rows
// and columns the query needs, and tags every row with hash(key) mod P;
// the coordinator writes them to the spool partitioned by that tag, and
// fragment p of the query reads part p of S and of T in place of the
// tables. Rows that join share a key, so they meet in one fragment; every
// other part of the plan (partial aggregates and their merge, top-k,
// scans) is unchanged, because each fragment is still the statement over
// a subset of S's rows with all of T's rows that can join them. NULL
// keys hash like any value and never join, so an inner join loses
// nothing. The keys are hashed with their declared types, which must be
// the same on both sides (DuckDB hashes 5::INTEGER and 5::BIGINT apart).

// consumers are a plan's fragments before their exchange inputs exist:
// fragment p is bind(p, files of part p of each exchange).
type consumers struct {
	bind func(ctx context.Context, part int, inputs [][]string) (string, error)
}

// Round is a set of exchanges that run together, before the fragments
// that read their parts: first the tables' exchanges (Plan.Exchanges),
// then, for a FinalAggregate, the exchange of the fragments' partials.
type Round struct {
	// First is the index of its first exchange among all of the plan's
	// rounds: spool directories are named by it.
	First int
	// Exchanges are the round's exchanges; each writes Parts parts.
	Exchanges []Exchange
	Parts     int
}

// Next returns the round of exchanges that must run before the plan's
// fragments can be handed out, nil when none is left. Run it
// (Coordinator.Exchange) and give its parts to Bind, until Next is nil.
func (plan *Plan) Next() *Round {
	if plan.staging != nil {
		return plan.staging.next()
	}
	if len(plan.Exchanges) > 0 && !plan.exchanged {
		return &Round{Exchanges: plan.Exchanges, Parts: len(plan.Fragments)}
	}
	if f := plan.Final; f != nil && !f.bound {
		return &Round{First: len(plan.Exchanges), Exchanges: []Exchange{f.exchange(plan.Fragments)}, Parts: f.Parts}
	}
	return nil
}

// Bind binds the round Next returned to the files its exchanges wrote:
// parts[x][p] are the files of part p of the round's exchange x (none
// when no row hashed there). After the tables' round the fragments read
// their parts; after a FinalAggregate's round the fragments are the final
// ones, each merging one part, and Merge is its Gather. A plan with
// nothing to bind is left as it is.
func (plan *Plan) Bind(ctx context.Context, parts [][][]string) error {
	if plan.staging != nil {
		return plan.staging.bind(ctx, plan, parts)
	}
	switch r := plan.Next(); {
	case r == nil && len(plan.Exchanges) > 0:
		return fmt.Errorf("bind exchanges: the plan was already bound")
	case r == nil:
		return nil
	case r.First == 0 && len(plan.Exchanges) > 0:
		return plan.bindExchanges(ctx, parts)
	default:
		return plan.Final.bindParts(ctx, plan, parts)
	}
}

// bindExchanges renders the fragments once the tables' exchanges ran.
func (plan *Plan) bindExchanges(ctx context.Context, parts [][][]string) error {
	if plan.consumers == nil {
		return fmt.Errorf("bind exchanges: the plan was already bound")
	}
	if len(parts) != len(plan.Exchanges) {
		return fmt.Errorf("bind exchanges: %d outputs for %d exchanges", len(parts), len(plan.Exchanges))
	}
	for i := range plan.Fragments {
		inputs := make([][]string, len(parts))
		for x, ex := range parts {
			if len(ex) != len(plan.Fragments) {
				return fmt.Errorf("bind exchanges: exchange %d has %d parts for %d fragments", x, len(ex), len(plan.Fragments))
			}
			inputs[x] = ex[i]
		}
		sql, err := plan.consumers.bind(ctx, i, inputs)
		if err != nil {
			return fmt.Errorf("bind fragment %d: %w", i, err)
		}
		plan.Fragments[i].SQL = sql
	}
	plan.consumers = nil
	plan.exchanged = true
	return nil
}

// exchanged is one side of a repartitioned join.
type exchanged struct {
	ref  int    // index in refs
	key  string // the column hashed
	cols []string
	// filters are top-level WHERE conjuncts over this table alone, with
	// bare column names: the producers apply them.
	filters []node
	// extended is set for the null-supplying side of an outer join (or
	// the right side of a semi or anti join): NULL-extended rows in every
	// part carry NULL for its key.
	extended bool
}

// partner finds the table to exchange with refs[split]: the largest other
// top-level table too large to broadcast (tooLarge) that the statement
// joins to it on equal columns of the same type — through inner joins,
// the WHERE clause, or one outer, semi or anti join whose preserved side
// holds the split table. Tables under a policy are never exchanged (a
// masked key would join on values the hash does not see).
//
// An outer join is exact under the exchange for the same reason an inner
// one is: every pair its condition matches has equal keys, so it meets in
// one part, and a row of the preserved side without a match in its part
// has none anywhere, so it is NULL-extended (or, for ANTI, kept) exactly
// once. The null-supplying side keeps its rows whole: the statement's
// filters are not applied to it early (`WHERE t.x IS NULL` after a LEFT
// JOIN would gain rows).
func (p *Planner) partner(ctx context.Context, d *dist, root node, refs []tableRef, files [][]storage.File, split int, fullJoin bool, fits map[int]bool) (s, t exchanged, ok bool) {
	maxBytes := p.maxBroadcastBytes(ctx)
	if (p.opts.BroadcastRows <= 0 && maxBytes <= 0) || refs[split].restricted || hasColumnAliases(refs[split].node) {
		return s, t, false
	}
	prunable, top, opaque := topLevelSources(root, refs)
	if !top[split] || !prunable[split] && !fullJoin {
		return s, t, false
	}
	resolve := columnOf(refs, top, opaque)
	// Split candidates first, in statement order, then the other
	// top-level tables: the first of equally large partners wins.
	var order []int
	for _, c := range d.splitCandidates(root, refs) {
		if j := slices.IndexFunc(refs, func(r tableRef) bool { return sameNode(r.node, c.node) }); j >= 0 && !slices.Contains(order, j) {
			order = append(order, j)
		}
	}
	for j := range refs {
		if !slices.Contains(order, j) {
			order = append(order, j)
		}
	}
	best := -1
	for _, j := range order {
		if j == split || !top[j] || refs[j].restricted || hasColumnAliases(refs[j].node) || !p.tooLarge(refs[j].table, files[j], maxBytes) || fits[j] {
			continue
		}
		if refs[j].name == refs[split].name {
			continue // a self-join: the two references share files and names
		}
		for _, k := range joinKeys(root, refs, split, j, resolve, true) {
			if sameType(refs[split].table, k[0], refs[j].table, k[1]) && (best < 0 || refs[j].table.Rows > refs[best].table.Rows) {
				best, s.key, t.key = j, k[0], k[1]
			}
		}
	}
	if best < 0 {
		return s, t, false
	}
	s.ref, t.ref = split, best
	for _, side := range []*exchanged{&s, &t} {
		side.cols = neededColumns(root, refs[side.ref].table, side.key)
		if side.extended = !prunable[side.ref]; !side.extended {
			side.filters = d.ownFilters(root, resolverFor(side.ref, refs, top, opaque))
		}
	}
	return s, t, true
}

// columnOf resolves a column reference to a column of refs[i]
// (resolverFor); other expressions resolve to nothing.
func columnOf(refs []tableRef, top map[int]bool, opaque bool) func(i int, e node) (string, bool) {
	return func(i int, e node) (string, bool) {
		if e == nil || e.Class() != ast.ClassColumnRef {
			return "", false
		}
		return resolverFor(i, refs, top, opaque)(e.ColumnNames())
	}
}

// joinKeys are the pairs (column of refs[split], column of refs[j]) that
// the statement equates where the equality decides which rows of refs[j]
// survive: WHERE conjuncts and inner joins' conditions (they filter every
// row), USING columns and conditions of the joins linkingJoins finds. With
// full false, FULL joins are left out (they keep refs[j]'s unmatched rows).
func joinKeys(root node, refs []tableRef, split, j int, resolve func(int, node) (string, bool), full bool) [][2]string {
	var out [][2]string
	var conds []node
	for _, join := range linkingJoins(root, refs[split].node, refs[j].node) {
		if !full && join.Str(ast.FieldJoinType) == ast.JoinFull {
			continue
		}
		using, _ := join[ast.FieldUsing].([]any)
		for _, v := range using {
			if c, ok := v.(string); ok {
				out = append(out, [2]string{c, c})
			}
		}
		conds = append(conds, join.Child(ast.FieldCondition))
	}
	// WHERE conjuncts and inner joins' conditions filter every row; an
	// outer join's condition only decides which rows match.
	eqs := equalities(root)
	for _, c := range conds {
		eqs = append(eqs, conjunctEqualities(c)...)
	}
	for _, eq := range eqs {
		l, r := ast.AsNode(eq[ast.FieldLeft]), ast.AsNode(eq[ast.FieldRight])
		for _, pair := range [][2]node{{l, r}, {r, l}} {
			sk, ok1 := resolve(split, pair[0])
			tk, ok2 := resolve(j, pair[1])
			if ok1 && ok2 {
				out = append(out, [2]string{sk, tk})
			}
		}
	}
	return out
}

// linkingJoins are the joins of the top-level FROM clause that join the
// inner-join tree holding split to the one holding other directly, split
// on the side whose rows the join keeps: inner joins, and LEFT, RIGHT,
// SEMI and ANTI joins with split on the preserved side (FULL joins
// preserve both, so split is never below one).
func linkingJoins(root, split, other node) []node {
	var out []node
	var visit func(ref node)
	visit = func(ref node) {
		if ref == nil || ref.Type() != ast.Join {
			return
		}
		switch ref.Str(ast.FieldRefType) {
		case ast.RefRegular, ast.RefCross, "":
		default:
			return
		}
		l, r := ref.Child(ast.FieldLeft), ref.Child(ast.FieldRight)
		leftS, rightS := innerHolds(l, split) && innerHolds(r, other), innerHolds(r, split) && innerHolds(l, other)
		switch ref.Str(ast.FieldJoinType) {
		case ast.JoinInner:
			if leftS || rightS {
				out = append(out, ref)
			}
		case ast.JoinLeft, ast.JoinSemi, ast.JoinAnti:
			if leftS {
				out = append(out, ref)
			}
		case ast.JoinRight:
			if rightS {
				out = append(out, ref)
			}
		case ast.JoinFull:
			if leftS || rightS {
				out = append(out, ref) // FULL: both sides preserved
			}
		}
		visit(l)
		visit(r)
	}
	visit(root.Child(ast.FieldFromTable))
	return out
}

// maxBroadcastBytes is the size from which a joined table is exchanged
// rather than read whole by every fragment.
func (p *Planner) maxBroadcastBytes(ctx context.Context) int64 {
	if p.opts.BroadcastBytesFor != nil {
		return p.opts.BroadcastBytesFor(ctx)
	}
	return p.opts.BroadcastBytes
}

// fitCoLocated are the references too large to broadcast whole that, read
// by the split table's key ranges (colocate.go), are small enough in
// every fragment: each fragment's share is what tooLarge judges, so they
// are read co-located instead of exchanged (an exchange writes and reads
// back both sides; this reads less than a broadcast).
func (p *Planner) fitCoLocated(ctx context.Context, root node, refs []tableRef, files [][]storage.File, split int, groups []FileGroup) (map[int]bool, error) {
	if p.opts.NoCoLocation {
		return nil, nil
	}
	colo, bySplit, err := p.colocated(ctx, root, refs, files, split)
	if err != nil || len(colo) == 0 {
		return nil, err
	}
	maxBytes := p.maxBroadcastBytes(ctx)
	fits := map[int]bool{}
	for _, c := range colo {
		ok := true
		for _, g := range groups {
			fs, _ := c.narrow(files[c.ref], g.Files, bySplit[c.splitKey])
			var rows, size int64
			for _, f := range fs {
				rows, size = rows+f.Rows, size+f.Size
			}
			if p.opts.BroadcastRows > 0 && rows >= p.opts.BroadcastRows || maxBytes > 0 && size >= maxBytes {
				ok = false
				break
			}
		}
		fits[c.ref] = ok
	}
	return fits, nil
}

// tooLarge reports whether a table is too large to broadcast: at least
// BroadcastRows rows, or files (what every fragment would read) of at
// least maxBytes.
func (p *Planner) tooLarge(t *storage.Table, files []storage.File, maxBytes int64) bool {
	if p.opts.BroadcastRows > 0 && t.Rows >= p.opts.BroadcastRows {
		return true
	}
	var size int64
	for _, f := range files {
		size += f.Size
	}
	return maxBytes > 0 && size >= maxBytes
}

// hasColumnAliases reports `t AS x(a, b)`: the aliases rename columns by
// position, which a projection of some of them would shift.
func hasColumnAliases(ref node) bool {
	l, _ := ref[ast.FieldColumnAliases].([]any)
	return len(l) > 0
}

// innerJoins are the inner joins of the top-level FROM clause whose
// conditions filter its rows (plain joins, not NATURAL, ASOF, …).
func innerJoins(root node) []node {
	var out []node
	var visit func(ref node)
	visit = func(ref node) {
		if ref == nil || ref.Type() != ast.Join || ref.Str(ast.FieldJoinType) != ast.JoinInner {
			return
		}
		switch ref.Str(ast.FieldRefType) {
		case ast.RefRegular, ast.RefCross, "":
		default:
			return
		}
		out = append(out, ref)
		visit(ref.Child(ast.FieldLeft))
		visit(ref.Child(ast.FieldRight))
	}
	visit(root.Child(ast.FieldFromTable))
	return out
}

// innerHolds reports whether the FROM item tree reaches the reference ref
// through inner joins only: then a USING column of a join above the tree
// is ref's own column (below an outer join it may be the other side's,
// or a COALESCE of both).
func innerHolds(tree, ref node) bool {
	switch {
	case tree == nil:
		return false
	case sameNode(tree, ref):
		return true
	case tree.Type() != ast.Join || tree.Str(ast.FieldJoinType) != ast.JoinInner:
		return false
	}
	switch tree.Str(ast.FieldRefType) {
	case ast.RefRegular, ast.RefCross, "":
		return innerHolds(tree.Child(ast.FieldLeft), ref) || innerHolds(tree.Child(ast.FieldRight), ref)
	}
	return false
}

// equalities are the `a = b` comparisons that filter the top-level FROM's
// rows: conjuncts of the WHERE clause and of inner joins' conditions.
func equalities(root node) []node {
	out := conjunctEqualities(root.Child(ast.FieldWhere))
	for _, join := range innerJoins(root) {
		out = append(out, conjunctEqualities(join.Child(ast.FieldCondition))...)
	}
	return out
}

// conjunctEqualities are the `a = b` conjuncts of a condition.
func conjunctEqualities(e node) []node {
	switch {
	case e == nil:
		return nil
	case e.Type() == ast.ExprAnd:
		var out []node
		for _, c := range e.Children(ast.FieldChildren) {
			out = append(out, conjunctEqualities(c)...)
		}
		return out
	case e.Type() == ast.ExprCompareEqual:
		return []node{e}
	}
	return nil
}

// sameType reports whether column a of ta and b of tb have one type.
func sameType(ta *storage.Table, a string, tb *storage.Table, b string) bool {
	ca, okA := column(ta, a)
	cb, okB := column(tb, b)
	return okA && okB && arrow.TypeEqual(ca.Type, cb.Type)
}

func column(t *storage.Table, name string) (storage.Column, bool) {
	i := slices.IndexFunc(t.Columns, func(c storage.Column) bool { return strings.EqualFold(c.Name, name) })
	if i < 0 {
		return storage.Column{}, false
	}
	return t.Columns[i], true
}

// neededColumns are the columns of t a statement may read, in table
// order: every column whose name the statement mentions anywhere (a
// superset: names of other tables' columns and aliases count too) or
// joins on USING, and all of them when it has a star or a join that
// matches columns by itself (NATURAL, ASOF, POSITIONAL).
func neededColumns(root node, t *storage.Table, key string) []string {
	all := ast.Contains(root, false, func(e node) bool { return e.Class() == ast.ClassStar })
	names := map[string]bool{strings.ToLower(key): true}
	ast.Walk(root, func(e node) {
		switch {
		case e.Class() == ast.ClassColumnRef:
			if cn := e.ColumnNames(); len(cn) > 0 {
				names[strings.ToLower(cn[len(cn)-1])] = true
			}
		case e.Type() == ast.Join:
			// USING names columns without references; NATURAL, ASOF and
			// POSITIONAL joins match columns no reference names.
			switch e.Str(ast.FieldRefType) {
			case ast.RefRegular, ast.RefCross, "":
			default:
				all = true
			}
			using, _ := e[ast.FieldUsing].([]any)
			for _, u := range using {
				if c, ok := u.(string); ok {
					names[strings.ToLower(c)] = true
				}
			}
		}
	})
	var out []string
	for _, c := range t.Columns {
		if all || names[strings.ToLower(c.Name)] {
			out = append(out, c.Name)
		}
	}
	return out
}

// volatileFunctions are the scalar functions of DuckDB v1.5.5 whose
// stability is VOLATILE (duckdb_functions(); a test keeps the list in
// step with the engine).
var volatileFunctions = map[string]bool{
	"current_connection_id": true, "current_query": true, "current_query_id": true, "current_transaction_id": true,
	"currval": true, "error": true, "gen_random_uuid": true, "nextval": true, "random": true, "setseed": true,
	"sleep_ms": true, "stats": true, "uuid": true, "uuidv4": true, "uuidv7": true, "write_log": true,
}

// ownFilters are the top-level WHERE conjuncts whose every column is one
// of resolve's table, made of scalar functions only (no subquery, no
// parameter, nothing volatile), rewritten to bare column names.
func (d *dist) ownFilters(root node, resolve func([]string) (string, bool)) []node {
	where := root.Child(ast.FieldWhere)
	if where == nil {
		return nil
	}
	conj := []node{where}
	if where.Type() == ast.ExprAnd {
		conj = where.Children(ast.FieldChildren)
	}
	var out []node
	for _, c := range conj {
		own, cols := true, 0
		ast.Walk(c, func(e node) {
			switch e.Class() {
			case ast.ClassColumnRef:
				if _, ok := resolve(e.ColumnNames()); !ok {
					own = false
				}
				cols++
			case ast.ClassSubquery, ast.ClassParameter, ast.ClassStar, ast.ClassLambda:
				own = false
			case ast.ClassFunction:
				// A producer and the fragment both apply the filter: a
				// function that answers differently each call would
				// filter twice.
				if volatileFunctions[strings.ToLower(e.FunctionName())] {
					own = false
				}
			}
		})
		if !own || cols == 0 || d.plainExpressions(c) != "" {
			continue
		}
		f := c.Copy()
		ast.Walk(f, func(e node) {
			if e.Class() == ast.ClassColumnRef {
				name, _ := resolve(e.ColumnNames())
				e[ast.FieldColumnNames] = []any{name}
			}
		})
		out = append(out, f)
	}
	return out
}

// planExchange turns a split plan into a repartitioned one when refs[split]
// has a partner: the split table's file groups and the partner's become
// the producers of two exchanges into len(groups) parts, and the plan's
// fragments wait for their files (Plan.Bind). It returns the exchanged
// references, none when it found no partner.
func (p *Planner) planExchange(ctx context.Context, d *dist, stmt *statement, refs []tableRef, files [][]storage.File, split int, groups []FileGroup, sh *shape, plan *Plan) ([]int, error) {
	var fits map[int]bool
	if !plan.needsExchange {
		var err error
		if fits, err = p.fitCoLocated(ctx, stmt.node, refs, files, split, groups); err != nil {
			return nil, err
		}
	}
	s, t, ok := p.partner(ctx, d, stmt.node, refs, files, split, plan.needsExchange, fits)
	if !ok {
		return nil, nil
	}
	if key, ok := groupsOnKey(stmt.node, refs, sh, s, t); ok {
		if err := p.wholeGroups(ctx, d, stmt, sh, plan, "the exchanged key "+key); err != nil {
			return nil, err
		}
	}
	return p.exchangeSides(ctx, stmt, refs, files, split, groups, sh, plan, []exchanged{s, t})
}

// exchangeSides makes the plan's fragments read their parts of the
// exchanged sides: each side's file groups are the producers of an
// exchange into len(groups) parts, and the fragments wait for their files
// (Plan.Bind). It returns the exchanged references.
func (p *Planner) exchangeSides(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, split int, groups []FileGroup, sh *shape, plan *Plan, sides []exchanged) ([]int, error) {
	parts := len(groups)
	for _, side := range sides {
		ref := refs[side.ref]
		ex := Exchange{Table: ref.name.String(), Keys: []string{side.key}}
		for _, f := range files[side.ref] {
			ex.Rows += f.Rows
		}
		src := groups
		if side.ref != split {
			src = p.opts.Partitioner.Partition(files[side.ref])
		}
		for _, g := range src {
			sql, err := p.producer(ctx, ref.table, g.Files, side, parts)
			if err != nil {
				return nil, err
			}
			ex.Producers = append(ex.Producers, Fragment{SQL: sql, Group: g.Label, Files: len(g.Files)})
		}
		plan.Exchanges = append(plan.Exchanges, ex)
		plan.Decisions.Exchanged = append(plan.Decisions.Exchanged, fmt.Sprintf("%s on %s", ex.Table, side.key))
	}
	for _, g := range groups {
		plan.Fragments = append(plan.Fragments, Fragment{Group: g.Label, Files: len(g.Files)})
	}
	plan.consumers = &consumers{bind: func(ctx context.Context, part int, inputs [][]string) (string, error) {
		env, root, copies := copyWithRefs(stmt, refs)
		for i, ref := range refs {
			x := slices.IndexFunc(sides, func(e exchanged) bool { return e.ref == i })
			var src node
			if x >= 0 {
				var err error
				if src, err = p.spoolSource(copies[i], ref.table, sides[x].cols, inputs[x]); err != nil {
					return "", err
				}
			} else {
				fs := files[i]
				if len(fs) == 0 {
					fs = firstFile(ref.table)
				}
				var err error
				if src, err = p.source(copies[i], ref.table, fs); err != nil {
					return "", err
				}
			}
			copies[i].Replace(src)
		}
		sh.partial(root)
		if sh.merge == nil {
			stabilize(root)
		}
		return p.render(ctx, &statement{envelope: env, node: root})
	}}
	out := make([]int, len(sides))
	for i, side := range sides {
		out[i] = side.ref
	}
	return out, nil
}

// producer is the SELECT one producer runs: the side's columns of the
// rows of files its filters keep, and the part each row goes to.
func (p *Planner) producer(ctx context.Context, t *storage.Table, files []storage.File, side exchanged, parts int) (string, error) {
	src, err := p.source(ast.Table(t.Name.Schema, t.Name.Name), t, files)
	if err != nil {
		return "", err
	}
	sel := ast.Select(src)
	list := make([]any, 0, len(side.cols)+1)
	for _, c := range side.cols {
		list = append(list, ast.ColumnRef(c))
	}
	hash := ast.Operator("%", ast.Function("hash", ast.ColumnRef(side.key)), ast.Constant("UBIGINT", parts))
	part := ast.Cast(hash, "BIGINT")
	part[ast.FieldAlias] = PartitionColumn
	sel[ast.FieldSelectList] = append(list, part)
	for _, f := range side.filters {
		if w := sel.Child(ast.FieldWhere); w != nil {
			sel[ast.FieldWhere] = ast.And(w, f)
		} else {
			sel[ast.FieldWhere] = f
		}
	}
	env := node{"error": false, ast.FieldStatements: []any{node{ast.FieldNamedParams: []any{}, ast.FieldNode: sel}}}
	return p.render(ctx, &statement{envelope: env, node: sel})
}

// spoolSource reads part of an exchanged table in place of base: the
// part's spool files, or, when no row hashed there, no rows of the
// table's first file (so the columns keep their types).
func (p *Planner) spoolSource(base node, t *storage.Table, cols []string, files []string) (node, error) {
	if len(files) == 0 {
		src, err := p.source(ast.Table(t.Name.Schema, t.Name.Name), t, firstFile(t))
		if err != nil {
			return nil, err
		}
		return projection(base, src, cols, ast.Constant("BOOLEAN", false)), nil
	}
	uris := make([]ast.Node, len(files))
	for i, f := range files {
		uris[i] = ast.Constant("VARCHAR", f)
	}
	fn := ast.Function("read_parquet", ast.Function("list_value", uris...),
		ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", false)))
	return projection(base, ast.TableFunctionRef(fn, ""), cols, nil), nil
}

// groupsOnKey reports whether an aggregate groups on a key the join is
// exchanged on, and names it: then every group's rows hash to one part,
// and each fragment's groups are whole.
func groupsOnKey(root node, refs []tableRef, sh *shape, sides ...exchanged) (string, bool) {
	if sh.strategy != strategyAggregate || len(sh.groups) == 0 || sh.groupingSets {
		return "", false
	}
	_, top, opaque := topLevelSources(root, refs)
	for _, g := range sh.groups {
		if g.Class() != ast.ClassColumnRef {
			continue
		}
		for _, side := range sides {
			if side.extended {
				continue // its key is NULL in NULL-extended rows of every part
			}
			if col, ok := resolverFor(side.ref, refs, top, opaque)(g.ColumnNames()); ok && strings.EqualFold(col, side.key) {
				return refs[side.ref].name.String() + "." + col, true
			}
		}
	}
	return "", false
}

// wholeGroups turns an aggregate whose fragments compute whole groups
// into wholeShape's, planned after its merge was: the merge becomes
// top-k's (or none). An ORDER BY the coordinator cannot repeat over
// output columns keeps the partials and their merge.
func (p *Planner) wholeGroups(ctx context.Context, d *dist, stmt *statement, sh *shape, plan *Plan, key string) error {
	whole := d.wholeShape(stmt.node, mergeNames(sh.merge), sh.order, sh.limit)
	if whole == nil {
		return nil
	}
	plan.Merge = nil
	if whole.merge != nil {
		sql, err := p.renderNode(ctx, whole.merge)
		if err != nil {
			return err
		}
		plan.Merge = &Merge{SQL: sql, PartialsProbe: plan.Probe}
	}
	*sh = *whole
	plan.Decisions.Final = "in the fragments: they group on " + key
	return nil
}

// wholeShape is the shape of an aggregate whose fragments compute whole
// groups: what a scan is, each fragment running the statement as it is
// and the result their concatenation, with an ORDER BY or LIMIT finished
// on the coordinator as top-k does. Every aggregate function is then
// distributable, holistic ones too. It is nil when the ORDER BY is not
// over output columns.
func (d *dist) wholeShape(root node, names []string, order, limit node) *shape {
	whole := &shape{strategy: strategyAggregate, partial: func(node) {}}
	if order != nil || limit != nil {
		top, err := d.topK(root, names, nil, order, limit)
		if err != nil {
			return nil
		}
		whole.partial, whole.merge = top.partial, top.merge
	}
	return whole
}

// mergeNames are the output column names of a merge statement.
func mergeNames(merge node) []string {
	sel := ast.Nodes(merge[ast.FieldSelectList])
	names := make([]string, len(sel))
	for i, s := range sel {
		names[i] = s.Alias()
	}
	return names
}
