package planner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// A final aggregate on the workers. A grouped aggregate is split into
// partial aggregates per fragment and a merge that groups the partials
// again. The coordinator runs that merge over every partial, which is
// right while the groups are few; with millions of groups it holds them
// all. Instead the fragments can write their partials to the spool
// hash-partitioned on the group keys (one more exchange, after the
// tables'), and one final fragment per part runs the merge over its part
// on a worker: the rows of a group all hash to one part, so each final
// fragment returns whole groups and the result is the concatenation of
// theirs. An ORDER BY and LIMIT run in the final fragments too (each
// returns its first k+m rows) and once more on the coordinator over their
// union (Gather), as top-k does.
//
// Partials are written with the DuckDB types of the coordinator's merge
// (their Arrow types named back), and read back cast to the same types:
// Parquet has no HUGEINT (DuckDB would write a sum's DOUBLE), and the
// merge must see what it was typed against.

// FinalAggregate is the last stage of a grouped aggregate run on workers.
type FinalAggregate struct {
	// Keys are the partials' group key columns the rows are hashed on.
	Keys []string
	// Groups estimates how many groups the keys hold (footer statistics).
	Groups int64
	// Parts is the number of parts, and of final fragments at most.
	Parts int
	// Gather is the coordinator's step over the final fragments' results
	// (the statement's ORDER BY and LIMIT); nil streams them as they are.
	Gather *Merge
	// Partials is the number of fragments whose partials were exchanged,
	// once bound.
	Partials int

	columns []string // the partials' columns, in order
	types   []string // their DuckDB types
	final   string   // the merge as a final fragment runs it, over PartialsTable
	labels  []string // the worker each part's final fragment prefers
	bound   bool
}

// SQL is the merge each final fragment runs over its part, the partials
// table a CTE over the part's files (for EXPLAIN).
func (f *FinalAggregate) SQL() string { return f.final }

// exchange is the round that writes the fragments' partials into Parts
// parts: one producer per fragment.
func (f *FinalAggregate) exchange(frags []Fragment) Exchange {
	ex := Exchange{Table: "partials", Keys: f.Keys, Rows: f.Groups}
	keys := make([]string, len(f.Keys))
	for i, k := range f.Keys {
		keys[i] = quoteIdent(k)
	}
	cols := castColumns(f.columns, f.types, true)
	part := fmt.Sprintf("hash(%s) %% %d", strings.Join(keys, ", "), f.Parts)
	if len(keys) == 0 {
		part = "0" // one part: the merge on a worker (onWorkers)
	}
	for _, frag := range frags {
		sql := fmt.Sprintf("SELECT %s, CAST(%s AS BIGINT) AS %s FROM (%s) AS %s",
			strings.Join(cols, ", "), part, PartitionColumn, frag.SQL, PartialsTable)
		ex.Producers = append(ex.Producers, Fragment{SQL: sql, Group: frag.Group, Files: frag.Files})
	}
	return ex
}

// bindParts makes the plan's fragments the final ones: one per part that
// holds rows (at least one), each the merge over its part's files.
func (f *FinalAggregate) bindParts(_ context.Context, plan *Plan, parts [][][]string) error {
	if len(parts) != 1 || len(parts[0]) != f.Parts {
		return fmt.Errorf("bind final aggregate: want 1 exchange of %d parts", f.Parts)
	}
	var finals []Fragment
	for p, files := range parts[0] {
		if len(files) == 0 && (len(finals) > 0 || p < f.Parts-1) {
			continue // no group hashed here
		}
		finals = append(finals, Fragment{SQL: f.fragment(files), Group: f.labels[p]})
	}
	if len(finals) == 0 {
		// No part holds a row: the last part's (empty) final fragment
		// returns the empty result with its types.
		finals = append(finals, Fragment{SQL: f.fragment(nil), Group: f.labels[f.Parts-1]})
	}
	f.Partials = len(plan.Fragments)
	plan.Fragments = finals
	plan.Merge = f.Gather
	f.bound = true
	return nil
}

