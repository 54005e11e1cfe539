package planner

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

func TestSandboxRefuses(t *testing.T) {
	p := newTestPlanner(t)
	ctx := context.Background()
	cases := []struct {
		name, sql, refused string
	}{
		// Table functions that read paths or URLs, directly.
		{"read_csv", "SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
		{"read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"},
		{"read_text", "SELECT * FROM read_text('/etc/hostname')", "read_text"},
		{"read_blob", "SELECT * FROM read_blob('/etc/shadow')", "read_blob"},
		{"read_json", "SELECT * FROM read_json('/etc/x.json')", "read_json"},
		{"read_json_auto", "SELECT * FROM read_json_auto('x.json')", "read_json_auto"},
		{"read_ndjson", "SELECT * FROM read_ndjson('x.json')", "read_ndjson"},
		{"read_json_objects", "SELECT * FROM read_json_objects('x.json')", "read_json_objects"},
		{"read_parquet user path", "SELECT * FROM read_parquet('/wh/demo/plays/day=2025-01-01/data_0.parquet')", "read_parquet"},
		{"parquet_scan", "SELECT * FROM parquet_scan('/tmp/x.parquet')", "parquet_scan"},
		{"read_parquet s3 url", "SELECT * FROM read_parquet('s3://other-bucket/x.parquet')", "read_parquet"},
		{"read_csv http url", "SELECT * FROM read_csv('http://169.254.169.254/latest/meta-data/')", "read_csv"},
		{"glob", "SELECT * FROM glob('/etc/*')", "glob"},
		{"sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv"},
		{"parquet_metadata", "SELECT * FROM parquet_metadata('/tmp/x.parquet')", "parquet_metadata"},
		{"parquet_schema", "SELECT * FROM parquet_schema('/tmp/x.parquet')", "parquet_schema"},
		{"parquet_file_metadata", "SELECT * FROM parquet_file_metadata('/tmp/x.parquet')", "parquet_file_metadata"},
		{"parquet_kv_metadata", "SELECT * FROM parquet_kv_metadata('/tmp/x.parquet')", "parquet_kv_metadata"},
		{"query_table", "SELECT * FROM query_table('demo.plays')", "query_table"},
		{"query", "SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')", "query"},
		{"iceberg_scan", "SELECT * FROM iceberg_scan('s3://b/t')", "iceberg_scan"},
		{"delta_scan", "SELECT * FROM delta_scan('s3://b/t')", "delta_scan"},
		{"duckdb_settings", "SELECT * FROM duckdb_settings()", "duckdb_settings"},
		{"duckdb_secrets", "SELECT * FROM duckdb_secrets()", "duckdb_secrets"},
		{"duckdb_extensions", "SELECT * FROM duckdb_extensions()", "duckdb_extensions"},
		{"which_secret table", "SELECT * FROM which_secret('s3://b/x', 's3')", "which_secret"},
		{"pragma_version", "SELECT * FROM pragma_version()", "pragma_version"},
		{"read_duckdb", "SELECT * FROM read_duckdb('/tmp/x.db')", "read_duckdb"},
		{"json_execute_serialized_sql", "SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql"},
		{"unknown table function", "SELECT * FROM no_such_function(1)", "no_such_function"},
		// Path tricks: string-built paths, .., case and quoting.
		{"string-built path", "SELECT * FROM read_csv('/et' || 'c/passwd')", "read_csv"},
		{"concat path", "SELECT * FROM read_csv(concat('/etc/', 'passwd'))", "read_csv"},
		{"dot dot", "SELECT * FROM read_parquet('/wh/demo/../../etc/passwd')", "read_parquet"},
		{"list of paths", "SELECT * FROM read_csv(['/wh/a.csv', '/etc/passwd'])", "read_csv"},
		{"upper case", "SELECT * FROM READ_CSV('/etc/passwd')", "read_csv"},
		{"mixed case", "SELECT * FROM Read_Csv_Auto('/etc/passwd')", "read_csv_auto"},
		{"quoted identifier", `SELECT * FROM "read_csv"('/etc/passwd')`, "read_csv"},
		{"schema-qualified", "SELECT * FROM main.read_csv('/etc/passwd')", "read_csv"},
		{"catalog-qualified", "SELECT * FROM system.main.read_csv('/etc/passwd')", "read_csv"},
		{"replacement scan", "SELECT * FROM '/etc/passwd'", "/etc/passwd"},
		{"replacement scan csv", `SELECT * FROM "data.csv"`, "data.csv"},
		{"replacement scan url", "SELECT * FROM 'https://example.com/x.parquet'", "https://example.com/x.parquet"},
		{"replacement scan relative", "SELECT * FROM 'demo/plays/x.parquet'", "demo/plays/x.parquet"},
		// Everywhere in the tree.
		{"in a CTE", "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "read_csv"},
		{"in a nested CTE", "WITH a AS (WITH b AS (SELECT * FROM read_text('/etc/hostname')) SELECT * FROM b) SELECT * FROM a", "read_text"},
		{"in a FROM subquery", "SELECT * FROM (SELECT * FROM read_blob('/etc/shadow')) s", "read_blob"},
		{"in a scalar subquery", "SELECT (SELECT count(*) FROM read_csv('/etc/passwd')) AS n", "read_csv"},
		{"in WHERE IN", "SELECT * FROM demo.titles WHERE title_id IN (SELECT 1 FROM glob('/etc/*'))", "glob"},
		{"in EXISTS", "SELECT * FROM demo.titles WHERE EXISTS (SELECT 1 FROM read_json('/x.json'))", "read_json"},
		{"in a join", "SELECT * FROM demo.plays p JOIN read_csv('/etc/passwd') c ON true", "read_csv"},
		{"in a lateral join", "SELECT * FROM demo.titles t, LATERAL (SELECT * FROM read_text('/etc/' || t.title)) x", "read_text"},
		{"in a union", "SELECT 1 AS a UNION ALL SELECT count(*) FROM read_csv('/etc/passwd')", "read_csv"},
		{"in VALUES", "SELECT * FROM (VALUES ((SELECT content FROM read_text('/etc/hostname')))) v(x)", "read_text"},
		{"in HAVING", "SELECT title_id FROM demo.titles GROUP BY title_id HAVING count(*) > (SELECT count(*) FROM read_csv('/x'))", "read_csv"},
		{"in ORDER BY", "SELECT title_id FROM demo.titles ORDER BY (SELECT count(*) FROM sniff_csv('/x'))", "sniff_csv"},
		{"in a window", "SELECT sum(title_id) OVER (ORDER BY (SELECT 1 FROM glob('/x'))) FROM demo.titles", "glob"},
		{"in a CASE", "SELECT CASE WHEN true THEN (SELECT 1 FROM read_csv('/x')) END", "read_csv"},
		{"FROM-first", "FROM read_csv('/etc/passwd')", "read_csv"},
		{"SUMMARIZE", "SUMMARIZE SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
		// EXPLAIN runs the check on the inner statement.
		{"explain", "EXPLAIN SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
		{"explain analyze", "EXPLAIN ANALYZE SELECT * FROM read_text('/etc/hostname')", "read_text"},
		{"explain in a CTE", "explain WITH x AS (SELECT * FROM glob('/*')) SELECT * FROM x", "glob"},
		// Scalar functions that reach past the data.
		{"current_setting", "SELECT current_setting('s3_secret_access_key')", "current_setting"},
		{"current_setting in WHERE", "SELECT * FROM demo.titles WHERE current_setting('allowed_directories') IS NOT NULL", "current_setting"},
		{"getenv", "SELECT getenv('AWS_SECRET_ACCESS_KEY')", "getenv"},
		{"which_secret scalar", "SELECT which_secret('s3://b/x', 's3')", "which_secret"},
		{"upper-case scalar", "SELECT CURRENT_SETTING('TimeZone')", "current_setting"},
		// DuckDB's own catalog.
		{"information_schema", "SELECT * FROM information_schema.tables", "information_schema.tables"},
		{"pg_catalog", "SELECT * FROM pg_catalog.pg_class", "pg_catalog.pg_class"},
		{"duckdb view", "SELECT * FROM duckdb_tables", "duckdb_tables"},
		{"sqlite_master", "SELECT * FROM sqlite_master", "sqlite_master"},
		{"system catalog", "SELECT * FROM system.main.duckdb_settings", "system.main.duckdb_settings"},
		{"temp catalog", "SELECT * FROM temp.main.t", "temp.main.t"},
		{"internal in a subquery", "SELECT * FROM demo.titles WHERE title_id IN (SELECT 1 FROM information_schema.columns)", "information_schema.columns"},
		{"show tables", "SHOW TABLES", "SHOW"},
		{"show all tables", "SHOW ALL TABLES", "SHOW"},
		{"show databases", "SHOW DATABASES", "SHOW"},
		{"describe internal", "DESCRIBE duckdb_settings", "duckdb_settings"},
		// Statements that are not read-only queries: named by kind.
		{"copy to", "COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"},
		{"copy from", "COPY demo.titles FROM '/etc/passwd'", "COPY"},
		{"attach", "ATTACH '/tmp/x.db' AS x", "ATTACH"},
		{"detach", "DETACH x", "DETACH"},
		{"install", "INSTALL httpfs", "INSTALL"},
		{"load", "LOAD '/tmp/evil.duckdb_extension'", "LOAD"},
		{"set", "SET enable_external_access = true", "SET"},
		{"reset", "RESET allowed_directories", "RESET"},
		{"pragma", "PRAGMA database_list", "PRAGMA"},
		{"create secret", "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", "CREATE"},
		{"call", "CALL duckdb_settings()", "CALL"},
		{"export", "EXPORT DATABASE '/tmp/x'", "EXPORT"},
		{"import", "IMPORT DATABASE '/tmp/x'", "IMPORT"},
		{"create table", "CREATE TABLE x AS SELECT 1", "CREATE"},
		{"lower-case keyword after comment", "/* hi */ -- there\n  copy (select 1) to '/tmp/x'", "COPY"},
		{"explain copy", "EXPLAIN COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"},
		{"select then copy", "SELECT 1; COPY (SELECT 1) TO '/tmp/x'", "COPY"},
	}
	require.GreaterOrEqual(t, len(cases), 60)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Plan(ctx, tc.sql)
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrRefused), "%v", err)
			require.Contains(t, err.Error(), tc.refused)
			require.Contains(t, err.Error(), "not allowed")
		})
	}
}

