package harness

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// OracleOptions describes the warehouse the oracle reads.
type OracleOptions struct {
	// Warehouse is a local directory or s3://bucket/prefix.
	Warehouse string
	// MinIO, when set, provides the S3 secret (and httpfs is loaded).
	MinIO *MinIO
	// ExtensionDir defaults to ExtensionDir(t); only used for S3.
	ExtensionDir string
	// Tables ("schema.table") defaults to every table found in the
	// warehouse layout.
	Tables []string
}

// Oracle is an in-process DuckDB that reads the warehouse's Parquet files
// directly: each table is a view over read_parquet of its files with Hive
// partitioning, in a catalog named quiver, so results can be compared with
// the server's. It uses one connection; it is not safe for concurrent use.
type Oracle struct {
	db    *sql.DB
	conn  *sql.Conn
	arrow *duckdb.Arrow
}

// NewOracle opens the oracle and defines one view per table; it is closed in
// t.Cleanup.
func NewOracle(t testing.TB, opts OracleOptions) *Oracle {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	o := &Oracle{db: db}
	t.Cleanup(func() { o.close() })
	if o.conn, err = db.Conn(ctx); err != nil {
		t.Fatalf("duckdb connection: %v", err)
	}
	if err := o.conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		o.arrow = a
		return err
	}); err != nil {
		t.Fatalf("duckdb arrow interface: %v", err)
	}

	setup := []string{
		"SET autoinstall_known_extensions=false",
		"SET autoload_known_extensions=false",
		"SET TimeZone='UTC'",
	}
	if opts.MinIO != nil {
		dir := opts.ExtensionDir
		if dir == "" {
			dir = ExtensionDir(t)
		}
		setup = append(setup,
			fmt.Sprintf("LOAD %s", sqlString(HTTPFSPath(dir))),
			fmt.Sprintf(`CREATE SECRET quiver_minio (TYPE s3, KEY_ID %s, SECRET %s, ENDPOINT %s,
				URL_STYLE 'path', USE_SSL false, REGION %s)`,
				sqlString(MinIOUser), sqlString(MinIOPassword), sqlString(opts.MinIO.HostPort()), sqlString(S3Region)),
		)
	}
	setup = append(setup, "ATTACH ':memory:' AS quiver", "USE quiver")
	for _, stmt := range setup {
		if _, err := o.conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("oracle setup %q: %v", stmt, err)
		}
	}

	tables := opts.Tables
	if tables == nil {
		if tables, err = o.discover(ctx, opts.Warehouse); err != nil {
			t.Fatalf("%v", err)
		}
	}
	schemas := map[string]bool{}
	for _, tbl := range tables {
		schema, name, ok := strings.Cut(tbl, ".")
		if !ok {
			t.Fatalf("oracle table %q is not schema.table", tbl)
		}
		if !schemas[schema] {
			schemas[schema] = true
			if _, err := o.conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+sqlIdent(schema)); err != nil {
				t.Fatalf("oracle create schema %s: %v", schema, err)
			}
		}
		glob := strings.TrimRight(opts.Warehouse, "/") + "/" + schema + "/" + name + "/**/*.parquet"
		stmt := fmt.Sprintf("CREATE VIEW %s.%s AS SELECT * FROM read_parquet(%s, hive_partitioning=true)",
			sqlIdent(schema), sqlIdent(name), sqlString(glob))
		if _, err := o.conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("oracle view %s: %v", tbl, err)
		}
	}
	return o
}

// discover lists schema.table for every <warehouse>/<schema>/<table>/ that
// holds .parquet files at any depth.
func (o *Oracle) discover(ctx context.Context, warehouse string) ([]string, error) {
	root := strings.TrimRight(warehouse, "/")
	rows, err := o.conn.QueryContext(ctx, "SELECT file FROM glob(?)", root+"/**/*.parquet")
	if err != nil {
		return nil, fmt.Errorf("list warehouse %s: %w", warehouse, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var file string
		if err := rows.Scan(&file); err != nil {
			return nil, fmt.Errorf("list warehouse %s: %w", warehouse, err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(file, root), "/")
		parts := strings.Split(path.Clean(rel), "/")
		if len(parts) >= 3 {
			seen[parts[0]+"."+parts[1]] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list warehouse %s: %w", warehouse, err)
	}
	tables := make([]string, 0, len(seen))
	for tbl := range seen {
		tables = append(tables, tbl)
	}
	sort.Strings(tables)
	return tables, nil
}

// Query runs sql and returns the whole result as Arrow batches.
func (o *Oracle) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	rdr, err := o.arrow.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("oracle query: %w", err)
	}
	defer rdr.Release()
	res, err := ReadAll(rdr)
	if err != nil {
		return nil, fmt.Errorf("oracle read: %w", err)
	}
	return res, nil
}

// Exec runs a statement that returns no rows (e.g. COPY to write a fixture).
func (o *Oracle) Exec(ctx context.Context, stmt string) error {
	if _, err := o.conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("oracle exec: %w", err)
	}
	return nil
}

func (o *Oracle) close() {
	if o.conn != nil {
		_ = o.conn.Close()
	}
	_ = o.db.Close()
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// sqlIdent quotes s as a SQL identifier.
func sqlIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
