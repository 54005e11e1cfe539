package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// node is one object of DuckDB's serialized statement tree.
type node = map[string]any

// decodeTree decodes JSON keeping numbers exact: query locations are
// uint64 and must survive the round trip.
func decodeTree(b []byte) (node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var n node
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("decode statement tree: %w", err)
	}
	return n, nil
}

// walk calls visit for every object in the tree, parents before children.
func walk(v any, visit func(node)) {
	switch v := v.(type) {
	case node:
		visit(v)
		for _, child := range v {
			walk(child, visit)
		}
	case []any:
		for _, child := range v {
			walk(child, visit)
		}
	}
}

// str reads a string field, "" when absent.
func str(n node, key string) string {
	s, _ := n[key].(string)
	return s
}

// replace makes dst hold exactly src's fields; references to dst elsewhere
// in the tree see the new node.
func replace(dst, src node) {
	for k := range dst {
		delete(dst, k)
	}
	for k, v := range src {
		dst[k] = v
	}
}

// noLocation is DuckDB's "no query location" (uint64 max).
var noLocation = json.Number("18446744073709551615")

func constant(typeID string, value any) node {
	return node{
		"class": "CONSTANT", "type": "VALUE_CONSTANT", "alias": "", "query_location": noLocation,
		"value": node{"type": node{"id": typeID, "type_info": nil}, "is_null": false, "value": value},
	}
}

func function(name string, children []any) node {
	return node{
		"class": "FUNCTION", "type": "FUNCTION", "alias": "", "query_location": noLocation,
		"function_name": name, "schema": "", "catalog": "", "children": children,
		"filter": nil, "order_bys": node{"type": "ORDER_MODIFIER", "orders": []any{}},
		"distinct": false, "is_operator": false, "export_state": false,
	}
}

// namedParam renders `name = value` as DuckDB's parser does for table
// function named parameters.
func namedParam(name string, value node) node {
	return node{
		"class": "COMPARISON", "type": "COMPARE_EQUAL", "alias": "", "query_location": noLocation,
		"left": node{"class": "COLUMN_REF", "type": "COLUMN_REF", "alias": "", "query_location": noLocation,
			"column_names": []any{name}},
		"right": value,
	}
}

// limitZero makes the statement return no rows (DuckDB then plans an empty
// result) and returns the original modifiers so the caller can restore them.
// A second LIMIT would not survive json_deserialize_sql, so an existing one is
// overwritten instead.
func limitZero(root node) any {
	saved := root["modifiers"]
	mods, _ := saved.([]any)
	out := make([]any, 0, len(mods)+1)
	zero := constant("BIGINT", 0)
	replaced := false
	for _, m := range mods {
		mn, ok := m.(node)
		if ok && (str(mn, "type") == "LIMIT_MODIFIER" || str(mn, "type") == "LIMIT_PERCENT_MODIFIER") {
			out = append(out, node{"type": "LIMIT_MODIFIER", "limit": zero, "offset": nil})
			replaced = true
			continue
		}
		out = append(out, m)
	}
	if !replaced {
		out = append(out, node{"type": "LIMIT_MODIFIER", "limit": zero, "offset": nil})
	}
	root["modifiers"] = out
	return saved
}
