package lineage

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// ErrUnsupported is a statement Bind cannot derive exact lineage for (a
// PIVOT, a star over a table function's unnamed columns, a column it
// cannot resolve). The query runs as always; only its lineage is missing.
var ErrUnsupported = errors.New("lineage not derived")

// Table is a warehouse table a statement reads.
type Table struct {
	Catalog, Schema, Name string
	// Columns are the table's columns, in order.
	Columns []string
	// Restricted is a reference the policy rewrote: it is the FROM of
	// `SELECT <allowed columns, masks> FROM t WHERE <row filters>`, which
	// Bind reads as the policy's (masks and row filters get Edge.Policy).
	Restricted bool
}

// Options configure Bind.
type Options struct {
	// Table resolves a BASE_TABLE reference that is not a CTE's; false
	// when it names no table Bind may read (Bind then fails).
	Table func(ref ast.Node) (Table, bool)
	// Aggregate reports whether a function is an aggregate.
	Aggregate func(name string) bool
}

// Graph is a statement's lineage: each result column's source columns,
// and the columns that decide the result's rows.
type Graph struct {
	names    []string
	direct   []sources
	indirect []Edge
}

// Columns is the number of result columns Bind found.
func (g *Graph) Columns() int { return len(g.names) }

// Edges lists the graph's edges, the direct ones named by names (the
// result schema's field names, which name expressions as DuckDB does)
// when it has one per result column, by Bind's names otherwise. Direct
// edges come first, in column order, then the indirect ones.
func (g *Graph) Edges(names []string) []Edge {
	if len(names) != len(g.names) {
		names = g.names
	}
	var out []Edge
	for i, src := range g.direct {
		start := len(out)
		for c, d := range src {
			out = append(out, Edge{Output: names[i], Source: c, Kind: d.kind, Policy: d.policy})
		}
		slices.SortFunc(out[start:], compareEdges)
	}
	return append(out, g.indirect...)
}

