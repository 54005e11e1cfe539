package planner

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// The sandbox: a user's statement may read catalog tables and compute on
// them, nothing else. DuckDB's file, network, catalog-introspection and
// settings functions are refused here, before any table is resolved; the
// workers' DuckDB is also locked down (engine.Sandbox), so a statement that
// slipped past this check still could not reach a file outside the
// warehouse.

// allowedTableFunctions are the pure generators a user may call in FROM.
// Every other table function (read_csv*, read_text, read_blob, read_json*,
// read_parquet/parquet_scan, glob, sniff_csv, parquet_*metadata/schema,
// query, query_table, iceberg_scan, delta_scan, duckdb_* …) is refused.
var allowedTableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true,
}

// refusedScalars are scalar functions that reach past the data: settings,
// environment, secrets, or SQL executed from a string. Chosen from
// duckdb_functions() of DuckDB v1.5.5; the table functions of the same
// names are refused anyway.
var refusedScalars = map[string]string{
	"current_setting":             "it reads server settings",
	"getenv":                      "it reads the server's environment",
	"which_secret":                "it reads server secrets",
	"json_execute_serialized_sql": "it runs SQL built from a string",
	"query":                       "it runs SQL built from a string",
	"query_table":                 "it reads tables named by a string",
	"read_text":                   "it reads files",
	"read_blob":                   "it reads files",
	"glob":                        "it lists files",
}

// internalSchemas and internalCatalogs name DuckDB's own catalog, never the
// warehouse's.
var (
	internalSchemas  = map[string]bool{"information_schema": true, "pg_catalog": true}
	internalCatalogs = map[string]bool{"system": true, "temp": true, "memory": true}
)

// pathLike matches table names DuckDB would treat as a replacement scan of
// a file or URL: `SELECT * FROM '/etc/passwd'`, `FROM 'x.csv'`.
var pathLike = regexp.MustCompile(`[/\\:]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|db|duckdb|sqlite|arrow|xlsx|blob)$`)

// checkSandbox refuses what the sandbox does not allow anywhere in the
// statement tree (CTEs, subqueries, joins, VALUES, expressions). isTable
// reports whether a name that looks internal is nevertheless a warehouse
// table; nil means none is.
func checkSandbox(root node, isTable func(storage.TableName) bool) error {
	var refused error
	ast.Walk(root, func(n node) {
		if refused != nil {
			return
		}
		switch {
		case n.Type() == ast.TableFunction:
			fn, _ := n[ast.FieldFunction].(node)
			name := strings.ToLower(fn.FunctionName())
			if !allowedTableFunctions[name] {
				refused = fmt.Errorf("%w: table function %s is not allowed: only catalog tables can be read", ErrRefused, name)
			}
		case n.Type() == ast.ShowRef && n["query"] == nil:
			// SHOW TABLES / SHOW ALL TABLES / SHOW DATABASES list DuckDB's
			// own catalog; DESCRIBE and SUMMARIZE of a table or query carry
			// that query and are checked like any other.
			refused = fmt.Errorf("%w: SHOW of DuckDB's catalog is not allowed: list tables with SELECT * FROM system.tables (or your client's table listing), and a table's columns with DESCRIBE <table>", ErrRefused)
		case n.Class() == ast.ClassFunction:
			name := strings.ToLower(n.FunctionName())
			if why, ok := refusedScalars[name]; ok {
				refused = fmt.Errorf("%w: function %s is not allowed: %s", ErrRefused, name, why)
			}
		}
	})
	if refused != nil {
		return refused
	}
	for _, ref := range tableRefs(root) {
		catalog, schema, table := ref.node.Str(ast.FieldCatalogName), ref.node.Str(ast.FieldSchemaName), ref.node.Str(ast.FieldTableName)
		why := ""
		switch {
		case internalCatalogs[strings.ToLower(catalog)], internalCatalogs[strings.ToLower(schema)] && catalog == "":
			why = "DuckDB's internal catalogs are not served"
		case internalSchemas[strings.ToLower(schema)]:
			why = "DuckDB's internal catalog is not served"
		case schema == "" && isInternalName(table):
			why = "DuckDB's internal catalog is not served"
		case pathLike.MatchString(table) || pathLike.MatchString(schema):
			why = "files are not read by path: only catalog tables can be read"
		default:
			continue
		}
		if isTable != nil && isTable(ref.base) {
			continue
		}
		return fmt.Errorf("%w: table %s is not allowed: %s", ErrRefused, ref.display, why)
	}
	return nil
}

// isInternalName matches DuckDB's unqualified system views (duckdb_tables,
// sqlite_master, pragma_database_list, …).
func isInternalName(table string) bool {
	t := strings.ToLower(table)
	for _, p := range []string{"duckdb_", "sqlite_", "pragma_", "pg_"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// sandbox runs checkSandbox on a parsed statement, treating names the
// catalog resolves as warehouse tables.
func (p *Planner) sandbox(ctx context.Context, s *statement) error {
	return checkSandbox(s.node, func(name storage.TableName) bool {
		if p.opts.Catalog == nil {
			return false
		}
		if strings.EqualFold(name.Schema, "system") {
			// Quiver's system tables: resolution names what exists.
			return true
		}
		_, err := p.opts.Catalog.Table(ctx, name)
		return err == nil
	})
}

// leadingKeyword matches the first keyword of a statement after comments,
// whitespace and opening parentheses.
var leadingKeyword = regexp.MustCompile(`(?s)^(?:\s|\(|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)`)

// readOnlyKeywords start statements the planner serves.
var readOnlyKeywords = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "FROM": true, "TABLE": true,
	"EXPLAIN": true, "DESCRIBE": true, "SUMMARIZE": true, "SHOW": true,
}

// refuseStatement names the statement kind DuckDB's serializer would not
// take (COPY, ATTACH, SET, PRAGMA, CALL …). The kind is read from the
// leading keyword of the first such statement, for the message only: the
// refusal itself is DuckDB's parser saying the statement is not a SELECT.
func refuseStatement(sql string) error {
	kind := "non-SELECT"
	for _, part := range strings.Split(sql, ";") {
		m := leadingKeyword.FindStringSubmatch(part)
		if m == nil {
			continue
		}
		kw := strings.ToUpper(m[1])
		if !readOnlyKeywords[kw] {
			kind = kw
			break
		}
	}
	// Also ErrUnsupported: it is that too, and callers that predate the
	// sandbox test for it.
	return fmt.Errorf("%w: %s statements are not allowed: only read-only queries (SELECT, WITH, VALUES, EXPLAIN) are served (%w)", ErrRefused, kind, ErrUnsupported)
}
