package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// CatalogName is the one catalog Quiver serves; `quiver.<schema>.<table>`
// and `<schema>.<table>` name the same table.
const CatalogName = "quiver"

// DefaultSchema is where unqualified table names are looked up, as in DuckDB.
const DefaultSchema = "main"

// Sentinel errors of the planner; flightserver maps them to gRPC codes.
var (
	// ErrSyntax is a statement DuckDB's parser rejects.
	ErrSyntax = errkind.New(errkind.Invalid, "invalid SQL")
	// ErrUnsupported is a statement kind Quiver does not run (only read-only queries are served).
	ErrUnsupported = errkind.New(errkind.Invalid, "unsupported statement")
	// ErrTableNotFound is a reference to a table the warehouse does not have.
	ErrTableNotFound = errkind.New(errkind.NotFound, "table not found")
	// ErrRefused is a statement the sandbox does not allow (files, settings,
	// DuckDB's own catalog, statements that are not read-only queries).
	ErrRefused = errkind.New(errkind.PermissionDenied, "refused")
)

// Parser is DuckDB's parser: SQL to statement tree and back.
type Parser interface {
	Serialize(ctx context.Context, sql string) ([]byte, error)
	Deserialize(ctx context.Context, tree []byte) (string, error)
}

// Catalog resolves a table to its pinned snapshot.
type Catalog interface {
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// SnapshotCatalog is a Catalog whose tables may have several snapshots
// (Iceberg): TableAt resolves a reference with an AT clause. A table
// without snapshots answers ErrTimeTravel.
type SnapshotCatalog interface {
	TableAt(ctx context.Context, name storage.TableName, at storage.AsOf) (*storage.Table, error)
}

// TypeNamer names the DuckDB type of an Arrow column type.
type TypeNamer func(t arrowType) (string, error)

// Options configure a Planner.
type Options struct {
	Parser  Parser
	Catalog Catalog
	// TypeName names Hive partition column types for read_parquet's hive_types.
	TypeName TypeNamer
	// Partitioner splits a table's files into groups, one fragment each; nil
	// puts all files in one group (no distribution).
	Partitioner Partitioner
	// Typer types statements against the shadow catalog; distribution
	// needs it to name merge columns and to check that a merge returns
	// exactly the types of the single-node query. nil disables distribution.
	Typer Typer
	// Functions tells scalar from aggregate functions; nil disables distribution.
	Functions Functions
	// Policy restricts tables per principal; nil grants everything.
	Policy Policy
	// Footers gives Parquet footer statistics for pruning; nil disables
	// min/max pruning (Hive partition pruning still applies).
	Footers Footers
	// BroadcastRows and BroadcastBytes are the sizes, in rows or in the
	// bytes of its (pruned) files, from which a table the split table
	// joins on equal keys is hash-partitioned with it (an exchange)
	// instead of read whole by every fragment; 0 disables either.
	BroadcastRows  int64
	BroadcastBytes int64
	// BroadcastBytesFor, when set, gives the bytes threshold in place of
	// BroadcastBytes at every plan (remote workers' memory, which they
	// report and may change).
	BroadcastBytesFor func(ctx context.Context) int64
	// FinalGroups is the estimated number of groups from which a grouped
	// aggregate finishes on the workers, its partials hash-partitioned on
	// the group keys (FinalAggregate), instead of merged on the
	// coordinator; 0 never does.
	FinalGroups int64
	// CorrelatedStageRows is the size, in rows of its largest table, from
	// which a correlated scalar subquery of a split statement is computed
	// grouped on its keys as a stage (scalar.go) instead of by every
	// fragment; EagerStageRows the size of the table a grouped derived
	// table joins only to aggregate it from which it is aggregated first,
	// as a stage (eager.go). Below them a stage's rounds cost more than
	// the scans they save. 0 always stages.
	CorrelatedStageRows, EagerStageRows int64
	// NoCoLocation reads every broadcast table whole in every fragment,
	// even where footer ranges say which of its files a fragment needs
	// (colocate.go).
	NoCoLocation bool
	// Logger receives planning decisions; nil discards them.
	Logger *slog.Logger
	// Registerer receives the planner's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Planner plans queries.
type Planner struct {
	opts           Options
	logger         *slog.Logger
	fragmentsTotal prometheus.Counter
	fallbacks      *prometheus.CounterVec
	pruned         prometheus.Counter
	finals         *prometheus.CounterVec
	stages         prometheus.Counter
	unbound        prometheus.Counter

	kindsOnce sync.Mutex
	kinds     map[string]string
	volatile  map[string]bool
}

// New returns a planner.
func New(opts Options) *Planner {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := promauto.With(opts.Registerer)
	return &Planner{
		opts:   opts,
		logger: logger,
		fragmentsTotal: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_planner_fragments_total", Help: "Fragments planned.",
		}),
		fallbacks: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_planner_fallback_total", Help: "Queries planned as a single fragment, by reason.",
		}, []string{"reason"}),
		pruned: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_planner_pruned_files_total", Help: "Files removed at planning time by partition values and footer statistics.",
		}),
		finals: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_planner_final_aggregates_total",
			Help: "Grouped aggregates finished away from the coordinator: on workers after an exchange of their partials (workers), or in the fragments because they group on an exchanged key or on a column no two files of the split table share a value of (fragments).",
		}, []string{"where"}),
		stages: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_planner_stages_total",
			Help: "Subqueries (CTEs, subqueries, set operations' branches) planned as stages of their own: distributed, their results spooled for the rest of the query.",
		}),
		unbound: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_lineage_unbound_total",
			Help: "Queries whose column lineage could not be derived: they ran, and system.lineage has no rows for them.",
		}),
	}
}