// fragment is the final fragment over one part: the merge, its partials
// table a CTE that reads the part's files with the merge's types (or no
// row of them when the part is empty).
func (f *FinalAggregate) fragment(files []string) string {
	cols := castColumns(f.columns, f.types, len(files) > 0)
	from := " WHERE false"
	if len(files) > 0 {
		uris := make([]string, len(files))
		for i, u := range files {
			uris[i] = quoteString(u)
		}
		from = fmt.Sprintf(" FROM read_parquet([%s], hive_partitioning = false)", strings.Join(uris, ", "))
	}
	return fmt.Sprintf("WITH %s AS (SELECT %s%s) %s", PartialsTable, strings.Join(cols, ", "), from, f.final)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// planFinal gives a grouped aggregate split into parts a FinalAggregate
// when its group keys are estimated to hold at least Options.FinalGroups
// groups. It leaves the plan alone (the coordinator merges) when the
// estimate is lower, when the partials have a type DuckDB cannot be told
// by name, or when the ORDER BY is not over output columns.
func (p *Planner) planFinal(ctx context.Context, d *dist, stmt *statement, refs []tableRef, files [][]storage.File, split int, sh *shape, plan *Plan) error {
	if p.opts.FinalGroups <= 0 || p.opts.TypeName == nil || sh.strategy != strategyAggregate || plan.Merge == nil || len(plan.Fragments) < 2 || sh.groupingSets {
		return nil
	}
	if len(sh.groups) == 0 && sh.lists {
		// One group of every value: one final fragment on a worker.
		if _, err := p.onWorkers(ctx, plan); err != nil || plan.Final == nil {
			return err
		}
		plan.Decisions.Final = "one part: every fragment's values of one group"
		return nil
	}
	if len(sh.groups) == 0 {
		return p.planFinalDistinct(ctx, stmt, refs, files, split, sh, plan)
	}
	groups, err := p.estimateGroups(ctx, stmt.node, refs, files, split, sh.groups)
	if err != nil {
		return err
	}
	if groups < p.opts.FinalGroups && !sh.lists {
		// Few groups: the coordinator merges them, unless their pairs
		// with a DISTINCT argument are many.
		return p.planFinalDistinct(ctx, stmt, refs, files, split, sh, plan)
	}
	f, err := p.finalOf(ctx, plan, groups)
	if f == nil || err != nil {
		return err
	}
	for i := range sh.groups {
		f.Keys = append(f.Keys, fmt.Sprintf("k%d", i))
	}
	final := sh.merge.Copy()
	if sh.order != nil || sh.limit != nil {
		top, err := d.topK(stmt.node, mergeNames(final), nil, sh.order, sh.limit)
		if err != nil {
			return nil // an ORDER BY the gather cannot repeat: the coordinator merges
		}
		top.partial(final)
		gather, err := p.renderNode(ctx, top.merge)
		if err != nil {
			return err
		}
		f.Gather = &Merge{SQL: gather, PartialsProbe: plan.Probe}
	} else {
		stabilize(final) // streamed: a resumed final fragment skips what the client has
	}
	if f.final, err = p.renderNode(ctx, final); err != nil {
		return err
	}
	plan.Final = f
	plan.Decisions.Final = fmt.Sprintf("%s (about %d groups) into %d parts", strings.Join(f.Keys, ", "), groups, f.Parts)
	return nil
}

// finalOf starts a FinalAggregate of the plan's fragments: the partials'
// columns with their DuckDB types, nil when a type has no name.
func (p *Planner) finalOf(ctx context.Context, plan *Plan, groups int64) (*FinalAggregate, error) {
	partials, err := p.opts.Typer.Schema(ctx, plan.Tables, plan.Merge.PartialsProbe, make([]any, plan.Params))
	if err != nil {
		return nil, err
	}
	f := &FinalAggregate{Groups: groups, Parts: len(plan.Fragments)}
	for _, fd := range partials.Fields() {
		name, err := p.opts.TypeName(fd.Type)
		if err != nil {
			p.logger.Debug("final aggregate on the coordinator: a partial's type has no DuckDB name", "column", fd.Name, "type", fd.Type)
			return nil, nil
		}
		f.columns, f.types = append(f.columns, fd.Name), append(f.types, name)
	}
	for _, frag := range plan.Fragments {
		f.labels = append(f.labels, frag.Group)
	}
	return f, nil
}

// planFinalDistinct finishes an aggregate with DISTINCT aggregates on the
// workers when its groups are few but its pairs of group keys and DISTINCT
// argument are many (`SELECT count(DISTINCT user_id), count(*) FROM
// events`, `SELECT country, count(DISTINCT user_id) … GROUP BY country`).
// Its partials are grouped on the keys and the argument d0, so the
// coordinator's merge would hold every pair; hashing them on the keys
// alone would leave all but a few parts empty. Instead they are exchanged
// on (keys, d0), as Trino marks distinct values: the parts hold disjoint
// pairs, so a count of distinct values per group and part adds up. Each
// final fragment aggregates its part into one row of second-level
// partials per group, and the coordinator combines those few rows
// (Gather): the merge with its aggregates over the second level, its
// HAVING, ORDER BY and LIMIT as they were. Only when every aggregate of
// the merge combines that way (count, sum, min, max, bool_and/or; avg of
// DISTINCT as a sum over a count) and the result keeps the query's types.
func (p *Planner) planFinalDistinct(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, split int, sh *shape, plan *Plan) error {
	if sh.distinct == nil || sh.centered {
		return nil
	}
	pairs, err := p.estimateGroups(ctx, stmt.node, refs, files, split, append(slices.Clone(sh.groups), sh.distinct))
	if err != nil || pairs < p.opts.FinalGroups {
		return err
	}
	keys := make([]string, 0, len(sh.groups)+1)
	level2 := make([]any, 0, len(sh.groups))
	for i := range sh.groups {
		keys = append(keys, fmt.Sprintf("k%d", i))
		level2 = append(level2, ast.ColumnRef(keys[i]))
	}
	c := &combiner{keys: keys, level2: level2}
	gather := sh.merge.Copy()
	sel := ast.Nodes(gather[ast.FieldSelectList])
	list := make([]any, len(sel))
	names := make([]string, len(sel))
	for i, s := range sel {
		r, ok := c.rewrite(s)
		if !ok {
			return nil
		}
		r[ast.FieldAlias], names[i] = s.Alias(), s.Alias()
		list[i] = r
	}
	gather[ast.FieldSelectList] = list
	if h := ast.AsNode(gather[ast.FieldHaving]); h != nil {
		r, ok := c.rewrite(h)
		if !ok {
			return nil
		}
		gather[ast.FieldHaving] = r
	}
	c.outputs = names // an ORDER BY may name the output columns
	for _, m := range ast.Nodes(gather[ast.FieldModifiers]) {
		if m.Type() != ast.OrderModifier {
			continue
		}
		for _, item := range ast.Nodes(m[ast.FieldOrders]) {
			r, ok := c.rewrite(ast.AsNode(item["expression"]))
			if !ok {
				return nil
			}
			item["expression"] = r
		}
	}
	final := mergeSelect()
	final[ast.FieldSelectList] = c.level2
	final[ast.FieldGroupBy] = ast.Clone(level2[:len(sh.groups)])
	final[ast.FieldGroupSets] = groupSets(len(sh.groups))
	finalSQL, err := p.renderNode(ctx, final)
	if err != nil {
		return err
	}
	gatherSQL, err := p.renderNode(ctx, gather)
	if err != nil {
		return err
	}
	// The gather must return the query's types over the final fragments'.
	args := make([]any, plan.Params)
	probe := fmt.Sprintf("WITH %s AS (%s) %s", PartialsTable, plan.Merge.PartialsProbe, finalSQL)
	want, err := p.opts.Typer.Schema(ctx, plan.Tables, plan.Probe, args)
	if err != nil {
		return err
	}
	got, err := p.opts.Typer.MergeSchema(ctx, plan.Tables, probe, gatherSQL, args)
	if err != nil || !sameColumns(got, want) {
		p.logger.Debug("distinct values merged on the coordinator: the combined result would not have the query's types",
			"err", err, "got", got, "want", want)
		return nil
	}
	f, err := p.finalOf(ctx, plan, pairs)
	if f == nil || err != nil {
		return err
	}
	f.Keys, f.final = append(keys, "d0"), finalSQL
	f.Gather = &Merge{SQL: gatherSQL, PartialsProbe: probe}
	plan.Final = f
	what := "distinct values"
	if len(sh.groups) > 0 {
		what = "pairs of group and distinct value"
	}
	plan.Decisions.Final = fmt.Sprintf("%s (about %d %s) into %d parts", strings.Join(f.Keys, ", "), pairs, what, f.Parts)
	return nil
}

// combiner rewrites a merge over partials into a merge over second-level
// partials, which it collects: each aggregate of the merge becomes a
// second-level column (q0, q1, …) and an aggregate that combines them.
type combiner struct {
	keys    []string // the group key columns, kept as they are
	outputs []string // output column names an expression may refer to
	level2  []any    // the second-level select list: keys, then aggregates
	n       int
}

// add makes e a second-level column and returns its name.
func (c *combiner) add(e node) string {
	name := fmt.Sprintf("q%d", c.n)
	c.n++
	cp := e.Copy()
	cp[ast.FieldAlias] = name
	c.level2 = append(c.level2, cp)
	return name
}

// rewrite returns e over the second level, false when some part of it
// does not combine.
func (c *combiner) rewrite(e node) (node, bool) {
	if e.Class() == ast.ClassFunction && e.FunctionName() != "" {
		name := strings.ToLower(e.FunctionName())
		distinct, _ := e[ast.FieldDistinct].(bool)
		switch {
		case name == "count" && distinct:
			return ast.Cast(function("sum", []any{ast.ColumnRef(c.add(e))}), "BIGINT"), true
		case name == "sum", name == "min", name == "max", name == "bool_and", name == "bool_or":
			return function(name, []any{ast.ColumnRef(c.add(e))}), true
		case (name == "avg" || name == "mean") && distinct:
			s, n := e.Copy(), e.Copy()
			s[ast.FieldFunctionName], n[ast.FieldFunctionName] = "sum", "count"
			return ast.Operator("/", ast.Cast(function("sum", []any{ast.ColumnRef(c.add(s))}), "DOUBLE"),
				function("sum", []any{ast.ColumnRef(c.add(n))})), true
		}
	}
	if e.Class() == ast.ClassColumnRef {
		names := e.ColumnNames()
		if len(names) == 1 && (slices.Contains(c.keys, names[0]) || slices.Contains(c.outputs, names[0])) {
			return e.Copy(), true
		}
		return nil, false // a partial outside the aggregates this combines
	}
	out, err := ast.MapChildren(e, func(ch node) (node, error) {
		r, ok := c.rewrite(ch)
		if !ok {
			return nil, errNotCombinable
		}
		return r, nil
	})
	return out, err == nil
}

// errNotCombinable stops the rewrite of a merge into second-level
// partials at an expression it cannot combine.
var errNotCombinable = errors.New("not combinable")

// renderNode renders a statement node that takes no named parameters.
func (p *Planner) renderNode(ctx context.Context, root node) (string, error) {
	env := node{"error": false, ast.FieldStatements: []any{node{ast.FieldNamedParams: []any{}, ast.FieldNode: root}}}
	return p.render(ctx, &statement{envelope: env, node: root})
}

// estimateGroups estimates the groups of an aggregate from footer
// statistics: the product, over the group keys that are integer or date
// columns of a top-level table, of the width of their min … max range,
// at most the rows the split table reads. Keys of other types count once:
// their values cannot be counted from a footer.
func (p *Planner) estimateGroups(ctx context.Context, root node, refs []tableRef, files [][]storage.File, split int, groups []node) (int64, error) {
	var rows int64
	for _, f := range files[split] {
		rows += f.Rows
	}
	_, top, opaque := topLevelSources(root, refs)
	est := 1.0
	for _, g := range groups {
		if g.Class() != ast.ClassColumnRef {
			continue
		}
		for i := range refs {
			if !top[i] {
				continue
			}
			col, ok := resolverFor(i, refs, top, opaque)(g.ColumnNames())
			if !ok {
				continue
			}
			width, err := p.columnWidth(ctx, refs[i].table, files[i], col)
			if err != nil {
				return 0, err
			}
			est *= float64(max(width, 1))
			break
		}
	}
	return int64(math.Min(est, float64(rows))), nil
}

// columnWidth is max − min + 1 of an integer or date column over the
// files' footers, 0 when the type or the statistics do not tell.
func (p *Planner) columnWidth(ctx context.Context, t *storage.Table, files []storage.File, name string) (int64, error) {
	spans, _, err := p.fileSpans(ctx, t, files, name)
	if err != nil || len(spans) == 0 {
		return 0, err
	}
	lo, hi := spans[0].lo, spans[0].hi
	for _, sp := range spans[1:] {
		lo, hi = min(lo, sp.lo), max(hi, sp.hi)
	}
	if w := float64(hi) - float64(lo) + 1; w < math.MaxInt64 {
		return hi - lo + 1, nil
	}
	return math.MaxInt64, nil
}

// span is the min … max of a column in one file.
type span struct{ lo, hi int64 }

// fileSpans reads an integer or date column's min … max in each file from
// its footer, and whether any file may hold a NULL there (or does not
// say). It returns no spans when the type or the statistics do not tell.
func (p *Planner) fileSpans(ctx context.Context, t *storage.Table, files []storage.File, name string) (spans []span, nulls bool, err error) {
	c, ok := column(t, name)
	if !ok || p.opts.Footers == nil {
		return nil, false, nil
	}
	switch c.Type.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.DATE32:
	default:
		return nil, false, nil
	}
	spans = make([]span, 0, len(files))
	if slices.ContainsFunc(t.Partitions, func(pc storage.Column) bool { return strings.EqualFold(pc.Name, name) }) {
		// A Hive partition column: each file holds the one value its path says.
		for _, f := range files {
			v, ok := partitionInt(f.Partition[name], c.Type.ID())
			if !ok {
				return nil, f.Partition[name] == hiveDefaultPartition, nil
			}
			spans = append(spans, span{v, v})
		}
		return spans, false, nil
	}
	for _, f := range files {
		ft, err := p.opts.Footers.Footer(ctx, f)
		if err != nil {
			return nil, false, fmt.Errorf("footer statistics of %s: %w", t.Name, err)
		}
		idx := ft.Schema.FieldIndices(name)
		if len(idx) != 1 || len(ft.RowGroups) == 0 {
			return nil, false, nil // a partition column, or a file without it
		}
		sp := span{math.MaxInt64, math.MinInt64}
		for _, rg := range ft.RowGroups {
			st := rg.Columns[idx[0]]
			lo, ok1 := asInt64(st.Min)
			hi, ok2 := asInt64(st.Max)
			if !st.HasMinMax || !ok1 || !ok2 {
				return nil, false, nil
			}
			nulls = nulls || !st.HasNullCount || st.NullCount > 0
			sp = span{min(sp.lo, lo), max(sp.hi, hi)}
		}
		spans = append(spans, sp)
	}
	return spans, nulls, nil
}

