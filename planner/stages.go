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

// stage is one subquery planned on its own.
type stage struct {
	// what says which subquery it is, for EXPLAIN ("cte revenue").
	what string
	sub  *Plan
	// holder[key] is the slot of the subquery in the remainder's tree.
	holder  node
	key     string
	columns []string // the subquery's result columns
	types   []string // their DuckDB types
	files   []string // the files its output round wrote, once bound
	output  bool     // the output round is bound
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
	render func(ctx context.Context) (string, error)
}

// StageDecision describes a stage for EXPLAIN.
type StageDecision struct {
	// Of names the subquery ("cte revenue", "subquery 2", "union branch 1").
	Of string `json:"of"`
	// Decisions are the stage's own plan's.
	Decisions Decisions `json:"decisions"`
	// Fragments is how many fragments compute it (its last stage's).
	Fragments int `json:"fragments"`
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
			return &Round{First: s.first, Exchanges: []Exchange{st.outputExchange()}, Parts: 1}
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
		return nil
	}
	if len(parts) != 1 || len(parts[0]) != 1 {
		return fmt.Errorf("bind stage %s: want 1 exchange of 1 part", st.what)
	}
	st.files, st.output = parts[0][0], true
	s.first++
	s.cur++
	if s.next() != nil {
		return nil
	}
	sql, err := s.render(ctx)
	if err != nil {
		return fmt.Errorf("bind the remainder: %w", err)
	}
	plan.Fragments[0].SQL = sql
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
			n += st.sub.Work() + len(st.sub.Fragments) // and its output's producers
		}
	}
	return n
}

// outputExchange writes the stage's result, once its own rounds are bound:
// each of its fragments is a producer of the one part.
func (st *stage) outputExchange() Exchange {
	cols := castColumns(st.columns, st.types, true)
	ex := Exchange{Table: st.what}
	for _, f := range st.sub.Fragments {
		ex.Producers = append(ex.Producers, Fragment{
			SQL:   fmt.Sprintf("SELECT %s, CAST(0 AS BIGINT) AS %s FROM (%s) AS %s", strings.Join(cols, ", "), PartitionColumn, f.SQL, stageAlias+"out"),
			Group: f.Group, Files: f.Files,
		})
	}
	return ex
}