func compareEdges(a, b Edge) int {
	return cmp.Or(strings.Compare(a.Source.String(), b.Source.String()),
		strings.Compare(string(a.Kind), string(b.Kind)), boolCompare(a.Policy, b.Policy))
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Bind derives the lineage of a statement's query node: DuckDB's parsed
// tree, after the policy's rewrite, scoped as DuckDB's binder scopes it
// (FROM items, joins with USING, CTEs, subqueries, correlated references,
// select-list aliases, stars with EXCLUDE/REPLACE/RENAME/COLUMNS).
func Bind(root ast.Node, opts Options) (*Graph, error) {
	b := &binder{opts: opts, indirect: map[Edge]bool{}}
	cols, err := b.query(root, nil, nil)
	if err != nil {
		return nil, err
	}
	g := &Graph{}
	for _, c := range cols {
		g.names = append(g.names, c.name)
		g.direct = append(g.direct, c.src)
	}
	for e := range b.indirect {
		g.indirect = append(g.indirect, e)
	}
	slices.SortFunc(g.indirect, func(a, b Edge) int {
		return cmp.Or(strings.Compare(string(a.Kind), string(b.Kind)), compareEdges(a, b))
	})
	return g, nil
}

// dir is how a source reaches a column.
type dir struct {
	kind   Kind
	policy bool
}

// sources are a column's source columns.
type sources map[Column]dir

// add merges d for c: the highest kind; a policy edge only if every path is.
func (s sources) add(c Column, d dir) {
	if old, ok := s[c]; ok {
		if old.kind.rank() > d.kind.rank() {
			d.kind = old.kind
		}
		d.policy = d.policy && old.policy
	}
	s[c] = d
}

func (s sources) merge(o sources) {
	for c, d := range o {
		s.add(c, d)
	}
}

// through is s seen through an operation of kind k (policy: a mask).
func (s sources) through(k Kind, policy bool) sources {
	out := make(sources, len(s))
	for c, d := range s {
		if k.rank() > d.kind.rank() {
			d.kind = k
		}
		d.policy = d.policy || policy
		out[c] = d
	}
	return out
}

type column struct {
	name string
	src  sources
}

// relation is a FROM item: its columns and the names that qualify them.
type relation struct {
	quals []string // [alias], or [catalog, schema, table] of an unaliased table
	cols  []column
	// hidden are the right side's USING columns: not in `*`, not found
	// unqualified (the left side's, merged for a FULL join, are).
	hidden map[string]bool
	// opaque is a table function: its columns are not known, each derives
	// from its arguments.
	opaque    bool
	opaqueSrc sources
}

func (r *relation) qualifies(prefix []string) bool {
	if len(prefix) > len(r.quals) {
		return false
	}
	tail := r.quals[len(r.quals)-len(prefix):]
	for i := range prefix {
		if !strings.EqualFold(prefix[i], tail[i]) {
			return false
		}
	}
	return true
}

func (r *relation) col(name string, qualified bool) (column, bool) {
	if !qualified && r.hidden[strings.ToLower(name)] {
		return column{}, false
	}
	for _, c := range r.cols {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	if r.opaque {
		return column{name: name, src: r.opaqueSrc}, true
	}
	return column{}, false
}

// scope is what a SELECT's expressions see: its FROM items, the select
// list's aliases bound so far, and the enclosing query's scope.
type scope struct {
	rels    []*relation
	aliases []column
	outer   *scope
}

func (s *scope) lookup(names []string) (sources, bool) {
	fields := func(src sources, extra int) sources {
		if extra > 0 { // struct field access
			return src.through(Expression, false)
		}
		return src
	}
	for k := min(len(names)-1, 3); k >= 1; k-- {
		for _, r := range s.rels {
			if r.qualifies(names[:k]) {
				if c, ok := r.col(names[k], true); ok {
					return fields(c.src, len(names)-k-1), true
				}
			}
		}
	}
	found, n := sources{}, 0
	for _, r := range s.rels {
		if r.opaque {
			continue
		}
		if c, ok := r.col(names[0], false); ok {
			found.merge(c.src)
			n++
		}
	}
	if n > 0 {
		return fields(found, len(names)-1), true
	}
	for i := len(s.aliases) - 1; i >= 0; i-- {
		if strings.EqualFold(s.aliases[i].name, names[0]) {
			return fields(s.aliases[i].src, len(names)-1), true
		}
	}
	for _, r := range s.rels {
		if r.opaque {
			return r.opaqueSrc.through(Expression, false), true
		}
	}
	return nil, false
}

// ctes are the CTEs in scope: a WITH's, then the enclosing ones'.
type ctes struct {
	defs   map[string]*cte
	parent *ctes
}

type cte struct {
	query   ast.Node
	aliases []string
	scope   *ctes
	cols    []column
	bound   bool
	binding bool
}

func (c *ctes) find(name string) *cte {
	for e := c; e != nil; e = e.parent {
		if d, ok := e.defs[strings.ToLower(name)]; ok {
			return d
		}
	}
	return nil
}

type binder struct {
	opts     Options
	indirect map[Edge]bool
}

func (b *binder) addIndirect(src sources, k Kind, policy bool) {
	for c := range src {
		b.indirect[Edge{Source: c, Kind: k, Policy: policy}] = true
	}
}

// query binds a query node (outer: the scope a correlated subquery sees).
func (b *binder) query(n ast.Node, outer *scope, env *ctes) ([]column, error) {
	env = b.with(n, env)
	var cols []column
	var err error
	switch n.Type() {
	case ast.SelectNode:
		return b.selectNode(n, outer, env)
	case ast.SetOperationNode:
		cols, err = b.setOperation(n, outer, env)
	case ast.RecursiveCTENode:
		cols, err = b.recursive(n, outer, env)
	default:
		return nil, fmt.Errorf("%w: query node %s", ErrUnsupported, n.Type())
	}
	if err != nil {
		return nil, err
	}
	// A set operation's ORDER BY names its output columns.
	sc := &scope{rels: []*relation{{cols: cols}}, outer: outer}
	return cols, b.modifiers(sc, n, cols, env)
}

// with adds n's CTEs to env; each is bound when first referenced.
func (b *binder) with(n ast.Node, env *ctes) *ctes {
	m, _ := n[ast.FieldCTEMap].(ast.Node)
	entries := ast.Nodes(m["map"])
	if len(entries) == 0 {
		return env
	}
	inner := &ctes{defs: map[string]*cte{}, parent: env}
	for _, e := range entries {
		v := e.Child("value")
		var aliases []string
		for _, a := range asList(v["aliases"]) {
			if s, ok := a.(string); ok {
				aliases = append(aliases, s)
			}
		}
		inner.defs[strings.ToLower(e.Str("key"))] = &cte{query: v.Child("query").Child(ast.FieldNode), aliases: aliases, scope: inner}
	}
	return inner
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func renamed(cols []column, aliases []string) []column {
	out := slices.Clone(cols)
	for i, a := range aliases {
		if i < len(out) && a != "" {
			out[i].name = a
		}
	}
	return out
}

func (b *binder) cteColumns(d *cte) ([]column, error) {
	if d.bound {
		return d.cols, nil
	}
	if d.binding {
		return nil, fmt.Errorf("%w: a CTE that references itself outside WITH RECURSIVE", ErrUnsupported)
	}
	d.binding = true
	cols, err := b.query(d.query, nil, d.scope)
	d.binding = false
	if err != nil {
		return nil, err
	}
	d.cols, d.bound = renamed(cols, d.aliases), true
	return d.cols, nil
}

// recursive binds WITH RECURSIVE's body: the anchor, then the recursive
// part seeing the CTE as the anchor's columns, twice so that sources that
// enter through the recursion reach the CTE's columns.
func (b *binder) recursive(n ast.Node, outer *scope, env *ctes) ([]column, error) {
	anchor, err := b.query(n.Child(ast.FieldLeft), outer, env)
	if err != nil {
		return nil, err
	}
	var aliases []string
	for _, a := range asList(n["aliases"]) {
		if s, ok := a.(string); ok {
			aliases = append(aliases, s)
		}
	}
	self := &cte{aliases: aliases, bound: true, cols: renamed(anchor, aliases)}
	inner := &ctes{defs: map[string]*cte{strings.ToLower(n.Str("cte_name")): self}, parent: env}
	for range 2 {
		step, err := b.query(n.Child(ast.FieldRight), outer, inner)
		if err != nil {
			return nil, err
		}
		if len(step) != len(self.cols) {
			return nil, fmt.Errorf("%w: recursive CTE branches differ in width", ErrUnsupported)
		}
		merged := slices.Clone(self.cols)
		for i := range merged {
			src := sources{}
			src.merge(merged[i].src)
			src.merge(step[i].src)
			merged[i].src = src
		}
		self.cols = merged
	}
	return self.cols, nil
}

func (b *binder) setOperation(n ast.Node, outer *scope, env *ctes) ([]column, error) {
	left, err := b.query(n.Child(ast.FieldLeft), outer, env)
	if err != nil {
		return nil, err
	}
	right, err := b.query(n.Child(ast.FieldRight), outer, env)
	if err != nil {
		return nil, err
	}
	out := make([]column, len(left))
	for i, c := range left {
		out[i] = column{name: c.name, src: sources{}}
		out[i].src.merge(c.src)
	}
	switch op := n.Str("setop_type"); op {
	case "UNION":
		if len(right) != len(left) {
			return nil, fmt.Errorf("%w: UNION branches differ in width", ErrUnsupported)
		}
		for i, c := range right {
			out[i].src.merge(c.src)
		}
	case "UNION_BY_NAME":
		for _, c := range right {
			i := slices.IndexFunc(out, func(o column) bool { return strings.EqualFold(o.name, c.name) })
			if i < 0 {
				out = append(out, column{name: c.name, src: sources{}})
				i = len(out) - 1
			}
			out[i].src.merge(c.src)
		}
	case "EXCEPT", "INTERSECT":
		// The right branch decides which of the left's rows remain.
		for _, c := range right {
			b.addIndirect(c.src, Filter, false)
		}
	default:
		return nil, fmt.Errorf("%w: set operation %s", ErrUnsupported, op)
	}
	return out, nil
}

func (b *binder) selectNode(n ast.Node, outer *scope, env *ctes) ([]column, error) {
	rels, policy, err := b.from(n.Child(ast.FieldFromTable), outer, env)
	if err != nil {
		return nil, err
	}
	sc := &scope{rels: rels, outer: outer}
	items := n.Children(ast.FieldSelectList)
	var cols []column
	perItem := make([][]column, len(items)) // for GROUP BY/ORDER BY <position>
	for i, e := range items {
		var got []column
		if e.Class() == ast.ClassStar {
			if got, err = b.star(sc, e, env); err != nil {
				return nil, err
			}
		} else {
			src, err := b.expr(sc, e, env)
			if err != nil {
				return nil, err
			}
			name := e.Alias()
			if name == "" && e.Class() == ast.ClassColumnRef {
				names := e.ColumnNames()
				name = names[len(names)-1]
			}
			if policy != nil && !(e.Class() == ast.ClassColumnRef && strings.EqualFold(e.ColumnNames()[0], name)) {
				// A mask: the column it replaces is its source, whether or
				// not the mask reads it.
				src = src.through(Expression, true)
				if c, ok := policy.col(name, true); ok {
					src.merge(c.src.through(Expression, true))
				}
			}
			got = []column{{name: name, src: src}}
			if name != "" {
				sc.aliases = append(sc.aliases, got[0])
			}
		}
		perItem[i] = got
		cols = append(cols, got...)
	}
	clause := func(field string, k Kind, policy bool) error {
		e := n.Child(field)
		if e == nil {
			return nil
		}
		src, err := b.expr(sc, e, env)
		b.addIndirect(src, k, policy)
		return err
	}
	if err := clause(ast.FieldWhere, Filter, policy != nil); err != nil {
		return nil, err
	}
	if err := clause(ast.FieldHaving, Filter, false); err != nil {
		return nil, err
	}
	if err := clause(ast.FieldQualify, Filter, false); err != nil {
		return nil, err
	}
	for _, g := range n.Children(ast.FieldGroupBy) {
		src, err := b.positional(sc, g, perItem, env)
		if err != nil {
			return nil, err
		}
		b.addIndirect(src, GroupBy, false)
	}
	if n.Str(ast.FieldAggregateHandle) == ast.ForceAggregates { // GROUP BY ALL
		for i, e := range items {
			if !b.aggregates(e) {
				for _, c := range perItem[i] {
					b.addIndirect(c.src, GroupBy, false)
				}
			}
		}
	}
	return cols, b.modifiersIn(sc, n, perItem, env)
}

// aggregates reports whether e computes an aggregate (outside subqueries).
func (b *binder) aggregates(e ast.Node) bool {
	return ast.Contains(e, true, func(x ast.Node) bool {
		return x.Class() == ast.ClassFunction && b.opts.Aggregate(x.FunctionName())
	})
}

// positional binds a GROUP BY or ORDER BY expression: an integer constant
// is the select list's item of that position.
func (b *binder) positional(sc *scope, e ast.Node, items [][]column, env *ctes) (sources, error) {
	if e.Class() == ast.ClassConstant {
		v := e.Child(ast.FieldValue)
		if num, ok := v[ast.FieldValue].(fmt.Stringer); ok {
			if i, err := strconv.Atoi(num.String()); err == nil && i >= 1 && i <= len(items) {
				src := sources{}
				for _, c := range items[i-1] {
					src.merge(c.src)
				}
				return src, nil
			}
		}
		return nil, nil
	}
	if e.Class() == ast.ClassStar { // ORDER BY ALL
		src := sources{}
		for _, item := range items {
			for _, c := range item {
				src.merge(c.src)
			}
		}
		return src, nil
	}
	return b.expr(sc, e, env)
}

func (b *binder) modifiers(sc *scope, n ast.Node, cols []column, env *ctes) error {
	items := make([][]column, len(cols))
	for i, c := range cols {
		items[i] = []column{c}
	}
	return b.modifiersIn(sc, n, items, env)
}

func (b *binder) modifiersIn(sc *scope, n ast.Node, items [][]column, env *ctes) error {
	for _, m := range n.Children(ast.FieldModifiers) {
		var k Kind
		var exprs []ast.Node
		switch m.Type() {
		case ast.OrderModifier:
			k = Sort
			for _, o := range m.Children(ast.FieldOrders) {
				exprs = append(exprs, o.Child("expression"))
			}
		case ast.DistinctModifier:
			k, exprs = GroupBy, m.Children("distinct_on_targets")
		default:
			continue
		}
		for _, e := range exprs {
			src, err := b.positional(sc, e, items, env)
			if err != nil {
				return err
			}
			b.addIndirect(src, k, false)
		}
	}
	return nil
}

// from binds a FROM item; policy is the table a policy's restricted
// select reads (the FROM is that table alone).
func (b *binder) from(n ast.Node, outer *scope, env *ctes) (rels []*relation, policy *relation, err error) {
	if n == nil {
		return nil, nil, nil
	}
	switch n.Type() {
	case ast.EmptyFrom:
		return nil, nil, nil
	case ast.BaseTable:
		r, restricted, err := b.baseTable(n, env)
		if err != nil {
			return nil, nil, err
		}
		if restricted {
			policy = r
		}
		return []*relation{r}, policy, nil
	case ast.Subquery:
		cols, err := b.query(n.Child(ast.FieldSubquery).Child(ast.FieldNode), outer, env)
		if err != nil {
			return nil, nil, err
		}
		return []*relation{aliased(n, cols)}, nil, nil
	case ast.Join:
		rels, err := b.join(n, outer, env)
		return rels, nil, err
	case ast.TableFunction:
		fn := n.Child(ast.FieldFunction)
		src, err := b.expr(outer, fn, env)
		if err != nil {
			return nil, nil, err
		}
		r := &relation{quals: []string{cmp.Or(n.Alias(), fn.FunctionName())}, opaque: true, opaqueSrc: src}
		for _, a := range asList(n[ast.FieldColumnAliases]) {
			if s, ok := a.(string); ok {
				r.cols = append(r.cols, column{name: s, src: src.through(Expression, false)})
			}
		}
		return []*relation{r}, nil, nil
	case ast.ExpressionList:
		var cols []column
		for _, row := range asList(n["values"]) {
			for i, e := range ast.Nodes(row) {
				src, err := b.expr(outer, e, env)
				if err != nil {
					return nil, nil, err
				}
				if i == len(cols) {
					cols = append(cols, column{name: "col" + strconv.Itoa(i), src: sources{}})
				}
				if i < len(cols) {
					cols[i].src.merge(src)
				}
			}
		}
		for i, name := range asList(n["expected_names"]) {
			if s, ok := name.(string); ok && i < len(cols) {
				cols[i].name = s
			}
		}
		return []*relation{aliased(n, cols)}, nil, nil
	}
	return nil, nil, fmt.Errorf("%w: FROM item %s", ErrUnsupported, n.Type())
}

// aliased is a subquery's (or VALUES') relation under the item's alias
// and column aliases.
func aliased(n ast.Node, cols []column) *relation {
	var aliases []string
	for _, a := range asList(n[ast.FieldColumnAliases]) {
		if s, ok := a.(string); ok {
			aliases = append(aliases, s)
		}
	}
	r := &relation{cols: renamed(cols, aliases)}
	if a := n.Alias(); a != "" {
		r.quals = []string{a}
	}
	return r
}

func (b *binder) baseTable(n ast.Node, env *ctes) (*relation, bool, error) {
	name := n.Str(ast.FieldTableName)
	if n.Str(ast.FieldSchemaName) == "" && n.Str(ast.FieldCatalogName) == "" {
		if d := env.find(name); d != nil && !d.binding {
			cols, err := b.cteColumns(d)
			if err != nil {
				return nil, false, err
			}
			r := aliased(n, cols)
			if r.quals == nil {
				r.quals = []string{name}
			}
			return r, false, nil
		}
	}
	t, ok := b.opts.Table(n)
	if !ok {
		return nil, false, fmt.Errorf("%w: table %s is not resolved", ErrUnsupported, name)
	}
	cols := make([]column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = column{name: c, src: sources{Column{Catalog: t.Catalog, Schema: t.Schema, Table: t.Name, Column: c}: {kind: Identity}}}
	}
	r := aliased(n, cols)
	if r.quals == nil {
		r.quals = []string{t.Catalog, t.Schema, t.Name}
	}
	return r, t.Restricted, nil
}

func (b *binder) join(n ast.Node, outer *scope, env *ctes) ([]*relation, error) {
	left, _, err := b.from(n.Child(ast.FieldLeft), outer, env)
	if err != nil {
		return nil, err
	}
	// The right side sees the left's columns (DuckDB's implicit LATERAL).
	right, _, err := b.from(n.Child(ast.FieldRight), &scope{rels: left, outer: outer}, env)
	if err != nil {
		return nil, err
	}
	both := &scope{rels: append(slices.Clone(left), right...), outer: outer}
	if c := n.Child(ast.FieldCondition); c != nil {
		src, err := b.expr(both, c, env)
		if err != nil {
			return nil, err
		}
		b.addIndirect(src, Join, false)
	}
	var using []string
	for _, u := range asList(n[ast.FieldUsing]) {
		if s, ok := u.(string); ok {
			using = append(using, s)
		}
	}
	if n.Str(ast.FieldRefType) == "NATURAL" {
		for _, r := range left {
			for _, c := range r.cols {
				if !r.hidden[strings.ToLower(c.name)] && (&scope{rels: right}).has(c.name) && !slices.Contains(using, c.name) {
					using = append(using, c.name)
				}
			}
		}
	}
	typ := n.Str(ast.FieldJoinType)
	for _, name := range using {
		ls, lok := (&scope{rels: left}).lookup([]string{name})
		rs, rok := (&scope{rels: right}).lookup([]string{name})
		if !lok || !rok {
			return nil, fmt.Errorf("%w: USING column %s", ErrUnsupported, name)
		}
		b.addIndirect(ls, Join, false)
		b.addIndirect(rs, Join, false)
		for _, r := range right {
			if r.hidden == nil {
				r.hidden = map[string]bool{}
			}
			r.hidden[strings.ToLower(name)] = true
		}
		if typ == ast.JoinFull || typ == ast.JoinRight {
			// The USING column is COALESCE(left, right) (RIGHT: the right's).
			merged := sources{}
			if typ == ast.JoinFull {
				merged.merge(ls.through(Expression, false))
				merged.merge(rs.through(Expression, false))
			} else {
				merged.merge(rs)
			}
			for _, r := range left {
				for i, c := range r.cols {
					if strings.EqualFold(c.name, name) {
						r.cols[i].src = merged
					}
				}
			}
		}
	}
	if typ == ast.JoinSemi || typ == ast.JoinAnti {
		return left, nil // only the left side's columns come out
	}
	return both.rels, nil
}

func (s *scope) has(name string) bool {
	for _, r := range s.rels {
		if c, ok := r.col(name, false); ok && !r.opaque && c.src != nil {
			return true
		}
	}
	return false
}

// star expands `*`, `t.*` and COLUMNS('regex') with EXCLUDE, REPLACE and
// RENAME.
func (b *binder) star(sc *scope, e ast.Node, env *ctes) ([]column, error) {
	rels := sc.rels
	qualified := false
	if rn := e.Str("relation_name"); rn != "" {
		qualified = true
		rels = slices.DeleteFunc(slices.Clone(rels), func(r *relation) bool { return !r.qualifies(strings.Split(rn, ".")) })
		if len(rels) == 0 {
			return nil, fmt.Errorf("%w: %s.* names no FROM item", ErrUnsupported, rn)
		}
	}
	var match *regexp.Regexp
	if cols, _ := e["columns"].(bool); cols {
		x := e.Child("expr")
		switch {
		case x == nil || x.Class() == ast.ClassStar:
		case x.Class() == ast.ClassConstant:
			pattern, _ := x.Child(ast.FieldValue)[ast.FieldValue].(string)
			re, err := regexp.Compile(pattern)
			if err != nil {
				return nil, fmt.Errorf("%w: COLUMNS pattern %q: %v", ErrUnsupported, pattern, err)
			}
			match = re
		default:
			return nil, fmt.Errorf("%w: COLUMNS over an expression", ErrUnsupported)
		}
	}
	type qualifiedName struct{ table, column string }
	var excluded []qualifiedName
	for _, x := range asList(e["exclude_list"]) {
		if s, ok := x.(string); ok {
			excluded = append(excluded, qualifiedName{column: s})
		}
	}
	for _, x := range ast.Nodes(e["qualified_exclude_list"]) {
		excluded = append(excluded, qualifiedName{table: x.Str("table"), column: x.Str("column")})
	}
	renames := map[string]string{}
	for _, x := range ast.Nodes(e["rename_list"]) {
		if v, ok := x["value"].(string); ok {
			renames[strings.ToLower(x.Child("key").Str("column"))] = v
		}
	}
	var out []column
	for _, r := range rels {
		if r.opaque && len(r.cols) == 0 {
			return nil, fmt.Errorf("%w: * over a table function", ErrUnsupported)
		}
		for _, c := range r.cols {
			if !qualified && r.hidden[strings.ToLower(c.name)] {
				continue
			}
			if slices.ContainsFunc(excluded, func(x qualifiedName) bool {
				return strings.EqualFold(x.column, c.name) && (x.table == "" || r.qualifies(strings.Split(x.table, ".")))
			}) {
				continue
			}
			if match != nil && !match.MatchString(c.name) {
				continue
			}
			if to, ok := renames[strings.ToLower(c.name)]; ok {
				c.name = to
			}
			out = append(out, c)
		}
	}
	for _, x := range ast.Nodes(e["replace_list"]) {
		name := x.Str("key")
		i := slices.IndexFunc(out, func(c column) bool { return strings.EqualFold(c.name, name) })
		if i < 0 {
			continue
		}
		src, err := b.expr(sc, x.Child("value"), env)
		if err != nil {
			return nil, err
		}
		out[i].src = src
	}
	return out, nil
}

// expr binds an expression: the sources of its value. Windows' keys and
// subqueries' filters are recorded as indirect edges on the way.
func (b *binder) expr(sc *scope, e ast.Node, env *ctes) (sources, error) {
	switch e.Class() {
	case ast.ClassColumnRef:
		names := e.ColumnNames()
		for s := sc; s != nil; s = s.outer {
			if src, ok := s.lookup(names); ok {
				return src, nil
			}
		}
		return nil, fmt.Errorf("%w: column %s not resolved", ErrUnsupported, strings.Join(names, "."))
	case ast.ClassConstant, ast.ClassParameter:
		return sources{}, nil
	case ast.ClassStar:
		return nil, fmt.Errorf("%w: * inside an expression", ErrUnsupported)
	case ast.ClassFunction:
		k := Expression
		if b.opts.Aggregate(e.FunctionName()) {
			k = Aggregate
		}
		return b.children(sc, e, k, env)
	case ast.ClassWindow:
		keys := sources{}
		for _, p := range e.Children("partitions") {
			src, err := b.expr(sc, p, env)
			if err != nil {
				return nil, err
			}
			keys.merge(src)
		}
		for _, o := range e.Children(ast.FieldOrders) {
			src, err := b.expr(sc, o.Child("expression"), env)
			if err != nil {
				return nil, err
			}
			keys.merge(src)
		}
		b.addIndirect(keys, Window, false)
		k := Expression // lead, lag, first_value…: another row's value
		if e.Type() == "WINDOW_AGGREGATE" {
			k = Aggregate
		}
		return b.children(sc, e, k, env, "partitions", ast.FieldOrders)
	case ast.ClassSubquery:
		cols, err := b.query(e.Child(ast.FieldSubquery).Child(ast.FieldNode), sc, env)
		if err != nil {
			return nil, err
		}
		out := sources{}
		switch e.Str("subquery_type") {
		case "SCALAR":
			for _, c := range cols {
				out.merge(c.src)
			}
		case "ANY":
			for _, c := range cols {
				out.merge(c.src.through(Expression, false))
			}
			if c := e.Child(ast.FieldChild); c != nil {
				src, err := b.expr(sc, c, env)
				if err != nil {
					return nil, err
				}
				out.merge(src.through(Expression, false))
			}
		default: // EXISTS, NOT_EXISTS: only the subquery's filters matter
		}
		return out, nil
	case ast.ClassLambda:
		params := &relation{}
		ast.Walk(e.Child("lhs"), func(x ast.Node) {
			if x.Class() == ast.ClassColumnRef {
				params.cols = append(params.cols, column{name: x.ColumnNames()[0], src: sources{}})
			}
		})
		src, err := b.expr(&scope{rels: []*relation{params}, outer: sc}, e.Child("expr"), env)
		return src.through(Expression, false), err
	}
	return b.children(sc, e, Expression, env)
}

// children binds every expression under e (skipping fields skip) and
// returns their sources through kind k.
func (b *binder) children(sc *scope, e ast.Node, k Kind, env *ctes, skip ...string) (sources, error) {
	out := sources{}
	var visit func(v any) error
	visit = func(v any) error {
		switch v := v.(type) {
		case ast.Node:
			if v.Class() != "" {
				src, err := b.expr(sc, v, env)
				if err != nil {
					return err
				}
				out.merge(src.through(k, false))
				return nil
			}
			for _, c := range v {
				if err := visit(c); err != nil {
					return err
				}
			}
		case []any:
			for _, c := range v {
				if err := visit(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for f, c := range e {
		if slices.Contains(skip, f) {
			continue
		}
		if err := visit(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}