// hiveDefaultPartition is the directory value Hive writes for NULL.
const hiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// partitionInt is a Hive partition value of an integer or date column as
// an integer (days since 1970 for a date), false when it is not one.
func partitionInt(v string, id arrow.Type) (int64, bool) {
	if id == arrow.DATE32 {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return 0, false
		}
		return d.Unix() / 86400, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case arrow.Date32:
		return int64(v), true
	}
	return 0, false
}

// disjointGroups names the group key of an aggregate that is a column of
// the split table whose values no two of its files share: every file's
// min … max range (footer statistics) is apart from every other's and no
// file holds a NULL there. Each output row comes from one row of the
// split table, so a group's rows all come from one file, and so from one
// fragment: the fragments' groups are whole (TPC-H writes lineitem and
// orders split by order key; a warehouse written by date is split by date).
func (p *Planner) disjointGroups(ctx context.Context, root node, refs []tableRef, files [][]storage.File, split int, groups []node) (string, error) {
	if p.opts.Footers == nil || len(files[split]) < 2 {
		return "", nil
	}
	_, top, opaque := topLevelSources(root, refs)
	resolve := resolverFor(split, refs, top, opaque)
	for _, g := range groups {
		if g.Class() != ast.ClassColumnRef {
			continue
		}
		col, ok := resolve(g.ColumnNames())
		if !ok {
			continue
		}
		ok, err := p.disjointFiles(ctx, refs[split].table, files[split], col)
		if err != nil {
			return "", err
		}
		if ok {
			return fmt.Sprintf("%s.%s (its files hold disjoint ranges)", refs[split].name, col), nil
		}
	}
	return "", nil
}