func TestSandboxAllows(t *testing.T) {
	p := newTestPlanner(t)
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT * FROM demo.plays",
		"SELECT * FROM quiver.demo.titles",
		"SELECT count(*) FROM demo.plays p JOIN demo.titles t ON p.title_id = t.title_id",
		"WITH x AS (SELECT * FROM demo.titles) SELECT * FROM x",
		"WITH duckdb_tables AS (SELECT 1 AS a) SELECT * FROM duckdb_tables",
		"SELECT * FROM range(10)",
		"SELECT * FROM generate_series(1, 3)",
		"SELECT * FROM unnest([1, 2, 3])",
		"SELECT upper(title), length(title), 'x' || title FROM demo.titles",
		"SELECT 1",
		"VALUES (1), (2)",
		"EXPLAIN SELECT * FROM demo.plays",
		"SELECT current_date, version()",
		"DESCRIBE demo.titles",
		"SUMMARIZE demo.titles",
		"DESCRIBE SELECT * FROM demo.plays",
	} {
		t.Run(sql, func(t *testing.T) {
			_, err := p.Plan(ctx, sql)
			require.NoError(t, err)
		})
	}
}

func TestSandboxInternalNameOfWarehouseTable(t *testing.T) {
	root := node{"type": "BASE_TABLE", "catalog_name": "", "schema_name": "", "table_name": "duckdb_stats"}
	require.ErrorIs(t, checkSandbox(root, nil), ErrRefused)
	require.NoError(t, checkSandbox(root, func(n storage.TableName) bool {
		return n == storage.TableName{Schema: DefaultSchema, Name: "duckdb_stats"}
	}))
}

