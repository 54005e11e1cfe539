package engine

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// memoSize bounds each of the parser and renderer caches (entries).
const memoSize = 2048

// Serialize parses sql with DuckDB's own parser and returns the statement
// tree as json_serialize_sql renders it (errors are reported inside the
// JSON). Results are cached: the parser is a pure function of its input.
func (db *DB) Serialize(ctx context.Context, sql string) ([]byte, error) {
	if out, ok := db.serialized.Get(sql); ok {
		return []byte(out), nil
	}
	var out string
	if err := db.sql.QueryRowContext(ctx, "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", sql).Scan(&out); err != nil {
		return nil, fmt.Errorf("serialize sql: %w", err)
	}
	db.serialized.Put(sql, out)
	return []byte(out), nil
}

// Deserialize renders a statement tree produced by Serialize back to SQL;
// results are cached like Serialize's.
func (db *DB) Deserialize(ctx context.Context, tree []byte) (string, error) {
	if out, ok := db.deserialized.Get(string(tree)); ok {
		return out, nil
	}
	var out string
	if err := db.sql.QueryRowContext(ctx, "SELECT json_deserialize_sql(?::JSON)", string(tree)).Scan(&out); err != nil {
		return "", fmt.Errorf("deserialize sql: %w", err)
	}
	db.deserialized.Put(string(tree), out)
	return out, nil
}

// FunctionKinds lists DuckDB's functions by lower-case name with their kind
// (scalar, aggregate, macro, table, pragma); a name with several kinds is
// reported as the most restrictive for distribution (aggregate, then
// anything not scalar).
func (db *DB) FunctionKinds(ctx context.Context) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT DISTINCT lower(function_name), function_type FROM duckdb_functions()")
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	defer rows.Close()
	kinds := map[string]string{}
	for rows.Next() {
		var name, kind string
		if err := rows.Scan(&name, &kind); err != nil {
			return nil, err
		}
		switch prev := kinds[name]; {
		case prev == "aggregate":
		case kind == "aggregate", prev == "":
			kinds[name] = kind
		case prev == "scalar" && kind != "scalar":
			kinds[name] = kind
		}
	}
	return kinds, rows.Err()
}

// VolatileFunctions lists, lower-cased, the functions whose result is
// not a function of their arguments across queries: DuckDB's VOLATILE
// and CONSISTENT_WITHIN_QUERY ones (random, now, current_date, nextval,
// …) and the macros whose definitions call one, transitively.
func (db *DB) VolatileFunctions(ctx context.Context) (map[string]bool, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT lower(function_name), coalesce(stability, ''), coalesce(lower(macro_definition), '')
		FROM duckdb_functions()`)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	macros := map[string][]string{}
	for rows.Next() {
		var name, stability, def string
		if err := rows.Scan(&name, &stability, &def); err != nil {
			return nil, err
		}
		switch {
		case stability == "VOLATILE" || stability == "CONSISTENT_WITHIN_QUERY":
			out[name] = true
		case def != "":
			macros[name] = append(macros[name], def)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The special forms the parser leaves as column names.
	for _, kw := range volatileKeywords {
		out[kw] = true
	}
	for changed := true; changed; {
		changed = false
		for name, defs := range macros {
			if out[name] {
				continue
			}
			for _, def := range defs {
				if callsAny(def, out) {
					out[name], changed = true, true
					break
				}
			}
		}
	}
	return out, nil
}

// volatileKeywords are SQL's niladic forms (CURRENT_TIMESTAMP, USER …),
// which DuckDB parses as column references and binds as functions.
var volatileKeywords = []string{"current_timestamp", "current_date", "current_time", "localtimestamp", "localtime",
	"current_user", "user", "session_user", "current_role", "current_catalog", "current_schema"}

// callsAny reports whether a macro's definition names one of the
// functions as a word.
func callsAny(def string, names map[string]bool) bool {
	words := strings.FieldsFunc(def, func(r rune) bool { return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) })
	for _, w := range words {
		if names[w] {
			return true
		}
	}
	return false
}