// Plan parses sql, resolves its tables and plans its fragments.
func (p *Planner) Plan(ctx context.Context, sql string) (*Plan, error) {
	return p.plan(ctx, sql, false)
}

// Type plans sql only as far as its result's schema needs: the statement
// is parsed, checked against the sandbox and the policy, and its Probe and
// Tables are set, but files are not pruned and no fragments are planned
// (the plan cannot run). GetSchema uses it: clients that type a query
// before fetching it (the Python client's conn.sql) then pay for the
// distribution once.
func (p *Planner) Type(ctx context.Context, sql string) (*Plan, error) {
	return p.plan(ctx, sql, true)
}

func (p *Planner) plan(ctx context.Context, sql string, typeOnly bool) (*Plan, error) {
	query, explain, analyze := stripExplain(sql)
	stmt, err := p.parse(ctx, query)
	if err != nil {
		return nil, err
	}
	if err := p.sandbox(ctx, stmt); err != nil {
		return nil, err
	}
	refs := tableRefs(stmt.node)
	plan := &Plan{SQL: sql, Params: stmt.params, ParamNames: stmt.paramNames, Explain: explain, Analyze: analyze}
	tables, err := p.resolve(ctx, refs)
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if t := tables[ref.name]; !slices.Contains(plan.Tables, t) {
			plan.Tables = append(plan.Tables, t)
		}
	}
	virtual := 0
	for i := range refs {
		refs[i].table = tables[refs[i].name]
		if refs[i].table.Virtual {
			virtual++
		}
	}
	if virtual > 0 {
		if virtual < len(refs) {
			return nil, fmt.Errorf("%w: system tables cannot be combined with warehouse tables in one query", ErrUnsupported)
		}
		return p.planLocal(ctx, stmt, refs, plan)
	}
	restrictions, err := p.applyPolicy(ctx, refs)
	if err != nil {
		return nil, err
	}
	if !typeOnly {
		plan.Lineage = p.lineage(ctx, stmt.node, refs)
		// The key is only worth its cost to a caller with a cache.
		if probe, ok := ctx.Value(resultProbeKey{}).(func(string) bool); ok && !explain {
			plan.CacheKey = p.cacheKey(ctx, stmt, restrictions, plan)
			if plan.CacheKey != "" && probe(plan.CacheKey) {
				plan.Hit = true // the result is cached: nothing to distribute
				return plan, nil
			}
		}
	}
	if typeOnly && !explain {
		for _, ref := range refs {
			normalize(ref)
		}
		limitZero(stmt.node)
		var err error
		plan.Probe, err = p.render(ctx, stmt)
		return plan, err
	}
	if err := p.planStatement(ctx, stmt, refs, plan, 0); err != nil {
		return nil, err
	}
	return plan, nil
}

