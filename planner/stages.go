package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Stages: subqueries planned on their own. A query the strategies cannot
// split as a whole (its big tables sit inside CTEs, UNION ALL branches or
// subqueries; a window function or grouping sets on top) often holds
// subqueries they can: each such subquery that stands alone (it binds
// without the enclosing query, so it is not correlated, and reads only
// warehouse tables) is planned like a query of its own — split, exchanged,
// finished on workers — and its result written to the spool: its last
// fragments are the producers of a one-part exchange. The query then reads
// the stage's files where the subquery was, and what is left (the
// remainder) runs as one fragment on a worker. A CTE is one subquery
// however often it is referenced, so it is computed once (as DuckDB's
// materialized CTEs) and each reference reads its files. Stages nest: a
// stage's own statement may have stages. This is the shape Trino and
// DuckDB give a query they cannot push through one pipeline: its inputs
// computed in parallel, the rest over their results.
//
// A stage's rows are written with the DuckDB types of the subquery's
// result (their Arrow types named back) and read back cast to the same
// types, so the remainder binds as the query did; the plan's result schema
// is checked against the query's before the plan is kept.

// maxStageDepth bounds how deeply stages nest.
const maxStageDepth = 3

// stageAlias prefixes the FROM of the statement that reads a stage's files.
const stageAlias = "quiver_stage_"

// copiesColumn is the count of copies of a row in a counted stage's files.
const copiesColumn = "quiver_copies"

// stage is one subquery planned on its own.
type stage struct {
	// what says which subquery it is, for EXPLAIN ("cte revenue").
	what string
	sub  *Plan
	// holder[key] is the slot of the subquery in the remainder's tree,
	// and more the slots of the same subquery written again elsewhere.
	holder  node
	key     string
	more    []slot
	orig    node     // the subquery the first slot held
	canon   string   // the subquery's canonical form
	columns []string // the subquery's result columns
	types   []string // their DuckDB types
	// files[p] are the files of part p its output round wrote, once
	// bound.
	files  [][]string
	output bool // the output round is bound
	// parts, when above 1, hash-partitions the output on hashColumns (all
	// its columns when nil) cast to hashTypes: a set operation's branch
	// (setops.go), an aggregate's rows on its group keys (groupparts.go).
	parts       int
	hashColumns []string
	hashTypes   []string
	// distinct writes each producer's rows deduplicated (a branch whose
	// copies of a value do not matter, setops.go); counted writes each
	// distinct row once with its count in copiesColumn, and its readers
	// make the copies again (a branch whose copies count).
	distinct, counted bool
	// merged says its plan ended in a merge the coordinator would have
	// run, now one final fragment over the spooled partials (onWorkers),
	// and global that the merge is one row (an aggregate without GROUP
	// BY). fused, decided by who reads the stage, skips the round that
	// runs that final fragment: its readers run the merge themselves over
	// the partials' files (inline, once bound), which is as much work as
	// the final fragment when one fragment reads the stage, or when the
	// merge is of one row per producer.
	merged, global, fused bool
	inline                string
}

// fusable reports whether the stage's merge can run where it is read.
func (st *stage) fusable() bool {
	return st.merged && st.partCount() == 1 && !st.distinct && !st.counted
}

// slot is a place in the remainder's tree that reads a stage.
type slot struct {
	holder node
	key    string
	orig   node // what it held before it read a stage
}

// staging runs a plan's stages, in order, before its remainder.
type staging struct {
	stages []*stage
	cur    int // the stage whose rounds run now
	first  int // the index of the next round's first exchange
	// rounds[x] is the round the exchange with index x ran in; bound
	// counts the rounds bound.
	rounds []int
	bound  int
	render func(ctx context.Context) ([]Fragment, error)
}

// StageDecision describes a stage for EXPLAIN.
type StageDecision struct {
	// Of names the subquery ("cte revenue", "subquery 2", "union branch 1").
	Of string `json:"of"`
	// Decisions are the stage's own plan's.
	Decisions Decisions `json:"decisions"`
	// Fragments is how many fragments compute it (its last stage's).
	Fragments int `json:"fragments"`
	// Parts is how many parts its output is written in, hashed on all
	// its columns (1: one part, read whole).
	Parts int `json:"parts"`
	// Distinct says each producer writes its rows deduplicated, Counted
	// that it writes each distinct row once with its count.
	Distinct bool `json:"distinct,omitempty"`
	Counted  bool `json:"counted,omitempty"`
	// Fused says its partials are written and merged where they are
	// read, with no round of its own for the merge.
	Fused bool `json:"fused,omitempty"`
}