// disjointFiles reports whether no two files share a value of an integer
// or date column, and none holds a NULL there.
func (p *Planner) disjointFiles(ctx context.Context, t *storage.Table, files []storage.File, name string) (bool, error) {
	spans, nulls, err := p.fileSpans(ctx, t, files, name)
	if err != nil || nulls || len(spans) < 2 {
		return false, err
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo <= spans[i-1].hi {
			return false, nil
		}
	}
	return true, nil
}

// wholeRescues are the fallbacks of an aggregate that whole groups undo:
// aggregates that have no partial form (median, string_agg with ORDER
// BY, count(DISTINCT) of two arguments …) run as they are when every
// group is whole in its fragment.
var wholeRescues = map[Reason]bool{
	ReasonAggregate: true, ReasonOrderedAggregate: true, ReasonDistinctAggregateShape: true,
	ReasonDistinctArguments: true, ReasonDistinctAggregate: true,
}

// wholeOrFallback returns, for an aggregate that fell back for want of
// partial aggregates, the shape that runs it whole in every fragment
// when its groups are whole there (disjointGroups); otherwise the
// fallback err itself.
func (p *Planner) wholeOrFallback(ctx context.Context, d *dist, stmt *statement, refs []tableRef, files [][]storage.File, split int, names []string, err error, plan *Plan) (*shape, error) {
	var fb fallback
	root := stmt.node
	if !errors.As(err, &fb) || !wholeRescues[fb.reason] || root[ast.FieldQualify] != nil || root[ast.FieldSample] != nil ||
		root.Str(ast.FieldAggregateHandle) != ast.StandardHandling || uniqueNames(names) != nil {
		return nil, err
	}
	if sets, _ := root[ast.FieldGroupSets].([]any); len(sets) > 1 {
		return nil, err
	}
	order, limit, ok := orderAndLimit(root)
	if !ok {
		return nil, err
	}
	// What runs after the grouping over every group must not be there.
	if ast.Contains([]any{root[ast.FieldSelectList], root[ast.FieldHaving], root[ast.FieldModifiers]}, false, func(e node) bool {
		return e.Class() == ast.ClassWindow || e.Class() == ast.ClassSubquery
	}) {
		return nil, err
	}
	groups := ast.Nodes(root[ast.FieldGroupBy])
	key, kerr := p.disjointGroups(ctx, root, refs, files, split, groups)
	if kerr != nil {
		return nil, kerr
	}
	whole := d.wholeShape(root, names, order, limit)
	if whole == nil {
		return nil, err
	}
	if key != "" {
		plan.Decisions.Final = "in the fragments: they group on " + key
		return whole, nil
	}
	// Otherwise a group key that is a column of the split table can make
	// the groups whole: the table is exchanged on it (planKeyed).
	_, top, opaque := topLevelSources(root, refs)
	if !top[split] || refs[split].restricted || hasColumnAliases(refs[split].node) {
		return nil, err
	}
	resolve := resolverFor(split, refs, top, opaque)
	for _, g := range groups {
		if g.Class() != ast.ClassColumnRef {
			continue
		}
		if col, ok := resolve(g.ColumnNames()); ok {
			whole.keyedOn = col
			plan.needsExchange = true // Planner.plan falls back when it cannot exchange
			return whole, nil
		}
	}
	return nil, err
}

// sameColumns reports whether two schemas have the same column names and
// types (the announced schema's nullability is DuckDB's to choose).
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i, f := range a.Fields() {
		if g := b.Field(i); f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) {
			return false
		}
	}
	return true
}
