package planner

import (
	"fmt"
	"strings"
)

// The strategies a plan can take.
const (
	strategyScan      = "scan"
	strategyAggregate = "aggregate"
	strategyTopK      = "topk"
	strategyDistinct  = "distinct"
	strategySingle    = "single"
)

// shape is the distribution chosen for a statement: how each fragment's
// copy of the tree is rewritten and the merge statement that finishes it.
type shape struct {
	strategy string
	// partial rewrites a fragment's copy of the root node in place.
	partial func(root node)
	// merge is the coordinator's statement node, nil for scans.
	merge node
}

// fallback is a reason to run a query as one fragment.
type fallback struct{ reason string }

func (f fallback) Error() string { return f.reason }

func fallbackf(format string, args ...any) error { return fallback{fmt.Sprintf(format, args...)} }

// choose picks the strategy for a top-level SELECT whose split table is
// already chosen. names are the result's column names (from the probe).
func (d *dist) choose(root node, names []string) (*shape, error) {
	if t := str(root, "type"); t != "SELECT_NODE" {
		return nil, fallbackf("statement:%s", strings.ToLower(t))
	}
	if root["qualify"] != nil {
		return nil, fallbackf("qualify")
	}
	if root["sample"] != nil {
		return nil, fallbackf("sample")
	}
	if str(root, "aggregate_handling") != "STANDARD_HANDLING" {
		return nil, fallbackf("group_by_all")
	}
	if sets, _ := root["group_sets"].([]any); len(sets) > 1 {
		return nil, fallbackf("grouping_sets")
	}
	var distinct, order, limit node
	for _, m := range asNodes(root["modifiers"]) {
		switch str(m, "type") {
		case "DISTINCT_MODIFIER":
			if targets, _ := m["distinct_on_targets"].([]any); len(targets) > 0 {
				return nil, fallbackf("distinct_on")
			}
			distinct = m
		case "ORDER_MODIFIER":
			order = m
		case "LIMIT_MODIFIER":
			limit = m
		default:
			return nil, fallbackf("modifier:%s", strings.ToLower(str(m, "type")))
		}
	}
	// Expressions evaluated per input row must be plain: they see only the
	// fragment's rows.
	if r := d.plainExpressions(root["where_clause"]); r != "" {
		return nil, fallbackf("where:%s", r)
	}
	if r := d.plainExpressions(root["from_table"]); r != "" {
		return nil, fallbackf("join_condition:%s", r)
	}
	groups, _ := root["group_expressions"].([]any)
	if len(groups) > 0 || d.hasAggregate(root) {
		if distinct != nil {
			return nil, fallbackf("distinct_aggregate_result")
		}
		return d.aggregate(root, names, order, limit)
	}
	if r := d.plainExpressions(root["select_list"]); r != "" {
		return nil, fallbackf("select:%s", r)
	}
	if root["having"] != nil {
		return nil, fallbackf("having_without_group")
	}
	switch {
	case order != nil && limit == nil:
		return nil, fallbackf("order_without_limit")
	case order != nil || limit != nil:
		return d.topK(root, names, distinct, order, limit)
	case distinct != nil:
		return d.distinct(root)
	}
	return &shape{strategy: strategyScan, partial: func(node) {}}, nil
}

// hasAggregate reports whether the select list, HAVING or ORDER BY of the
// node (not its subqueries) calls an aggregate function.
func (d *dist) hasAggregate(root node) bool {
	isAgg := func(e node) bool {
		return str(e, "class") == "FUNCTION" && d.kinds[strings.ToLower(str(e, "function_name"))] == "aggregate"
	}
	return contains(root["select_list"], true, isAgg) || contains(root["having"], true, isAgg) ||
		contains(root["modifiers"], true, isAgg)
}

// partialsTable is the merge statement's FROM clause.
func partialsTable() node {
	return node{"type": "BASE_TABLE", "alias": "", "sample": nil, "query_location": noLocation,
		"schema_name": "", "table_name": PartialsTable, "catalog_name": "", "column_name_alias": []any{}, "at_clause": nil}
}

// selectNode is an empty SELECT over the partials.
func selectNode() node {
	return node{
		"type": "SELECT_NODE", "modifiers": []any{}, "cte_map": node{"map": []any{}},
		"select_list": []any{}, "from_table": partialsTable(), "where_clause": nil,
		"group_expressions": []any{}, "group_sets": []any{}, "aggregate_handling": "STANDARD_HANDLING",
		"having": nil, "sample": nil, "qualify": nil,
	}
}

func star() node {
	return node{"class": "STAR", "type": "STAR", "alias": "", "query_location": noLocation, "relation_name": "",
		"exclude_list": []any{}, "replace_list": []any{}, "rename_list": []any{}, "qualified_exclude_list": []any{},
		"columns": false, "expr": nil}
}

func asNodes(v any) []node {
	list, _ := v.([]any)
	out := make([]node, 0, len(list))
	for _, x := range list {
		if n, ok := x.(node); ok {
			out = append(out, n)
		}
	}
	return out
}

func nodesToAny(ns []node) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// uniqueNames fails when the result has duplicate column names: the merge
// step refers to the fragments' columns by name.
func uniqueNames(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[strings.ToLower(n)] {
			return fallbackf("duplicate_column:%s", n)
		}
		seen[strings.ToLower(n)] = true
	}
	return nil
}