// planStatement distributes a resolved statement whose references the
// policy has rewritten: the query's, or (depth > 0) a subquery planned as a
// stage of it.
func (p *Planner) planStatement(ctx context.Context, stmt *statement, refs []tableRef, plan *Plan, depth int) error {
	files, err := p.pruneRefs(ctx, stmt.node, refs, &plan.Decisions)
	if err != nil {
		return err
	}

	for _, ref := range refs {
		normalize(ref)
	}
	saved := limitZero(stmt.node)
	if plan.Probe, err = p.render(ctx, stmt); err != nil {
		return err
	}
	stmt.node[ast.FieldModifiers] = saved
	p.nameSubqueryColumns(ctx, stmt.node, plan.Tables, plan.Probe)

	sh, split, err := p.distribute(ctx, stmt, refs, files, plan, depth)
	var fb fallback
	switch {
	case errors.As(err, &fb):
		staged, err := p.planStages(ctx, stmt, refs, files, plan, fb, depth)
		if err != nil || staged {
			return err
		}
		plan.Decisions.Strategy, plan.Decisions.Fallback = strategySingle, fb.Error()
		if depth == 0 {
			p.fallbacks.WithLabelValues(string(fb.reason)).Inc()
		}
		sh, split = &shape{strategy: strategySingle, partial: func(node) {}}, -1
	case err != nil:
		return err
	default:
		plan.Decisions.Strategy = sh.strategy
	}

	groups := []FileGroup{{}}
	if split >= 0 {
		groups = p.opts.Partitioner.Partition(files[split])
		plan.Decisions.Split = refs[split].name.String()
	}
	var exchanged []int
	var d *dist
	if split >= 0 && len(groups) > 1 {
		kinds, err := p.loadKinds(ctx)
		if err != nil {
			return err
		}
		d = &dist{kinds: kinds}
		if sh.keyedOn != "" {
			exchanged, err = p.planKeyed(ctx, d, stmt, refs, files, split, groups, sh, plan)
		} else {
			exchanged, err = p.planExchange(ctx, d, stmt, refs, files, split, groups, sh, plan)
		}
		if err != nil {
			return err
		}
	}
	if plan.needsExchange && exchanged == nil && split >= 0 {
		// A side of a FULL join is split only with its partner exchanged.
		fb := fallback{reason: ReasonNoSplittableTable}
		plan.Decisions = Decisions{Strategy: strategySingle, Fallback: fb.Error(), Files: plan.Decisions.Files, Pruned: plan.Decisions.Pruned}
		p.fallbacks.WithLabelValues(string(fb.reason)).Inc()
		sh, split, groups, plan.Merge, d = &shape{strategy: strategySingle, partial: func(node) {}}, -1, []FileGroup{{}}, nil, nil
	}
	if d != nil && exchanged == nil && sh.strategy == strategyAggregate && len(sh.groups) > 0 && !sh.groupingSets {
		key, err := p.disjointGroups(ctx, stmt.node, refs, files, split, sh.groups)
		if err != nil {
			return err
		}
		if key != "" {
			if err := p.wholeGroups(ctx, d, stmt, sh, plan, key); err != nil {
				return err
			}
		}
	}
	var colo []colocation
	var bySplit map[string]map[string]span
	if d != nil && exchanged == nil && !p.opts.NoCoLocation {
		if colo, bySplit, err = p.colocated(ctx, stmt.node, refs, files, split); err != nil {
			return err
		}
	}
	fragments := func(ctx context.Context) ([]Fragment, map[int]bool, error) {
		return p.fragments(ctx, stmt, refs, files, split, groups, sh, colo, bySplit)
	}
	narrowed := map[int]bool{}
	if exchanged == nil { // otherwise the fragments wait for the exchanges (Plan.Bind)
		frags, n, err := fragments(ctx)
		if err != nil {
			return err
		}
		plan.Fragments, narrowed = append(plan.Fragments, frags...), n
	}
	for _, c := range colo {
		if narrowed[c.ref] {
			plan.Decisions.CoLocated = append(plan.Decisions.CoLocated, c.describe(refs, split))
		}
	}
	for i, ref := range refs {
		name := ref.name.String()
		if i != split && split >= 0 && !slices.Contains(exchanged, i) && !narrowed[i] && !slices.Contains(plan.Decisions.Broadcast, name) {
			plan.Decisions.Broadcast = append(plan.Decisions.Broadcast, name)
		}
	}
	if d != nil {
		if err := p.planFinal(ctx, d, stmt, refs, files, split, sh, plan); err != nil {
			return err
		}
		switch {
		case plan.Final != nil:
			p.finals.WithLabelValues("workers").Inc()
		case plan.Decisions.Final != "":
			p.finals.WithLabelValues("fragments").Inc()
		}
	}
	if exchanged == nil && plan.Final == nil && plan.staging == nil && len(plan.Fragments) > 1 {
		// A subquery read by the split key's ranges in each fragment
		// needs no stage: its share of the work is already the
		// fragment's.
		local := func(q node) bool {
			return slices.ContainsFunc(colo, func(c colocation) bool {
				return c.sub && narrowed[c.ref] && c.once(files[c.ref], groups, bySplit[c.splitKey]) &&
					ast.Contains(q, false, func(n node) bool { return sameNode(n, refs[c.ref].node) })
			})
		}
		if err := p.stageFilters(ctx, stmt, refs, split, plan, depth, fragments, local); err != nil {
			return err
		}
	}
	p.fragmentsTotal.Add(float64(len(plan.Fragments)))
	p.logger.Debug("query planned", "strategy", plan.Decisions.Strategy, "fallback", plan.Decisions.Fallback,
		"tables", len(plan.Tables), "fragments", len(plan.Fragments))
	return nil
}