// next is the round to run, nil once every stage's output is written.
func (s *staging) next() *Round {
	for s.cur < len(s.stages) {
		st := s.stages[s.cur]
		if r := st.sub.Next(); r != nil {
			c := *r
			c.First = s.first
			return &c
		}
		if !st.output {
			// The stages after it that have no rounds of their own (scans)
			// write their outputs in the same round.
			r := &Round{First: s.first, Exchanges: []Exchange{st.outputExchange()}, Parts: st.partCount()}
			for _, o := range s.stages[s.cur+1:] {
				if o.output || o.sub.Next() != nil || o.partCount() != st.partCount() {
					break
				}
				r.Exchanges = append(r.Exchanges, o.outputExchange())
			}
			return r
		}
		s.cur++
	}
	return nil
}

// bind binds the round next returned; after the last stage's output it
// renders the remainder, the plan's one fragment.
func (s *staging) bind(ctx context.Context, plan *Plan, parts [][][]string) error {
	r := s.next()
	if r == nil {
		return fmt.Errorf("bind stages: every stage was already bound")
	}
	for range r.Exchanges {
		s.rounds = append(s.rounds, s.bound)
	}
	s.bound++
	st := s.stages[s.cur]
	if st.sub.Next() != nil {
		if err := st.sub.Bind(ctx, parts); err != nil {
			return fmt.Errorf("bind stage %s: %w", st.what, err)
		}
		s.first += len(r.Exchanges)
		if !st.fused || st.sub.Next() != nil {
			return nil
		}
		// The partials are written: the readers merge them.
		if len(st.sub.Fragments) != 1 {
			return fmt.Errorf("bind stage %s: a fused stage has %d final fragments, want 1", st.what, len(st.sub.Fragments))
		}
		st.inline, st.output = st.sub.Fragments[0].SQL, true
		s.cur++
		if s.next() != nil {
			return nil
		}
		return s.renderRemainder(ctx, plan)
	}
	if len(parts) != len(r.Exchanges) {
		return fmt.Errorf("bind stage %s: want %d exchanges, got %d", st.what, len(r.Exchanges), len(parts))
	}
	for _, written := range parts {
		st := s.stages[s.cur]
		if len(written) != st.partCount() {
			return fmt.Errorf("bind stage %s: want %d parts, got %d", st.what, st.partCount(), len(written))
		}
		st.files, st.output = written, true
		s.first++
		s.cur++
	}
	if s.next() != nil {
		return nil
	}
	return s.renderRemainder(ctx, plan)
}

// renderRemainder renders the plan's fragments once every stage's output
// is bound.
func (s *staging) renderRemainder(ctx context.Context, plan *Plan) error {
	frags, err := s.render(ctx)
	if err != nil {
		return fmt.Errorf("bind the remainder: %w", err)
	}
	plan.Fragments = frags
	return nil
}

// RoundOf is the ordinal of the round that ran the exchange with index x
// (Round.First + its place in the round): the stage EXPLAIN ANALYZE
// counts it in.
func (plan *Plan) RoundOf(x int) int {
	if s := plan.staging; s != nil && x < len(s.rounds) {
		return s.rounds[x]
	}
	switch {
	case x < len(plan.Exchanges):
		return 0
	case len(plan.Exchanges) > 0:
		return 1
	}
	return 0
}

// Spooled reports whether the plan's fragments read the spool (and so
// must be proxied: the spool goes when the query ends).
func (plan *Plan) Spooled() bool {
	return len(plan.Exchanges) > 0 || plan.Final != nil || plan.staging != nil
}

// Work counts the fragments a plan runs, its producers' included (the
// denominator of a query's progress).
func (plan *Plan) Work() int {
	n := len(plan.Fragments)
	for _, ex := range plan.Exchanges {
		n += len(ex.Producers)
	}
	if plan.Final != nil {
		n += plan.Final.Partials
	}
	if s := plan.staging; s != nil {
		for _, st := range s.stages {
			n += st.sub.Work()
			if !st.fused {
				n += len(st.sub.Fragments) // its output's producers
			}
		}
	}
	return n
}

