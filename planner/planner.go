package planner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

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
	}
}

// Plan parses sql, resolves its tables and plans its fragments.
func (p *Planner) Plan(ctx context.Context, sql string) (*Plan, error) {
	stmt, err := p.parse(ctx, sql)
	if err != nil {
		return nil, err
	}
	refs := tableRefs(stmt.node)
	plan := &Plan{SQL: sql, Params: stmt.params}
	tables := map[storage.TableName]*storage.Table{}
	for _, ref := range refs {
		if _, ok := tables[ref.name]; ok {
			continue
		}
		t, err := p.opts.Catalog.Table(ctx, ref.name)
		if err != nil {
			if errors.Is(err, storage.ErrTableNotFound) {
				return nil, fmt.Errorf("table %s does not exist: %w", ref.display, ErrTableNotFound)
			}
			return nil, fmt.Errorf("resolve table %s: %w", ref.display, err)
		}
		tables[ref.name] = t
		plan.Tables = append(plan.Tables, t)
	}

	for _, ref := range refs {
		normalize(ref)
	}
	saved := limitZero(stmt.node)
	if plan.Probe, err = p.render(ctx, stmt); err != nil {
		return nil, err
	}
	stmt.node["modifiers"] = saved
	for _, ref := range refs {
		fn, err := p.readParquet(tables[ref.name])
		if err != nil {
			return nil, err
		}
		replace(ref.node, tableFunction(ref.node, fn))
	}
	fragSQL, err := p.render(ctx, stmt)
	if err != nil {
		return nil, err
	}
	plan.Fragments = []Fragment{{SQL: fragSQL}}
	p.fragments.Add(1)
	p.fallbacks.WithLabelValues("not_distributed_yet").Inc()
	p.logger.Debug("query planned", "tables", len(plan.Tables), "fragments", len(plan.Fragments))
	return plan, nil
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
			return nil, fmt.Errorf("%w: only read-only queries (SELECT, WITH, VALUES) are served", ErrUnsupported)
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
