package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

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
	ErrSyntax = errors.New("invalid SQL")
	// ErrUnsupported is a statement kind Quiver does not run (only read-only queries are served).
	ErrUnsupported = errors.New("unsupported statement")
	// ErrTableNotFound is a reference to a table the warehouse does not have.
	ErrTableNotFound = errors.New("table not found")
	// ErrRefused is a statement the sandbox does not allow (files, settings,
	// DuckDB's own catalog, statements that are not read-only queries).
	ErrRefused = errors.New("refused")
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
	// Logger receives planning decisions; nil discards them.
	Logger *slog.Logger
	// Registerer receives the planner's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Planner plans queries.
type Planner struct {
	opts      Options
	logger    *slog.Logger
	fragments prometheus.Counter
	fallbacks *prometheus.CounterVec
	pruned    prometheus.Counter

	kindsOnce sync.Mutex
	kinds     map[string]string
}

// New returns a planner.
func New(opts Options) *Planner {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := promauto.With(opts.Registerer)
	return &Planner{
		opts:   opts,
		logger: logger,
		fragments: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_planner_fragments_total", Help: "Fragments planned.",
		}),
		fallbacks: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_planner_fallback_total", Help: "Queries planned as a single fragment, by reason.",
		}, []string{"reason"}),
		pruned: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_planner_pruned_files_total", Help: "Files removed at planning time by partition values and footer statistics.",
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
	query, explain := stripExplain(sql)
	stmt, err := p.parse(ctx, query)
	if err != nil {
		return nil, err
	}
	if err := p.sandbox(ctx, stmt); err != nil {
		return nil, err
	}
	refs := tableRefs(stmt.node)
	plan := &Plan{SQL: sql, Params: stmt.params, Explain: explain}
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
	if err := p.applyPolicy(ctx, refs); err != nil {
		return nil, err
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
	files, err := p.pruneRefs(ctx, stmt.node, refs, &plan.Decisions)
	if err != nil {
		return nil, err
	}

	for _, ref := range refs {
		normalize(ref)
	}
	saved := limitZero(stmt.node)
	if plan.Probe, err = p.render(ctx, stmt); err != nil {
		return nil, err
	}
	stmt.node["modifiers"] = saved

	sh, split, err := p.distribute(ctx, stmt, refs, files, plan)
	var fb fallback
	switch {
	case errors.As(err, &fb):
		plan.Decisions.Strategy, plan.Decisions.Fallback = strategySingle, fb.reason
		key, _, _ := strings.Cut(fb.reason, ":")
		p.fallbacks.WithLabelValues(key).Inc()
		sh, split = &shape{strategy: strategySingle, partial: func(node) {}}, -1
	case err != nil:
		return nil, err
	default:
		plan.Decisions.Strategy = sh.strategy
	}

	groups := []FileGroup{{}}
	if split >= 0 {
		groups = p.opts.Partitioner.Partition(files[split])
		plan.Decisions.Split = refs[split].name.String()
	}
	for i, ref := range refs {
		if i != split && !slices.Contains(plan.Decisions.Broadcast, ref.name.String()) && split >= 0 {
			plan.Decisions.Broadcast = append(plan.Decisions.Broadcast, ref.name.String())
		}
	}
	for _, g := range groups {
		frag, err := p.fragment(ctx, stmt, refs, files, split, g, sh)
		if err != nil {
			return nil, err
		}
		plan.Fragments = append(plan.Fragments, frag)
	}
	p.fragments.Add(float64(len(plan.Fragments)))
	p.logger.Debug("query planned", "strategy", plan.Decisions.Strategy, "fallback", plan.Decisions.Fallback,
		"tables", len(plan.Tables), "fragments", len(plan.Fragments))
	return plan, nil
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
			t, err := p.opts.Catalog.Table(ctx, ref.name)
			switch {
			case errors.Is(err, storage.ErrTableNotFound):
				errs[i] = fmt.Errorf("table %s does not exist: %w", ref.display, ErrTableNotFound)
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
	stmt.node["modifiers"] = saved
	for _, ref := range refs {
		ref.node["schema_name"] = ""
		ref.node["table_name"] = LocalTableName(ref.table.Name)
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
			fs = ref.table.Files[:1]
		}
		fn, err := p.readParquet(ref.table, fs)
		if err != nil {
			return Fragment{}, err
		}
		replace(copies[i], tableFunction(copies[i], fn))
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

// copyWithRefs deep-copies a statement and finds, in the copy, the nodes
// that correspond to refs.
func copyWithRefs(stmt *statement, refs []tableRef) (env, root node, copies []node) {
	const mark = "\x00ref"
	for i, r := range refs {
		r.node[mark] = i
	}
	env = cloneNode(stmt.envelope)
	for _, r := range refs {
		delete(r.node, mark)
	}
	copies = make([]node, len(refs))
	walk(env, func(n node) {
		if i, ok := n[mark].(int); ok {
			copies[i] = n
			delete(n, mark)
		}
	})
	stmts, _ := env["statements"].([]any)
	root = asNode(asNode(stmts[0])["node"])
	return env, root, copies
}

// statement is one parsed SELECT with the envelope json_deserialize_sql needs.
type statement struct {
	envelope node // {"error": false, "statements": [stmt]}
	node     node // the statement's "node"
	params   int
}

func (p *Planner) parse(ctx context.Context, sql string) (*statement, error) {
	raw, err := p.opts.Parser.Serialize(ctx, sql)
	if err != nil {
		return nil, err
	}
	env, err := decodeTree(raw)
	if err != nil {
		return nil, err
	}
	if failed, _ := env["error"].(bool); failed {
		msg := str(env, "error_message")
		if str(env, "error_type") == "parser" {
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
	stmts, _ := env["statements"].([]any)
	switch len(stmts) {
	case 0:
		return nil, fmt.Errorf("%w: empty query", ErrSyntax)
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d statements; send one statement per query", ErrUnsupported, len(stmts))
	}
	s, _ := stmts[0].(node)
	root, _ := s["node"].(node)
	if root == nil {
		return nil, fmt.Errorf("%w: statement without a query node", ErrUnsupported)
	}
	params := 0
	walk(root, func(n node) {
		if str(n, "class") == "PARAMETER" {
			params++
		}
	})
	if m, ok := s["named_param_map"].([]any); ok && len(m) > 0 {
		params = len(m)
	}
	return &statement{envelope: env, node: root, params: params}, nil
}

func (p *Planner) render(ctx context.Context, s *statement) (string, error) {
	b, err := json.Marshal(s.envelope)
	if err != nil {
		return "", fmt.Errorf("encode statement tree: %w", err)
	}
	return p.opts.Parser.Deserialize(ctx, b)
}