// nameSubqueryColumns names each unnamed select-list expression of root
// that holds a subquery as the probe's result names it. DuckDB names such
// a column by the expression's text, subquery included, so a fragment,
// whose table references read files, would name it by those files: the
// client would see server paths, and a schema other than the one
// announced. With the name set as an alias every rendering keeps it. A
// probe that does not type without its parameters is left as it is.
func (p *Planner) nameSubqueryColumns(ctx context.Context, root node, tables []*storage.Table, probe string) {
	if root.Type() != ast.SelectNode || p.opts.Typer == nil {
		return
	}
	list := ast.Nodes(root[ast.FieldSelectList])
	unnamed := func(e node) bool {
		return e.Alias() == "" && ast.Contains(e, false, func(n node) bool { return n.Class() == ast.ClassSubquery })
	}
	if slices.ContainsFunc(list, func(e node) bool { return e.Class() == ast.ClassStar }) || !slices.ContainsFunc(list, unnamed) {
		return
	}
	sc, err := p.opts.Typer.Schema(ctx, tables, probe, nil)
	if err != nil || sc.NumFields() != len(list) {
		return
	}
	for i, e := range list {
		if unnamed(e) {
			e[ast.FieldAlias] = sc.Field(i).Name
		}
	}
}

// resolve looks every distinct table of refs up in the catalog at once:
// each lookup lists the table's files (an S3 LIST) and reads the footers
// it has not cached, so a five-table TPC-H query waited for five listings
// in a row. The error reported is the first in statement order.
func (p *Planner) resolve(ctx context.Context, refs []tableRef) (map[storage.TableName]*storage.Table, error) {
	var distinct []tableRef
	for _, ref := range refs {
		if !slices.ContainsFunc(distinct, func(d tableRef) bool { return d.name == ref.name }) {
			distinct = append(distinct, ref)
		}
	}
	found := make([]*storage.Table, len(distinct))
	errs := make([]error, len(distinct))
	var wg sync.WaitGroup
	for i, ref := range distinct {
		wg.Go(func() {
			t, err := p.table(ctx, ref)
			switch {
			case ref.atErr != nil:
				errs[i] = ref.atErr
			case errors.Is(err, ErrTimeTravel), errors.Is(err, ErrSnapshotNotFound):
				errs[i] = fmt.Errorf("table %s: %w", ref.display, err)
			case errors.Is(err, storage.ErrTableNotFound):
				errs[i] = fmt.Errorf("table %s does not exist: %w%s", ref.display, ErrTableNotFound, didYouMean(p.suggest(ctx, ref.base)))
			case err != nil:
				errs[i] = fmt.Errorf("resolve table %s: %w", ref.display, err)
			}
			found[i] = t
		})
	}
	wg.Wait()
	tables := make(map[storage.TableName]*storage.Table, len(distinct))
	for i, ref := range distinct {
		if errs[i] != nil {
			return nil, errs[i]
		}
		tables[ref.name] = found[i]
	}
	return tables, nil
}