// decision describes the stage for EXPLAIN.
func (st *stage) decision() StageDecision {
	return StageDecision{Of: st.what, Decisions: st.sub.Decisions, Fragments: len(st.sub.Fragments), Parts: st.partCount(),
		Distinct: st.distinct, Counted: st.counted, Fused: st.fused}
}

// partCount is how many parts the stage's output is written in.
func (st *stage) partCount() int { return max(st.parts, 1) }

// outputExchange writes the stage's result, once its own rounds are bound:
// each of its fragments is a producer of its parts (one, or parts hashed
// on every column).
func (st *stage) outputExchange() Exchange {
	cols := castColumns(st.columns, st.types, true)
	ex := Exchange{Table: st.what}
	part := "CAST(0 AS BIGINT)"
	if st.parts > 1 {
		ex.Keys = st.hashColumns
		if ex.Keys == nil {
			ex.Keys = st.columns
		}
		part = partHash(ex.Keys, st.hashTypes, st.parts)
	}
	sel, group := "SELECT ", ""
	switch {
	case st.distinct:
		sel = "SELECT DISTINCT "
	case st.counted:
		cols = append(cols, "count_star() AS "+copiesColumn)
		group = " GROUP BY ALL"
	}
	for _, f := range st.sub.Fragments {
		ex.Producers = append(ex.Producers, Fragment{
			SQL:   fmt.Sprintf("%s%s, %s AS %s FROM (%s) AS %s%s", sel, strings.Join(cols, ", "), part, PartitionColumn, f.SQL, stageAlias+"out", group),
			Group: f.Group, Files: f.Files,
		})
	}
	return ex
}

// reader is the statement that reads stage n's output where its subquery
// was: its files cast back to the subquery's types, or (no files, or
// files nil while planning) no row of those types.
func (p *Planner) reader(ctx context.Context, st *stage, n int, files []string) (node, error) {
	cols := castColumns(st.columns, st.types, len(files) > 0 || st.inline != "")
	from := fmt.Sprintf(" FROM (SELECT 1) AS %s%d WHERE false", stageAlias, n)
	switch {
	case st.inline != "":
		from = fmt.Sprintf(" FROM (%s) AS %s%d", st.inline, stageAlias, n)
	case len(files) > 0:
		uris := make([]string, len(files))
		for i, u := range files {
			uris[i] = quoteString(u)
		}
		from = fmt.Sprintf(" FROM read_parquet([%s], hive_partitioning = false) AS %s%d", strings.Join(uris, ", "), stageAlias, n)
		if st.counted {
			from = fmt.Sprintf(" FROM (SELECT *, unnest(range(%s)) FROM read_parquet([%s], hive_partitioning = false)) AS %s%d",
				copiesColumn, strings.Join(uris, ", "), stageAlias, n)
		}
	}
	s, err := p.parse(ctx, "SELECT "+strings.Join(cols, ", ")+from)
	if err != nil {
		return nil, fmt.Errorf("stage %s reader: %w", st.what, err)
	}
	return s.node, nil
}