// reader is the statement that reads stage n's output where its subquery
// was: its files cast back to the subquery's types, or (no files, or
// files nil while planning) no row of those types.
func (p *Planner) reader(ctx context.Context, st *stage, n int, files []string) (node, error) {
	cols := castColumns(st.columns, st.types, len(files) > 0)
	from := fmt.Sprintf(" FROM (SELECT 1) AS %s%d WHERE false", stageAlias, n)
	if len(files) > 0 {
		uris := make([]string, len(files))
		for i, u := range files {
			uris[i] = quoteString(u)
		}
		from = fmt.Sprintf(" FROM read_parquet([%s], hive_partitioning = false) AS %s%d", strings.Join(uris, ", "), stageAlias, n)
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
	x := &extraction{p: p, root: root, refs: crefs, depth: depth}
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
	args := make([]any, plan.Params)
	want, err := p.opts.Typer.Schema(ctx, plan.Tables, plan.Probe, args)
	if err != nil {
		return false, err
	}
	got, err := p.opts.Typer.Schema(ctx, plan.Tables, probe, args)
	if err != nil || !got.Equal(want) {
		p.logger.Debug("stages not used: the remainder does not bind to the query's schema", "err", err, "got", got, "want", want)
		return false, nil
	}
	// The remainder's references are those outside every stage.
	var remRefs []tableRef
	var remFiles [][]storage.File
	for i, r := range crefs {
		if ast.Contains(root, false, func(n node) bool { return sameNode(n, r.node) }) {
			remRefs, remFiles = append(remRefs, r), append(remFiles, files[i])
		}
	}
	stages := x.stages
	plan.staging = &staging{stages: stages, render: func(ctx context.Context) (string, error) {
		for n, st := range stages {
			r, err := p.reader(ctx, st, n, nonNil(st.files))
			if err != nil {
				return "", err
			}
			st.holder[st.key] = r
		}
		f, err := p.fragment(ctx, rem, remRefs, remFiles, -1, FileGroup{}, &shape{strategy: strategySingle, partial: func(node) {}})
		return f.SQL, err
	}}
	plan.Fragments = []Fragment{{}}
	plan.Merge, plan.Final, plan.Exchanges = nil, nil, nil
	plan.Decisions.Strategy = strategyStaged
	plan.Decisions.Remainder = "one worker (" + fb.Error() + ")"
	for _, st := range stages {
		plan.Decisions.Stages = append(plan.Decisions.Stages, StageDecision{Of: st.what, Decisions: st.sub.Decisions, Fragments: len(st.sub.Fragments)})
	}
	if depth == 0 {
		p.stages.Add(float64(len(stages)))
	}
	p.logger.Debug("query planned in stages", "stages", len(stages), "remainder", fb.Error())
	return true, nil
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
	depth  int
	stages []*stage
	subs   int // subqueries seen, for names
}

// walk visits the query nodes below n (not n itself): CTE bodies,
// subqueries in FROM and in expressions, and set operations' branches,
// outside the references (a policy's subquery is part of its table). A
// query node planned as a stage is replaced by its reader; one that is
// not is searched for smaller ones.
func (x *extraction) walk(ctx context.Context, n node, cte string) error {
	x.decorrelateIn(ctx, n)
	x.decorrelateScalar(ctx, n)
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
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
			if what, ok := x.slot(n, k, v, cte); ok {
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
		op := strings.ToLower(holder.Str("setop_type"))
		if all, _ := holder["setop_all"].(bool); all {
			op += " all"
		}
		return fmt.Sprintf("%s branch %d", op, x.subs), true
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
	if subPlan.Decisions.Strategy == strategySingle {
		return false, nil
	}
	st := &stage{what: what, sub: subPlan, holder: holder, key: key}
	ok, err := x.typeStage(ctx, st)
	if err != nil || !ok {
		return false, err
	}
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
		where = append(where, node{ast.FieldClass: ast.ClassOperator, ast.FieldType: "OPERATOR_IS_NOT_NULL", ast.FieldAlias: "",
			ast.FieldQueryLocation: ast.NoLocation, ast.FieldChildren: []any{k.Copy()}})
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
	sub := node{ast.FieldClass: ast.ClassSubquery, ast.FieldType: "SUBQUERY", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
		"subquery_type": "ANY", ast.FieldSubquery: node{ast.FieldNamedParams: []any{}, ast.FieldNode: in},
		"child": probe, "comparison_type": "COMPARE_EQUAL"}
	out := ast.Coalesce(sub, ast.Constant("BOOLEAN", false))
	out[ast.FieldAlias] = e.Alias()
	return out, true
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
// NULL as for FALSE, so the NULLs IN can return make no difference there
// (under NOT or OR, or in a select list, they would: those stay as they
// are). The EXISTS is then decorrelated as above, its keys p's
// equalities and y = x. A set with a LIMIT, OFFSET or ORDER BY … LIMIT is
// not rewritten (the EXISTS would see other rows).

// decorrelateIn rewrites the correlated IN conjuncts of q's WHERE clause
// that decorrelate.
func (x *extraction) decorrelateIn(ctx context.Context, q node) {
	where := ast.AsNode(q[ast.FieldWhere])
	if q.Type() != ast.SelectNode || where == nil {
		return
	}
	conjuncts := flattenAnd(where)
	changed := false
	for i, c := range conjuncts {
		if c.Class() != ast.ClassSubquery || c.Str("subquery_type") != "ANY" || c.Str("comparison_type") != "COMPARE_EQUAL" {
			continue
		}
		sq := c.Child(ast.FieldSubquery).Child(ast.FieldNode)
		child := c.Child("child")
		if sq == nil || child == nil || sq.Type() != ast.SelectNode || len(ast.Nodes(sq[ast.FieldSelectList])) != 1 || sq[ast.FieldWhere] == nil {
			continue
		}
		if slices.ContainsFunc(ast.Nodes(sq[ast.FieldModifiers]), func(m node) bool { return m.Type() != ast.DistinctModifier }) {
			continue
		}
		if x.standsAlone(ctx, sq) {
			continue // uncorrelated: a stage as it is
		}
		// The EXISTS is built around sq itself, whose table references
		// are the extraction's, and sq is put back if it does not qualify.
		mods, w := sq[ast.FieldModifiers], sq[ast.FieldWhere]
		y := ast.Nodes(sq[ast.FieldSelectList])[0]
		eq := node{ast.FieldClass: ast.ClassComparison, ast.FieldType: ast.ExprCompareEqual, ast.FieldAlias: "",
			ast.FieldQueryLocation: ast.NoLocation, ast.FieldLeft: y.Copy(), ast.FieldRight: child.Copy()}
		sq[ast.FieldModifiers], sq[ast.FieldWhere] = []any{}, ast.And(ast.AsNode(w), eq)
		exists := node{ast.FieldClass: ast.ClassSubquery, ast.FieldType: "SUBQUERY", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
			"subquery_type": "EXISTS", ast.FieldSubquery: node{ast.FieldNamedParams: []any{}, ast.FieldNode: sq},
			"child": nil, "comparison_type": "INVALID"}
		r, ok := x.decorrelate(ctx, exists)
		if !ok {
			sq[ast.FieldModifiers], sq[ast.FieldWhere] = mods, w
			continue
		}
		conjuncts[i], changed = r, true
	}
	if changed {
		q[ast.FieldWhere] = andAll(conjuncts)
	}
}

// standsAlone reports whether a subquery binds without its enclosing
// query.
func (x *extraction) standsAlone(ctx context.Context, q node) bool {
	var tables []*storage.Table
	for _, r := range x.refs {
		if ast.Contains(q, false, func(n node) bool { return sameNode(n, r.node) }) && !slices.Contains(tables, r.table) {
			tables = append(tables, r.table)
		}
	}
	sql, err := x.p.renderNode(ctx, q)
	if err != nil {
		return false
	}
	_, err = x.p.opts.Typer.Schema(ctx, tables, sql, nil)
	return err == nil
}

// bindsIn reports whether e binds in q's FROM with only the conjuncts
// where (so it does not refer to the enclosing query).
func (x *extraction) bindsIn(ctx context.Context, q node, tables []*storage.Table, e node, where []node) bool {
	probe := q.Copy()
	probe[ast.FieldSelectList] = []any{e.Copy()}
	probe[ast.FieldModifiers] = []any{ast.Limit(ast.Constant("BIGINT", 0), nil)}
	probe[ast.FieldWhere] = andAll(copies(where))
	sql, err := x.p.renderNode(ctx, probe)
	if err != nil {
		return false
	}
	_, err = x.p.opts.Typer.Schema(ctx, tables, sql, nil)
	return err == nil
}

// adopt copies q, which is about to leave the tree, and makes the
// references in the copy the extraction's: each takes the place in x.refs
// of the reference it copies.
func (x *extraction) adopt(q node) node {
	const mark = "\x00adopt"
	for i, r := range x.refs {
		if ast.Contains(q, false, func(n node) bool { return sameNode(n, r.node) }) {
			r.node[mark] = i
		}
	}
	cp := q.Copy()
	for _, r := range x.refs {
		delete(r.node, mark)
	}
	ast.Walk(cp, func(n node) {
		if i, ok := n[mark].(int); ok {
			delete(n, mark)
			x.refs[i].node = n
		}
	})
	return cp
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