// LocalTableName is the coordinator's name for virtual table n while a
// local plan runs: "quiver_system.queries" → "quiver_system_queries".
func LocalTableName(n storage.TableName) string { return n.Schema + "_" + n.Name }

// planLocal plans a query of virtual tables only: one fragment the
// coordinator runs over their rows. The catalog names virtual tables under
// an internal schema, so the probe types them against the shadow catalog
// without colliding with DuckDB's own "system" catalog.
func (p *Planner) planLocal(ctx context.Context, stmt *statement, refs []tableRef, plan *Plan) (*Plan, error) {
	for i := range refs {
		refs[i].name = refs[i].table.Name
		normalize(refs[i])
	}
	saved := limitZero(stmt.node)
	probe, err := p.render(ctx, stmt)
	if err != nil {
		return nil, err
	}
	stmt.node[ast.FieldModifiers] = saved
	for _, ref := range refs {
		ref.node[ast.FieldSchemaName] = ""
		ref.node[ast.FieldTableName] = LocalTableName(ref.table.Name)
	}
	sql, err := p.render(ctx, stmt)
	if err != nil {
		return nil, err
	}
	plan.Probe = probe
	plan.Local = true
	plan.Fragments = []Fragment{{SQL: sql}}
	plan.Decisions.Strategy = "system"
	return plan, nil
}

// fragment renders the statement one fragment runs: the split reference
// reads the group's files, every other reference all of its (pruned) files,
// and the shape's partial rewrite is applied.
func (p *Planner) fragment(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, split int, g FileGroup, sh *shape) (Fragment, error) {
	env, root, copies := copyWithRefs(stmt, refs)
	for i, ref := range refs {
		fs := files[i]
		if i == split {
			fs = g.Files
		}
		if len(fs) == 0 {
			// Everything was pruned: read one file and let the filter
			// remove its rows, so the statement stays valid.
			fs = firstFile(ref.table)
		}
		src, err := p.source(copies[i], ref.table, fs)
		if err != nil {
			return Fragment{}, err
		}
		copies[i].Replace(src)
	}
	sh.partial(root)
	if sh.merge == nil {
		stabilize(root)
	}
	sql, err := p.render(ctx, &statement{envelope: env, node: root})
	if err != nil {
		return Fragment{}, err
	}
	f := Fragment{SQL: sql, Group: g.Label}
	if split >= 0 {
		f.Files = len(g.Files)
	}
	return f, nil
}

// fragments renders one fragment per file group of the split table, each
// broadcast table co-located where it can be; references no longer in the
// statement (subqueries that became stages) read nothing. It also reports
// which references co-location narrowed.
func (p *Planner) fragments(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, split int,
	groups []FileGroup, sh *shape, colo []colocation, bySplit map[string]map[string]span) ([]Fragment, map[int]bool, error) {
	var keep []int
	for i, r := range refs {
		if ast.Contains(stmt.node, false, func(n node) bool { return sameNode(n, r.node) }) {
			keep = append(keep, i)
		}
	}
	narrowed := map[int]bool{}
	var out []Fragment
	for _, g := range groups {
		gf := files
		if len(colo) > 0 {
			gf = slices.Clone(files)
			for _, c := range colo {
				fs, dropped := c.narrow(files[c.ref], g.Files, bySplit[c.splitKey])
				gf[c.ref] = fs
				narrowed[c.ref] = narrowed[c.ref] || dropped
			}
		}
		kRefs, kFiles, kSplit := make([]tableRef, len(keep)), make([][]storage.File, len(keep)), -1
		for j, i := range keep {
			kRefs[j], kFiles[j] = refs[i], gf[i]
			if i == split {
				kSplit = j
			}
		}
		frag, err := p.fragment(ctx, stmt, kRefs, kFiles, kSplit, g, sh)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, frag)
	}
	return out, narrowed, nil
}