// planStages plans the subqueries of a statement that fell back (fb) as
// stages, and the rest as one fragment over their outputs. It reports
// false, and leaves plan alone, when no subquery is worth it.
func (p *Planner) planStages(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, plan *Plan, fb fallback, depth int) (bool, error) {
	if depth >= maxStageDepth || p.opts.Typer == nil || p.opts.TypeName == nil || p.opts.Partitioner == nil || plan.Params > 0 {
		return false, nil
	}
	env, root, copies := copyWithRefs(stmt, refs)
	crefs := slices.Clone(refs)
	for i := range crefs {
		crefs[i].node = copies[i]
	}
	origin := make([]int, len(crefs))
	for i := range origin {
		origin[i] = i
	}
	args := make([]any, plan.Params)
	want, err := p.opts.Typer.Schema(ctx, plan.Tables, plan.Probe, args)
	if err != nil {
		return false, err
	}
	names := make([]string, want.NumFields())
	for i, f := range want.Fields() {
		names[i] = f.Name
	}
	windows := p.windowInput(ctx, root, names)
	var groupKeys []string
	grouped := false
	if !windows && fb.reason != ReasonDistinctArguments && wholeRescues[fb.reason] {
		groupKeys, grouped = p.groupInput(root, crefs, names)
	}
	x := &extraction{p: p, root: root, refs: crefs, origin: origin, depth: depth, set: setTreeOf(root)}
	if fb.reason == ReasonDistinctArguments {
		x.splitDistinct(ctx, root, names)
	}
	if err := x.walk(ctx, root, ""); err != nil {
		return false, err
	}
	if len(x.stages) == 0 {
		return false, nil
	}
	// What is left reads the stages' (empty) outputs: it must bind to the
	// query's schema.
	rem := &statement{envelope: env, node: root}
	saved := limitZero(root)
	probe, err := p.render(ctx, rem)
	root[ast.FieldModifiers] = saved
	if err != nil {
		return false, err
	}
	got, err := p.opts.Typer.Schema(ctx, plan.Tables, probe, args)
	if err != nil || !got.Equal(want) {
		p.logger.Debug("stages not used: the remainder does not bind to the query's schema", "err", err, "got", got, "want", want)
		return false, nil
	}
	var sp *parted
	if x.set != nil {
		if sp, err = x.partitionSet(ctx, x.set, want); err != nil {
			return false, err
		}
		if sp == nil && x.keepSplit() == 0 {
			return false, nil
		}
	}
	if groupKeys != nil {
		if sp, err = x.partitionGroups(ctx, groupKeys, names); err != nil {
			return false, err
		}
	}
	// The remainder's references are those outside every stage.
	var remRefs []tableRef
	var remFiles [][]storage.File
	for i, r := range x.refs {
		if ast.Contains(root, false, func(n node) bool { return sameNode(n, r.node) }) {
			remRefs, remFiles = append(remRefs, r), append(remFiles, files[x.origin[i]])
		}
	}
	stages := x.stages
	for _, st := range stages {
		// One fragment reads a stage unless the remainder is in parts;
		// every part merging a one-row merge is no more work either.
		st.fused = st.fusable() && (sp == nil || st.global)
	}
	plan.staging = &staging{stages: stages, render: func(ctx context.Context) ([]Fragment, error) {
		if sp != nil {
			return p.partedFragments(ctx, sp, stages, rem, remRefs, remFiles)
		}
		if err := p.readStages(ctx, stages, 0); err != nil {
			return nil, err
		}
		f, err := p.fragment(ctx, rem, remRefs, remFiles, -1, FileGroup{}, &shape{strategy: strategySingle, partial: func(node) {}})
		return []Fragment{f}, err
	}}
	plan.Fragments = []Fragment{{}}
	plan.Merge, plan.Final, plan.Exchanges = nil, nil, nil
	plan.Decisions.Strategy = strategyStaged
	plan.Decisions.Remainder = "one worker (" + fb.Error() + ")"
	switch {
	case sp != nil:
		plan.Fragments = make([]Fragment, sp.parts)
		if sp.merge != nil {
			plan.Merge = &Merge{SQL: sp.merge.SQL, PartialsProbe: plan.Probe}
		}
		plan.Decisions.Remainder = fmt.Sprintf("%d parts: the %s over each part of its branches, hashed on all columns", sp.parts, setOpName(root))
		if groupKeys != nil {
			plan.Decisions.Remainder = fmt.Sprintf("%d parts: the aggregate over each part of its rows, hashed on the group keys", sp.parts)
		}
	case windows:
		plan.Decisions.Remainder = "one worker: the windows over the stage's rows (" + fb.Error() + ")"
	case grouped:
		plan.Decisions.Remainder = "one worker: the aggregate over the stage's rows (" + fb.Error() + ")"
	}
	for _, st := range stages {
		plan.Decisions.Stages = append(plan.Decisions.Stages, st.decision())
	}
	if depth == 0 {
		p.stages.Add(float64(len(stages)))
	}
	p.logger.Debug("query planned in stages", "stages", len(stages), "remainder", fb.Error())
	return true, nil
}

