package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestJDBC runs the Apache Arrow Flight SQL JDBC driver (what BI tools and
// JVM services use) against a live server: a statement, a prepared
// statement with bound parameters and DatabaseMetaData.getTables, compared
// with DuckDB over the same files.
func TestJDBC(t *testing.T) {
	jar := os.Getenv("QUIVER_JDBC_JAR")
	if jar == "" {
		jar = filepath.Join(harness.RepoRoot(t), ".tools", "jdbc", "flight-sql-jdbc-driver-18.3.0.jar")
	}
	if _, err := os.Stat(jar); err != nil {
		t.Skipf("JDBC driver not installed at %s (run make tools)", jar)
	}
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the JDBC test needs a JDK", tool)
		}
	}
	catalog := filepath.Join(t.TempDir(), "catalog.yaml")
	require.NoError(t, os.WriteFile(catalog, []byte("tables: {sales.orders: {columns: {id: {description: The order's id.}}}}"), 0o600))
	// sales.orders has two Hive keys in non-alphabetical directory order.
	fx := newLocalFixtureArgs(t, func(wh string) {
		writer := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: []string{}})
		require.NoError(t, os.MkdirAll(filepath.Join(wh, "sales"), 0o755))
		require.NoError(t, writer.Exec(queryCtx(t), fmt.Sprintf(
			"COPY (SELECT i AS id, CASE WHEN i %% 2 = 0 THEN 'EU' ELSE 'US' END AS region, i %% 3 AS bucket FROM range(100) t(i)) "+
				"TO '%s' (FORMAT parquet, PARTITION_BY (region, bucket))", filepath.Join(wh, "sales", "orders"))))
	}, demoTables, []string{"--catalog-file", catalog})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	classes := t.TempDir()
	src := filepath.Join(harness.RepoRoot(t), "clients", "jdbc", "JdbcSmoke.java")
	out, err := exec.CommandContext(ctx, "javac", "-cp", jar, "-d", classes, src).CombinedOutput()
	require.NoError(t, err, "javac: %s", out)
	cmd := exec.CommandContext(ctx, "java",
		// Arrow's memory module needs this on Java 17+.
		"--add-opens=java.base/java.nio=org.apache.arrow.memory.core,ALL-UNNAMED",
		"-cp", jar+string(os.PathListSeparator)+classes, "JdbcSmoke", fx.server.Addr())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "java: %s", stderr.String())

	var groups, tables, hive, columns []string
	var prepared string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		kind, rest, _ := strings.Cut(line, "\t")
		switch kind {
		case "group":
			groups = append(groups, rest)
		case "prepared":
			prepared = rest
		case "table":
			tables = append(tables, rest)
		case "hive":
			hive = append(hive, rest)
		case "column":
			columns = append(columns, rest)
		}
	}

	want := func(sql string) []string {
		res, err := fx.oracle.Query(ctx, sql)
		require.NoError(t, err)
		defer res.Release()
		var rows []string
		for _, r := range plainRows(res).Rows {
			vals := make([]string, len(r))
			for i, v := range r {
				vals[i] = *v
			}
			rows = append(rows, strings.Join(vals, "\t"))
		}
		return rows
	}
	// JDBC prints a DECIMAL(38,4) sum with its scale (1967.5980), the
	// oracle's rendering drops trailing zeros (1967.598): compare numbers.
	require.Equal(t, trimDecimalZeros(want("SELECT device, count(*), sum(revenue) FROM demo.plays GROUP BY device ORDER BY device")), trimDecimalZeros(groups))
	require.Equal(t, want("SELECT count(*) FROM demo.plays WHERE device = 'tv' AND duration_seconds > 600"), []string{prepared})
	var warehouse, system []string
	for _, name := range tables {
		if strings.HasPrefix(name, "quiver.system.") {
			system = append(system, name)
		} else {
			warehouse = append(warehouse, name)
		}
	}
	require.ElementsMatch(t, []string{"quiver.demo.events", "quiver.demo.plays", "quiver.demo.profiles", "quiver.demo.titles", "quiver.sales.orders"}, warehouse)
	require.Subset(t, system, []string{"quiver.system.queries", "quiver.system.tables"}, "JDBC tools find the system tables")
	require.Equal(t, []string{"id\tThe order's id.", "region\tnull", "bucket\tnull"}, columns,
		"a column's description reaches getColumns as REMARKS")
	require.Len(t, hive, 20)
	for i, line := range hive {
		region := map[bool]string{true: "EU", false: "US"}[i%2 == 0]
		require.Equal(t, fmt.Sprintf("id=%d\tregion=%s\tbucket=%d", i, region, i%3), line, "labels over their values")
	}
}

// trimDecimalZeros drops trailing fractional zeros from every tab-separated
// field that is a decimal number, so two renderings of one value compare
// equal.
func trimDecimalZeros(rows []string) []string {
	out := make([]string, len(rows))
	for i, row := range rows {
		fields := strings.Split(row, "\t")
		for j, f := range fields {
			if _, err := strconv.ParseFloat(f, 64); err == nil && strings.Contains(f, ".") {
				fields[j] = strings.TrimSuffix(strings.TrimRight(f, "0"), ".")
			}
		}
		out[i] = strings.Join(fields, "\t")
	}
	return out
}
