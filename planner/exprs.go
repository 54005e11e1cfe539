package planner

import (
	"encoding/json"
	"regexp"
	"strconv"
)

// clone deep-copies a tree.
func clone(v any) any {
	switch v := v.(type) {
	case node:
		if v == nil {
			// A typed nil is JSON null; an empty map would be "{}".
			return nil
		}
		out := make(node, len(v))
		for k, c := range v {
			out[k] = clone(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = clone(c)
		}
		return out
	}
	return v
}

func cloneNode(n node) node { return clone(n).(node) }

// canonical renders an expression without its aliases and query locations,
// so two spellings of the same expression compare equal.
func canonical(v any) string {
	var strip func(any) any
	strip = func(v any) any {
		switch v := v.(type) {
		case node:
			out := make(node, len(v))
			for k, c := range v {
				if k == "query_location" || k == "alias" {
					continue
				}
				out[k] = strip(c)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, c := range v {
				out[i] = strip(c)
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(strip(v))
	return string(b)
}

// colRef is a reference to a column by name.
func colRef(name string) node {
	return node{"class": "COLUMN_REF", "type": "COLUMN_REF", "alias": "", "query_location": noLocation,
		"column_names": []any{name}}
}

// castTo wraps e in CAST(e AS typeID) for types without parameters.
func castTo(e node, typeID string) node {
	return node{"class": "CAST", "type": "OPERATOR_CAST", "alias": "", "query_location": noLocation,
		"child": e, "cast_type": node{"id": typeID, "type_info": nil}, "try_cast": false}
}

func binaryOp(op string, l, r node) node {
	f := function(op, []any{l, r})
	f["is_operator"] = true
	return f
}

// columnNames returns a COLUMN_REF's names.
func columnNames(n node) []string {
	raw, _ := n["column_names"].([]any)
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		s, _ := r.(string)
		out = append(out, s)
	}
	return out
}

// intConstant returns the value of an integer constant expression.
func intConstant(n node) (int64, bool) {
	if n == nil || str(n, "type") != "VALUE_CONSTANT" {
		return 0, false
	}
	v, _ := n["value"].(node)
	if v == nil {
		return 0, false
	}
	if null, _ := v["is_null"].(bool); null {
		return 0, false
	}
	t, _ := v["type"].(node)
	switch str(t, "id") {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT":
	default:
		return 0, false
	}
	switch x := v["value"].(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		return i, err == nil
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	}
	return 0, false
}

// contains reports whether any node under v (not crossing subqueries when
// stopAtSubquery) satisfies pred.
func contains(v any, stopAtSubquery bool, pred func(node) bool) bool {
	found := false
	var visit func(any)
	visit = func(v any) {
		if found {
			return
		}
		switch v := v.(type) {
		case node:
			if pred(v) {
				found = true
				return
			}
			if stopAtSubquery && str(v, "class") == "SUBQUERY" {
				return
			}
			for _, c := range v {
				visit(c)
			}
		case []any:
			for _, c := range v {
				visit(c)
			}
		}
	}
	visit(v)
	return found
}

var explainPrefix = regexp.MustCompile(`(?is)^(\s|--[^\n]*\n|/\*.*?\*/)*explain(\s+analy[sz]e)?\s`)

// stripExplain reports whether sql is `EXPLAIN <query>` and returns the query.
func stripExplain(sql string) (string, bool) {
	loc := explainPrefix.FindStringIndex(sql)
	if loc == nil {
		return sql, false
	}
	return sql[loc[1]:], true
}