// readStages puts in every slot of each stage the reader of its written
// output: of part part when the output is in parts.
func (p *Planner) readStages(ctx context.Context, stages []*stage, part int) error {
	for n, st := range stages {
		var files []string
		if st.files != nil {
			files = nonNil(st.files[min(part, len(st.files)-1)])
		}
		r, err := p.reader(ctx, st, n, files)
		if err != nil {
			return err
		}
		st.holder[st.key] = r
		for _, m := range st.more {
			if m.holder[m.key], err = p.reader(ctx, st, n, files); err != nil {
				return err
			}
		}
	}
	return nil
}

// Subqueries that filter a distributed statement. A statement split over
// fragments runs its WHERE clause in every fragment, subqueries included:
// `o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey
// HAVING sum(l_quantity) > 300)` (TPC-H q18) aggregated all of lineitem
// once per fragment. Each subquery of the WHERE clause that stands alone
// and is worth a stage (its own plan is not one fragment) is planned as
// one, before the fragments: they are rendered again, once its output is
// written, each reading that output where the subquery was. The split,
// the broadcasts and the merge are unchanged (a WHERE clause only keeps
// rows), so the plan stays what it was, with the subquery computed once
// and spread over the workers instead of whole in each fragment. The
// same holds for the stand-alone subqueries of the select list and HAVING,
// which the fragments compute too (an aggregate's as constant columns of
// its partials, aggregate.go): `count(*) * 1.0 / (SELECT count(*) FROM
// plays)` over plays. Only plans whose fragments are rendered at planning
// (no exchange, no final aggregate round).

// stageFilters plans the stand-alone subqueries of a distributed
// statement's WHERE clause, select list and HAVING (refs[split] split) as
// stages, but those local
// says the fragments compute in their share; fragments renders the
// statement's fragments as its tree then is.
func (p *Planner) stageFilters(ctx context.Context, stmt *statement, refs []tableRef, split int, plan *Plan, depth int,
	fragments func(ctx context.Context) ([]Fragment, map[int]bool, error), local func(q node) bool) error {
	// A stage's plan only when it is a scan: an aggregate's may still get
	// a final round (onWorkers), which would have to run after these
	// stages.
	if depth > 0 && (plan.Merge != nil || plan.Final != nil) || p.opts.Typer == nil || p.opts.TypeName == nil || p.opts.Partitioner == nil || plan.Params > 0 ||
		stmt.node.Type() != ast.SelectNode {
		return nil
	}
	origin := make([]int, len(refs))
	for i := range origin {
		origin[i] = i
	}
	x := &extraction{p: p, root: stmt.node, refs: refs, origin: origin, depth: depth}
	var err error
	// A correlated scalar subquery of the WHERE clause, which every
	// fragment would compute over the whole of its tables, is joined as
	// its grouped form (scalar.go), and a grouped derived table that joins
	// a table only to aggregate it (TPC-H q13's customer LEFT JOIN orders)
	// aggregates it first (eager.go), when that can be a stage over a
	// table of at least rows rows. Without such a table no rewrite is
	// tried (each costs a few binding probes).
	stageOver := func(rows int64) (func(ref node) bool, bool) {
		large := func(t *storage.Table) bool { return t.Rows >= rows }
		return func(ref node) bool {
			holder := ref.Child(ast.FieldSubquery)
			q := holder.Child(ast.FieldNode)
			if err != nil || local(q) || !slices.ContainsFunc(x.tablesIn(q), large) {
				return false
			}
			var done bool
			done, err = x.try(ctx, holder, ast.FieldNode, q, fmt.Sprintf("subquery %d", x.subs))
			return done
		}, slices.ContainsFunc(refs, func(r tableRef) bool { return large(r.table) })
	}
	if keep, ok := stageOver(p.opts.CorrelatedStageRows); ok {
		x.decorrelateScalar(ctx, stmt.node, keep)
	}
	if keep, ok := stageOver(p.opts.EagerStageRows); ok {
		for _, q := range derivedTables(stmt.node.Child(ast.FieldFromTable)) {
			x.eagerAggregate(ctx, q, keep)
		}
	}
	if err != nil {
		return err
	}
	// The select list's and HAVING's stand-alone subqueries run in the
	// fragments too: in scans as they are, in aggregates as constant
	// columns of the partials (aggregate.go).
	visit := func(e node, _ func(node)) {
		holder := e.Child(ast.FieldSubquery)
		if err != nil || holder == nil || holder.Child(ast.FieldNode) == nil {
			return
		}
		q := holder.Child(ast.FieldNode)
		if local(q) {
			return
		}
		if e.Str("subquery_type") == "EXISTS" && q.Type() == ast.SelectNode && len(ast.Nodes(q[ast.FieldModifiers])) == 0 {
			// EXISTS needs one row: the stage writes at most one.
			q[ast.FieldModifiers] = []any{ast.Limit(ast.Constant("BIGINT", 1), nil)}
		}
		x.subs++
		_, err = x.try(ctx, holder, ast.FieldNode, q, fmt.Sprintf("subquery %d", x.subs))
	}
	for _, key := range []string{ast.FieldWhere, ast.FieldSelectList, ast.FieldHaving} {
		eachSubquery(stmt.node, key, visit)
	}
	if err != nil || len(x.stages) == 0 {
		return err
	}
	stages := x.stages
	for _, st := range stages {
		// Every fragment reads the stage: only a merge of one row per
		// producer is merged where it is read.
		st.fused = st.fusable() && st.global
	}
	// A table read only inside a stage is no longer broadcast.
	var broadcast []string
	for _, name := range plan.Decisions.Broadcast {
		for i, r := range refs {
			if i != split && r.name.String() == name && ast.Contains(stmt.node, false, func(n node) bool { return sameNode(n, r.node) }) {
				broadcast = append(broadcast, name)
				break
			}
		}
	}
	plan.Decisions.Broadcast = broadcast
	frags, _, err := fragments(ctx) // over the stages' (empty) readers, for EXPLAIN
	if err != nil {
		return err
	}
	plan.Fragments = frags
	plan.staging = &staging{stages: stages, render: func(ctx context.Context) ([]Fragment, error) {
		if err := p.readStages(ctx, stages, 0); err != nil {
			return nil, err
		}
		frags, _, err := fragments(ctx)
		return frags, err
	}}
	for _, st := range stages {
		plan.Decisions.Stages = append(plan.Decisions.Stages, st.decision())
	}
	if depth == 0 {
		p.stages.Add(float64(len(stages)))
	}
	p.logger.Debug("filter subqueries planned as stages", "stages", len(stages), "strategy", plan.Decisions.Strategy)
	return nil
}

