package harness

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TPCHTables are the eight TPC-H tables, in the order dbgen writes them.
func TPCHTables() []string {
	return []string{"customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"}
}

// tpchSplit says how a TPC-H table is cut into Parquet files: by ranges of
// key so that scans split and min/max statistics can prune.
type tpchSplit struct {
	key   string // "" = one file
	files int
}

func tpchSplits() map[string]tpchSplit {
	return map[string]tpchSplit{
		"lineitem": {key: "l_orderkey", files: 6},
		"orders":   {key: "o_orderkey", files: 6},
		"partsupp": {key: "ps_partkey", files: 3},
		"part":     {key: "p_partkey", files: 3},
		"customer": {key: "c_custkey", files: 3},
		"supplier": {files: 1},
		"nation":   {files: 1},
		"region":   {files: 1},
	}
}

// TPCHExtensionPath is where the pinned tpch extension lives inside an
// extension directory.
func TPCHExtensionPath(extensionDir string) string {
	return filepath.Join(extensionDir, "v"+DuckDBVersion, "linux_amd64", "tpch.duckdb_extension")
}

// tpchExtension returns the tpch extension or skips the test with a hint.
func tpchExtension(t testing.TB) string {
	t.Helper()
	p := TPCHExtensionPath(ExtensionDir(t))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("tpch extension not found at %s (run `make tools`)", p)
	}
	return p
}

// openTPCH opens an in-process DuckDB with the tpch extension loaded from
// disk (autoinstall and autoload off). It is closed in t.Cleanup.
func openTPCH(t testing.TB) *sql.Conn {
	t.Helper()
	ext := tpchExtension(t)
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		t.Fatalf("duckdb connection: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		_ = db.Close()
	})
	for _, stmt := range []string{
		"SET autoinstall_known_extensions=false",
		"SET autoload_known_extensions=false",
		"LOAD " + sqlString(ext),
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("tpch setup %q: %v", stmt, err)
		}
	}
	return conn
}

// TPCHQuery is one of the 22 TPC-H queries with DuckDB's reference answer
// for the scale factor it was loaded for.
type TPCHQuery struct {
	Nr     int
	SQL    string
	Answer string // pipe-separated, see ParseAnswer
}

// Name is q01…q22.
func (q TPCHQuery) Name() string { return fmt.Sprintf("q%02d", q.Nr) }

// TPCHQueries returns the 22 queries of tpch_queries() and their answers
// from tpch_answers() for scale (0.01, 0.1 or 1).
func TPCHQueries(t testing.TB, scale float64) []TPCHQuery {
	t.Helper()
	conn := openTPCH(t)
	rows, err := conn.QueryContext(context.Background(), `
		SELECT q.query_nr, q.query, a.answer
		FROM tpch_queries() q JOIN tpch_answers() a ON a.query_nr = q.query_nr AND a.scale_factor = ?
		ORDER BY q.query_nr`, scale)
	if err != nil {
		t.Fatalf("read tpch queries: %v", err)
	}
	defer rows.Close()
	var out []TPCHQuery
	for rows.Next() {
		var q TPCHQuery
		if err := rows.Scan(&q.Nr, &q.SQL, &q.Answer); err != nil {
			t.Fatalf("read tpch queries: %v", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read tpch queries: %v", err)
	}
	if len(out) != 22 {
		t.Fatalf("tpch_queries/tpch_answers for sf %g: %d queries, want 22", scale, len(out))
	}
	return out
}

// TPCHData returns a local directory holding TPC-H at scale as Parquet,
// laid out as a warehouse: main/<table>/part-N.parquet (lineitem and orders
// in 6 files by order key, partsupp, part and customer in 3 by their key,
// the rest in one). The files are generated once with the tpch extension
// and cached in the system temp directory (override with
// QUIVER_TPCH_CACHE), so later runs only upload them.
func TPCHData(t testing.TB, scale float64) string {
	t.Helper()
	root := os.Getenv("QUIVER_TPCH_CACHE")
	if root == "" {
		root = filepath.Join(os.TempDir(), "quiver-tpch-cache")
	}
	dir := filepath.Join(root, "sf"+strconv.FormatFloat(scale, 'f', -1, 64)+"-v1")
	if _, err := os.Stat(filepath.Join(dir, "main")); err == nil {
		return dir
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("tpch cache: %v", err)
	}
	tmp, err := os.MkdirTemp(root, "gen-")
	if err != nil {
		t.Fatalf("tpch cache: %v", err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	if err := generateTPCH(openTPCH(t), scale, tmp); err != nil {
		t.Fatalf("generate tpch sf %g: %v", scale, err)
	}
	// Another run may have finished first; either copy is the same data.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "main")); statErr != nil {
			t.Fatalf("tpch cache: %v", err)
		}
	}
	t.Logf("tpch sf %g generated into %s in %s", scale, dir, time.Since(start).Round(time.Millisecond))
	return dir
}

// generateTPCH runs dbgen and writes each table's files under dir/main.
func generateTPCH(conn *sql.Conn, scale float64, dir string) error {
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CALL dbgen(sf := %g)", scale)); err != nil {
		return fmt.Errorf("dbgen: %w", err)
	}
	splits := tpchSplits()
	for _, table := range TPCHTables() {
		split := splits[table]
		tdir := filepath.Join(dir, "main", table)
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			return err
		}
		if split.files <= 1 {
			if err := copyParquet(ctx, conn, "SELECT * FROM "+table, filepath.Join(tdir, "part-0.parquet")); err != nil {
				return err
			}
			continue
		}
		var maxKey int64
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT max(%s) FROM %s", split.key, table)).Scan(&maxKey); err != nil {
			return fmt.Errorf("max %s of %s: %w", split.key, table, err)
		}
		step := maxKey/int64(split.files) + 1
		for i := range split.files {
			lo, hi := int64(i)*step, int64(i+1)*step
			query := fmt.Sprintf("SELECT * FROM %s WHERE %s >= %d AND %s < %d", table, split.key, lo, split.key, hi)
			if err := copyParquet(ctx, conn, query, filepath.Join(tdir, fmt.Sprintf("part-%d.parquet", i))); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyParquet(ctx context.Context, conn *sql.Conn, query, file string) error {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", query, sqlString(file))); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
