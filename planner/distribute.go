package planner

import (
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// The strategies a plan can take.
const (
	strategyScan      = "scan"
	strategyAggregate = "aggregate"
	strategyTopK      = "topk"
	strategyDistinct  = "distinct"
	strategySingle    = "single"
	strategyStaged    = "staged"
	strategyWindow    = "window"
)

// shape is the distribution chosen for a statement: how each fragment's
// copy of the tree is rewritten and the merge statement that finishes it.
type shape struct {
	strategy string
	// groupingSets is set for an aggregate over several grouping sets
	// (ROLLUP, CUBE, GROUPING SETS): its partials group on every key and
	// the merge forms the sets, so no fragment's groups are ever whole.
	groupingSets bool
	// centered is set when the merge reads grand means of the partials
	// (moment aggregates): its sums cannot be split again by part.
	centered bool
	// keyedOn, when set, is the split table's column the plan must be
	// exchanged on (window functions partitioned by it): each fragment
	// then holds whole window partitions.
	keyedOn string
	// partial rewrites a fragment's copy of the root node in place.
	partial func(root node)
	// merge is the coordinator's statement node, nil for scans.
	merge node
	// groups, order and limit are an aggregate's group expressions and
	// the statement's ORDER BY and LIMIT modifiers (nil when absent).
	groups       []node
	order, limit node
	// distinct is the argument of an aggregate's DISTINCT aggregates
	// (the partials' d0), nil when it has none.
	distinct node
	// lists is set when some partials are lists of values (holistic
	// aggregates): the merge must not run on the coordinator.
	lists bool
}

// choose picks the strategy for a top-level SELECT whose split table is
// already chosen. names are the result's column names (from the probe).
func (d *dist) choose(root node, names []string) (*shape, error) {
	if t := root.Type(); t != ast.SelectNode {
		return nil, fallbackOf(ReasonStatement, strings.ToLower(t))
	}
	if root[ast.FieldQualify] != nil {
		return nil, fallbackOf(ReasonQualify)
	}
	if root[ast.FieldSample] != nil {
		return nil, fallbackOf(ReasonSample)
	}
	if h := root.Str(ast.FieldAggregateHandle); h != ast.StandardHandling && h != ast.ForceAggregates {
		return nil, fallbackOf(ReasonGroupByAll, strings.ToLower(h))
	}
	var distinct, order, limit node
	for _, m := range ast.Nodes(root[ast.FieldModifiers]) {
		switch m.Type() {
		case ast.DistinctModifier:
			if targets, _ := m["distinct_on_targets"].([]any); len(targets) > 0 {
				return nil, fallbackOf(ReasonDistinctOn)
			}
			distinct = m
		case ast.OrderModifier:
			order = m
		case ast.LimitModifier:
			limit = m
		default:
			return nil, fallbackOf(ReasonModifier, strings.ToLower(m.Type()))
		}
	}
	// Expressions evaluated per input row must be plain: they see only the
	// fragment's rows.
	if r := d.plainExpressions(root[ast.FieldWhere]); r != "" {
		return nil, fallbackOf(ReasonWhere, r)
	}
	if from := root.Child(ast.FieldFromTable); d.derived == nil || from.Child(ast.FieldSubquery).Child(ast.FieldNode) == nil ||
		!sameNode(from.Child(ast.FieldSubquery).Child(ast.FieldNode), d.derived) {
		if r := d.plainExpressions(root[ast.FieldFromTable]); r != "" {
			return nil, fallbackOf(ReasonJoinCondition, r)
		}
	}
	groups, _ := root[ast.FieldGroupBy].([]any)
	if len(groups) > 0 || d.hasAggregate(root) || root.Str(ast.FieldAggregateHandle) == ast.ForceAggregates {
		if distinct != nil {
			return nil, fallbackOf(ReasonDistinctAggregateUse)
		}
		return d.aggregate(root, names, order, limit)
	}
	if r := d.plainExpressions(root[ast.FieldSelectList]); r != "" {
		return nil, fallbackOf(ReasonSelect, r)
	}
	if root[ast.FieldHaving] != nil {
		return nil, fallbackOf(ReasonHavingWithoutGroup)
	}
	switch {
	case order != nil && limit == nil:
		return nil, fallbackOf(ReasonOrderWithoutLimit)
	case order != nil || limit != nil:
		return d.topKOf(root, names, distinct, order, limit, true)
	case distinct != nil:
		return d.distinct(root)
	}
	return &shape{strategy: strategyScan, partial: func(node) {}}, nil
}

// hasAggregate reports whether the select list, HAVING or ORDER BY of the
// node (not its subqueries) calls an aggregate function.
func (d *dist) hasAggregate(root node) bool {
	isAgg := func(e node) bool {
		return e.Class() == ast.ClassFunction && d.kinds[strings.ToLower(e.FunctionName())] == "aggregate"
	}
	return ast.Contains(root[ast.FieldSelectList], true, isAgg) || ast.Contains(root[ast.FieldHaving], true, isAgg) ||
		ast.Contains(root[ast.FieldModifiers], true, isAgg)
}

// mergeSelect is an empty SELECT over the partials: the merge statement.
func mergeSelect() node { return ast.Select(ast.Table("", PartialsTable)) }

// uniqueNames fails when the result has duplicate column names: the merge
// step refers to the fragments' columns by name.
func uniqueNames(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[strings.ToLower(n)] {
			return fallbackOf(ReasonDuplicateColumn, n)
		}
		seen[strings.ToLower(n)] = true
	}
	return nil
}