// FuzzSandbox checks that the sandbox check never panics on whatever
// DuckDB's parser accepts and only ever refuses with ErrRefused.
func FuzzSandbox(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM demo.plays",
		"SELECT * FROM read_csv('/etc/passwd')",
		"WITH x AS (SELECT * FROM glob('/*')) SELECT * FROM x",
		"SELECT current_setting('TimeZone')",
		"SELECT * FROM information_schema.tables",
		"SELECT * FROM '/etc/passwd'",
		"SHOW ALL TABLES",
		"SELECT * FROM range(3), unnest([1])",
	} {
		f.Add(s)
	}
	db, err := engine.Open(context.Background(), engine.Options{})
	require.NoError(f, err)
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, sql string) {
		raw, err := db.Serialize(context.Background(), sql)
		if err != nil {
			return
		}
		env, err := ast.Decode(raw)
		if err != nil {
			return
		}
		stmts, _ := env["statements"].([]any)
		for _, s := range stmts {
			sn, _ := s.(node)
			root, _ := sn["node"].(node)
			if root == nil {
				continue
			}
			if err := checkSandbox(root, nil); err != nil {
				require.ErrorIs(t, err, ErrRefused)
			}
		}
		if err := refuseStatement(sql); !errors.Is(err, ErrRefused) {
			t.Fatalf("refuseStatement: %v", err)
		}
	})
}