// copyWithRefs deep-copies a statement and finds, in the copy, the nodes
// that correspond to refs.
func copyWithRefs(stmt *statement, refs []tableRef) (env, root node, copies []node) {
	const mark = "\x00ref"
	for i, r := range refs {
		r.node[mark] = i
	}
	env = stmt.envelope.Copy()
	for _, r := range refs {
		delete(r.node, mark)
	}
	copies = make([]node, len(refs))
	ast.Walk(env, func(n node) {
		if i, ok := n[mark].(int); ok {
			copies[i] = n
			delete(n, mark)
		}
	})
	stmts, _ := env[ast.FieldStatements].([]any)
	root = ast.AsNode(ast.AsNode(stmts[0])["node"])
	return env, root, copies
}

// statement is one parsed SELECT with the envelope json_deserialize_sql needs.
type statement struct {
	// raw is the parser's serialized tree the statement was decoded
	// from (shared with the parser's memo: never modified).
	raw      []byte
	envelope node // {"error": false, ast.FieldStatements: [stmt]}
	node     node // the statement's "node"
	params   int
	// paramNames name the parameters in binding order ("$1", "$name").
	paramNames []string
}

func (p *Planner) parse(ctx context.Context, sql string) (*statement, error) {
	raw, err := p.opts.Parser.Serialize(ctx, sql)
	if err != nil {
		return nil, err
	}
	env, err := ast.Decode(raw)
	if err != nil {
		return nil, err
	}
	if failed, _ := env["error"].(bool); failed {
		msg := env.Str("error_message")
		if env.Str("error_type") == "parser" {
			if pos, ok := env["position"].(json.Number); ok {
				return nil, fmt.Errorf("%w: %s (at position %s)", ErrSyntax, msg, pos)
			}
			return nil, fmt.Errorf("%w: %s", ErrSyntax, msg)
		}
		if strings.Contains(msg, "Only SELECT") {
			return nil, refuseStatement(sql)
		}
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, msg)
	}
	stmts, _ := env[ast.FieldStatements].([]any)
	switch len(stmts) {
	case 0:
		return nil, fmt.Errorf("%w: empty query", ErrSyntax)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d statements; send one statement per query", ErrUnsupported, len(stmts))
	}
	s, _ := stmts[0].(node)
	root, _ := s[ast.FieldNode].(node)
	if root == nil {
		return nil, fmt.Errorf("%w: statement without a query node", ErrUnsupported)
	}
	names := paramNames(s, root)
	return &statement{raw: raw, envelope: env, node: root, params: len(names), paramNames: names}, nil
}

// paramNames names a statement's parameters in binding order, as a client
// reads them: "$1" for the first `?` or `$1`, "$name" for `$name`.
// DuckDB's named_param_map gives each distinct name its index (a name
// used twice is one parameter); without it every PARAMETER node is one.
func paramNames(stmt, root ast.Node) []string {
	var names []string
	if m := ast.Nodes(stmt[ast.FieldNamedParams]); len(m) > 0 {
		type param struct {
			index int
			name  string
		}
		ps := make([]param, 0, len(m))
		for _, e := range m {
			i, _ := strconv.Atoi(fmt.Sprint(e[ast.FieldValue]))
			ps = append(ps, param{i, "$" + e.Str("key")})
		}
		slices.SortStableFunc(ps, func(a, b param) int { return a.index - b.index })
		for _, p := range ps {
			names = append(names, p.name)
		}
	} else {
		ast.Walk(root, func(n ast.Node) {
			if n.Class() == ast.ClassParameter {
				names = append(names, "")
			}
		})
	}
	for i, n := range names {
		if n == "" {
			names[i] = "$" + strconv.Itoa(i+1)
		}
	}
	return names
}

func (p *Planner) render(ctx context.Context, s *statement) (string, error) {
	b, err := json.Marshal(s.envelope)
	if err != nil {
		return "", fmt.Errorf("encode statement tree: %w", err)
	}
	return p.opts.Parser.Deserialize(ctx, b)
}