// derivedTables are the query nodes of the derived tables of a FROM
// clause's join tree.
func derivedTables(ref node) []node {
	switch {
	case ref == nil:
		return nil
	case ref.Type() == ast.Join:
		return append(derivedTables(ref.Child(ast.FieldLeft)), derivedTables(ref.Child(ast.FieldRight))...)
	case ref.Type() == ast.Subquery:
		if q := ref.Child(ast.FieldSubquery).Child(ast.FieldNode); q != nil {
			return []node{q}
		}
	}
	return nil
}

// castColumns is the select list that reads spooled columns back as their
// DuckDB types (`CAST(c AS T) AS c`), or, without rows to read, NULLs of
// those types.
func castColumns(columns, types []string, rows bool) []string {
	cols := make([]string, len(columns))
	for i, c := range columns {
		src := "NULL"
		if rows {
			src = quoteIdent(c)
		}
		cols[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", src, types[i], quoteIdent(c))
	}
	return cols
}

// nonNil keeps an empty list of files apart from "not yet written".
func nonNil(files []string) []string {
	if files == nil {
		return []string{}
	}
	return files
}

// extraction finds a statement's stages.
type extraction struct {
	p      *Planner
	root   node
	refs   []tableRef
	origin []int // the statement's reference each of refs reads the files of
	depth  int
	stages []*stage
	subs   int // subqueries seen, for names
	// set is the set operation at the statement's root, whose branches
	// are stages even when their plans are one fragment (setops.go).
	set *setTree
}

// walk visits the query nodes below n (not n itself): CTE bodies,
// subqueries in FROM and in expressions, and set operations' branches,
// outside the references (a policy's subquery is part of its table). A
// query node planned as a stage is replaced by its reader; one that is
// not is searched for smaller ones.
func (x *extraction) walk(ctx context.Context, n node, cte string) error {
	x.decorrelateIn(ctx, n)
	x.decorrelateScalar(ctx, n, nil)
	for _, k := range sortedKeys(n) {
		if v, ok := n[k].(node); ok {
			if r, ok := x.decorrelate(ctx, v); ok {
				n[k] = r
			}
		}
		switch v := n[k].(type) {
		case node:
			if x.isRef(v) {
				continue
			}
			if what, ok := x.slot(n, k, v, cte); ok && !x.set.isInner(v) {
				done, err := x.try(ctx, n, k, v, what)
				if err != nil {
					return err
				}
				if done {
					continue
				}
			}
			name := "" // the CTE whose body v is on the way to
			switch {
			case k == "value" && n.Str("key") != "":
				name = n.Str("key") // a CTE map entry
			case k == "query" && cte != "":
				name = cte
			}
			if err := x.walk(ctx, v, name); err != nil {
				return err
			}
		case []any:
			for i, e := range v {
				if c, ok := e.(node); ok {
					if r, ok := x.decorrelate(ctx, c); ok {
						v[i], c = r, r
					}
				}
				if c, ok := v[i].(node); ok && !x.isRef(c) {
					if err := x.walk(ctx, c, cte); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (x *extraction) isRef(n node) bool {
	return slices.ContainsFunc(x.refs, func(r tableRef) bool { return sameNode(r.node, n) })
}

// slot reports whether holder[key] = q is a query node a stage can take,
// and names it.
func (x *extraction) slot(holder node, key string, q node, cte string) (string, bool) {
	if t := q.Type(); t != ast.SelectNode && t != ast.SetOperationNode {
		return "", false
	}
	switch {
	case key == ast.FieldNode && holder[ast.FieldNamedParams] != nil:
		if cte != "" && holder.Type() == "" {
			return "cte " + cte, true
		}
		x.subs++
		return fmt.Sprintf("subquery %d", x.subs), true
	case (key == ast.FieldLeft || key == ast.FieldRight) && holder.Type() == ast.SetOperationNode:
		x.subs++
		return fmt.Sprintf("%s branch %d", setOpName(holder), x.subs), true
	}
	return "", false
}

// try plans q as a stage and puts its reader in its place; false when q
// does not stand alone or would not be split.
func (x *extraction) try(ctx context.Context, holder node, key string, q node, what string) (bool, error) {
	p := x.p
	var sub []tableRef
	for _, r := range x.refs {
		if ast.Contains(q, false, func(n node) bool { return sameNode(n, r.node) }) {
			sub = append(sub, r)
		}
	}
	if len(sub) == 0 {
		return false, nil
	}
	// The same subquery written twice (the three EXISTS of a NOT IN, a
	// set repeated) is computed once: its second slot reads the first's
	// output, as a CTE referenced twice does.
	canon := ast.Canonical(q)
	for n, st := range x.stages {
		if st.canon == canon {
			r, err := p.reader(ctx, st, n, nil)
			if err != nil {
				return false, err
			}
			holder[key] = r
			st.more = append(st.more, slot{holder: holder, key: key, orig: q})
			return true, nil
		}
	}
	// Every table it reads must be a warehouse table (not a CTE of the
	// enclosing query), and it takes no parameters.
	if x.foreign(q) {
		return false, nil
	}
	env := node{"error": false, ast.FieldStatements: []any{node{ast.FieldNamedParams: []any{}, ast.FieldNode: q}}}
	stmtEnv, subRoot, copies := copyWithRefs(&statement{envelope: env, node: q}, sub)
	subRefs := slices.Clone(sub)
	var tables []*storage.Table
	for i := range subRefs {
		subRefs[i].node = copies[i]
		if !slices.Contains(tables, subRefs[i].table) {
			tables = append(tables, subRefs[i].table)
		}
	}
	subPlan := &Plan{Tables: tables}
	if err := p.planStatement(ctx, &statement{envelope: stmtEnv, node: subRoot}, subRefs, subPlan, x.depth+1); err != nil {
		// It does not bind alone (it is correlated) or cannot be planned.
		p.logger.Debug("subquery not a stage", "what", what, "err", err)
		return false, nil
	}
	if subPlan.Decisions.Strategy == strategySingle && !x.set.isLeaf(holder, key) {
		return false, nil
	}
	st := &stage{what: what, sub: subPlan, holder: holder, key: key, orig: q, canon: canon}
	ok, err := x.typeStage(ctx, st)
	if err != nil || !ok {
		return false, err
	}
	st.merged = subPlan.Final == nil && subPlan.Merge != nil && subPlan.staging == nil
	st.global = st.merged && q.Type() == ast.SelectNode && len(ast.Nodes(q[ast.FieldGroupBy])) == 0 &&
		len(ast.Nodes(q[ast.FieldGroupSets])) == 0 && p.hasAggregates(ctx, q)
	if ok, err := p.onWorkers(ctx, subPlan); err != nil || !ok {
		return false, err
	}
	r, err := p.reader(ctx, st, len(x.stages), nil)
	if err != nil {
		return false, err
	}
	holder[key] = r
	x.stages = append(x.stages, st)
	return true, nil
}

// foreign reports whether n reads a table that is not a warehouse
// reference (a CTE of the enclosing query) or takes a parameter.
func (x *extraction) foreign(n node) bool {
	if x.isRef(n) {
		return false
	}
	if n.Type() == ast.BaseTable || n.Class() == ast.ClassParameter {
		return true
	}
	for _, v := range n {
		switch v := v.(type) {
		case node:
			if x.foreign(v) {
				return true
			}
		case []any:
			for _, e := range v {
				if c, ok := e.(node); ok && x.foreign(c) {
					return true
				}
			}
		}
	}
	return false
}

// typeStage names the DuckDB types of a stage's result; false when two
// columns share a name or a type has no name.
func (x *extraction) typeStage(ctx context.Context, st *stage) (bool, error) {
	schema, err := x.p.opts.Typer.Schema(ctx, st.sub.Tables, st.sub.Probe, nil)
	if err != nil {
		x.p.logger.Debug("subquery not a stage: it does not bind alone", "what", st.what, "err", err)
		return false, nil
	}
	for _, f := range schema.Fields() {
		name, err := x.p.opts.TypeName(f.Type)
		if err != nil || slices.Contains(st.columns, f.Name) {
			x.p.logger.Debug("subquery not a stage: its result cannot be spooled", "what", st.what, "column", f.Name, "err", err)
			return false, nil
		}
		st.columns, st.types = append(st.columns, f.Name), append(st.types, name)
	}
	return true, nil
}

// onWorkers makes a stage's plan end on workers: a merge the coordinator
// would run becomes one final fragment over its spooled partials. A final
// aggregate whose gather the coordinator would run merges whole instead.
func (p *Planner) onWorkers(ctx context.Context, plan *Plan) (bool, error) {
	if plan.Final != nil && plan.Final.Gather != nil {
		plan.Final = nil
	}
	if plan.Final != nil || plan.Merge == nil {
		return true, nil
	}
	f, err := p.finalOf(ctx, plan, 0)
	if f == nil || err != nil {
		return false, err
	}
	f.Parts, f.final = 1, plan.Merge.SQL
	plan.Final = f
	return true, nil
}

// flattenAnd lists the conjuncts of a condition.
func flattenAnd(e node) []node {
	if e == nil {
		return nil
	}
	if e.Class() == ast.ClassConjunction && e.Type() == ast.ExprAnd {
		var out []node
		for _, c := range ast.Nodes(e[ast.FieldChildren]) {
			out = append(out, flattenAnd(c)...)
		}
		return out
	}
	return []node{e}
}

// copies deep-copies a list of nodes.
func copies(ns []node) []node {
	out := make([]node, len(ns))
	for i, n := range ns {
		out[i] = n.Copy()
	}
	return out
}

// andAll is the conjunction of conditions, nil for none.
func andAll(cs []node) any {
	if len(cs) == 0 {
		return nil
	}
	out := cs[0]
	for _, c := range cs[1:] {
		out = ast.And(out, c)
	}
	return out
}

// hasAggregates reports whether a query node's select list, HAVING or
// ORDER BY calls an aggregate.
func (p *Planner) hasAggregates(ctx context.Context, q node) bool {
	kinds, err := p.loadKinds(ctx)
	if err != nil {
		return true
	}
	return (&dist{kinds: kinds}).hasAggregate(q)
}
