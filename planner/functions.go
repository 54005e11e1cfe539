package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// Functions lists DuckDB's functions by name with their kind ("scalar",
// "aggregate", "macro", "table", …); *engine.DB is one.
type Functions interface {
	FunctionKinds(ctx context.Context) (map[string]string, error)
}

// decomposable aggregates: how the coordinator finishes what workers began.
var decomposable = map[string]bool{
	"count_star": true, "count": true, "sum": true, "min": true, "max": true,
	"avg": true, "mean": true, "bool_and": true, "bool_or": true,
	// A HyperLogLog keeps each register's largest rank: duplicates and
	// order change nothing, so the sketch of a group's distinct values is
	// the sketch of its rows. It merges as a DISTINCT aggregate does.
	"approx_count_distinct": true,
}

// plainExpressions checks that an expression tree (not descending into
// subqueries, which never read the split table's subset) holds only scalar
// functions DuckDB knows: no aggregates, no window functions, no macros or
// unknown functions whose nature the planner cannot see. It returns the
// fallback reason, or "".
func (d *dist) plainExpressions(v any) string {
	reason := ""
	ast.Contains(v, true, func(e node) bool {
		switch e.Class() {
		case ast.ClassWindow:
			reason = "window_function"
		case ast.ClassFunction:
			name := strings.ToLower(e.FunctionName())
			switch d.kinds[name] {
			case "scalar":
				return false
			case "aggregate":
				reason = "aggregate:" + name
			default:
				reason = "function:" + name
			}
		default:
			return false
		}
		return true
	})
	return reason
}

// dist holds what distribution decisions need.
type dist struct {
	kinds map[string]string
	// derived is the grouped derived table the split table sits in
	// (groupedDerived), checked already: the FROM clause it is may hold
	// aggregates.
	derived node
	// fromColumn reports whether a name is a column of a table in the
	// statement's top-level FROM, and whether that is certain (every
	// source there is a warehouse table without column aliases); nil
	// knows nothing.
	fromColumn func(name string) (column, certain bool)
	// listPartials lets holistic aggregates be partials of lists of
	// values (aggRewrite.addList): the last resort, when their groups
	// cannot be made whole.
	listPartials bool
	// constant reports whether a subquery of an aggregate's output
	// expressions (grouped on groups, under grouping sets when sets) has
	// the same value in every row of a group, which every fragment can
	// compute (Planner.constantSubquery); nil: none has.
	constant func(q node, groups []node, sets bool) bool
}

// loadKinds fetches the function catalog once.
func (p *Planner) loadKinds(ctx context.Context) (map[string]string, error) {
	p.kindsOnce.Lock()
	defer p.kindsOnce.Unlock()
	if p.kinds != nil {
		return p.kinds, nil
	}
	if p.opts.Functions == nil {
		return nil, fmt.Errorf("no function catalog")
	}
	k, err := p.opts.Functions.FunctionKinds(ctx)
	if err != nil {
		return nil, fmt.Errorf("load function catalog: %w", err)
	}
	// Operators and special forms DuckDB's parser emits as functions.
	for _, op := range []string{"+", "-", "*", "/", "//", "%", "**", "^", "||", "~~", "!~~", "~~*", "!~~*", "list_value", "struct_pack", "row"} {
		if _, ok := k[op]; !ok {
			k[op] = "scalar"
		}
	}
	p.kinds = k
	return k, nil
}
