package planner

import (
	"encoding/json"
	"regexp"
	"strconv"

	"github.com/quiver-data/quiver/planner/ast"
)

// intConstant returns the value of an integer constant expression.
func intConstant(n node) (int64, bool) {
	if n == nil || n.Type() != ast.ExprValueConstant {
		return 0, false
	}
	v, _ := n[ast.FieldValue].(node)
	if v == nil {
		return 0, false
	}
	if null, _ := v["is_null"].(bool); null {
		return 0, false
	}
	t, _ := v[ast.FieldType].(node)
	switch t.Str("id") {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT":
	default:
		return 0, false
	}
	switch x := v[ast.FieldValue].(type) {
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

var explainPrefix = regexp.MustCompile(`(?is)^(\s|--[^\n]*\n|/\*.*?\*/)*explain(\s+analy[sz]e)?\s`)

// stripExplain reports whether sql is `EXPLAIN [ANALYZE] <query>` and
// returns the query.
func stripExplain(sql string) (query string, explain, analyze bool) {
	m := explainPrefix.FindStringSubmatchIndex(sql)
	if m == nil {
		return sql, false, false
	}
	return sql[m[1]:], true, m[4] >= 0
}
