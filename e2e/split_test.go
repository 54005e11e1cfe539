package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// splitFiles is how many files demo.split12 has.
const splitFiles = 12

// TestSplitAndPruning proves from the outside that queries are distributed:
// with three workers a scan of a 12-file table runs as at least three
// fragments, and a filter on one Hive partition of demo.plays (30 days)
// prunes the other 29 files. The evidence is EXPLAIN, the `query planned`
// log record and, when the server has a metrics endpoint,
// quiver_planner_fragments_total and quiver_planner_pruned_files_total.
func TestSplitAndPruning(t *testing.T) {
	fx := newLocalFixtureWorkers(t, 3, func(wh string) {
		writer := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: []string{}})
		dir := filepath.Join(wh, "demo", "split12")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for i := range splitFiles {
			require.NoError(t, writer.Exec(queryCtx(t), fmt.Sprintf(
				"COPY (SELECT i AS id, i %% 7 AS k, 'row ' || i AS label FROM range(%d, %d) t(i)) TO '%s' (FORMAT parquet)",
				i*1000, (i+1)*1000, filepath.Join(dir, fmt.Sprintf("part-%02d.parquet", i)))))
		}
	}, append([]string{"demo.split12"}, demoTables...))
	cl := dialFlightSQL(t, fx.server.Addr(), memory.DefaultAllocator)

	t.Run("scan_of_12_files_splits_3_ways", func(t *testing.T) {
		const q = "SELECT id, k, label FROM demo.split12 WHERE k <> 3"
		before := plannerMetric(t, fx.server, "quiver_planner_fragments_total")
		offset := fx.server.LogOffset()
		runAgainstOracle(t, fx, cl, q, false)

		planned := plannedRecord(t, fx.server, offset)
		fragments, _ := planned.Int("fragments")
		require.GreaterOrEqual(t, fragments, int64(3), "`query planned` record: %v", planned)
		after := plannerMetric(t, fx.server, "quiver_planner_fragments_total")
		require.GreaterOrEqual(t, after-before, 3.0, "quiver_planner_fragments_total grew by %g", after-before)

		rows := explain(t, cl, q)
		n := 0
		for _, r := range rows {
			if strings.HasPrefix(strings.ToLower(r[0]), "fragment") {
				n++
			}
		}
		require.GreaterOrEqual(t, n, 3, "EXPLAIN shows %d fragment rows:\n%s", n, formatExplain(rows))
	})

	t.Run("one_partition_prunes_29_files", func(t *testing.T) {
		const q = "SELECT count(*) AS plays, sum(duration_seconds) AS seconds FROM demo.plays WHERE day = DATE '2025-01-03'"
		before := plannerMetric(t, fx.server, "quiver_planner_pruned_files_total")
		runAgainstOracle(t, fx, cl, q, true)
		after := plannerMetric(t, fx.server, "quiver_planner_pruned_files_total")
		require.Equal(t, 29.0, after-before, "quiver_planner_pruned_files_total grew by %g", after-before)

		rows := explain(t, cl, q)
		pruned, ok := prunedFiles(rows, "demo.plays")
		require.True(t, ok, "EXPLAIN names no pruned files for demo.plays:\n%s", formatExplain(rows))
		require.Equal(t, 29, pruned, "EXPLAIN:\n%s", formatExplain(rows))
	})
}

// newLocalFixtureWorkers is newLocalFixture with n local workers.
func newLocalFixtureWorkers(t *testing.T, n int, prepare func(wh string), tables []string) *fixture {
	t.Helper()
	harness.QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	if prepare != nil {
		prepare(wh)
	}
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: n})
	return &fixture{
		warehouse: wh,
		server:    srv,
		oracle:    harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: tables}),
	}
}

// runAgainstOracle runs q on the server and compares it with the oracle.
func runAgainstOracle(t *testing.T, fx *fixture, cl *flightsql.Client, q string, ordered bool) {
	t.Helper()
	ctx := queryCtx(t)
	want, err := fx.oracle.Query(ctx, q)
	require.NoError(t, err)
	defer want.Release()
	got, err := harness.RunFlightSQL(ctx, cl, q)
	require.NoError(t, err, "%s\n%s", q, describe(err))
	defer got.Release()
	harness.CompareRel(t, q, want, got, ordered, 1e-9)
}

// plannedRecord is the last `query planned` log record after offset.
func plannedRecord(t *testing.T, srv *harness.Server, offset int) harness.LogRecord {
	t.Helper()
	var last harness.LogRecord
	for _, r := range srv.LogsSince(offset) {
		if r.Msg() == "query planned" {
			if _, ok := r.Int("fragments"); ok {
				last = r
			}
		}
	}
	require.NotNil(t, last, "no `query planned` log record with a fragment count")
	return last
}

// plannerMetric reads a counter from the server's metrics endpoint; a
// server without one fails the test (the counter is what it checks).
func plannerMetric(t *testing.T, srv *harness.Server, name string) float64 {
	t.Helper()
	v, ok, err := srv.Metric(queryCtx(t), name, nil)
	require.NoError(t, err)
	require.True(t, ok, "no metrics endpoint: %s cannot be checked", name)
	return v
}

// explain runs `EXPLAIN q` through Flight SQL and returns its rows as text.
func explain(t *testing.T, cl *flightsql.Client, q string) [][]string {
	t.Helper()
	res, err := harness.RunFlightSQL(queryCtx(t), cl, "EXPLAIN "+q)
	require.NoError(t, err, "EXPLAIN %s\n%s", q, describe(err))
	defer res.Release()
	rows := harness.TextRows(res).Rows
	require.NotEmpty(t, rows, "EXPLAIN %s returned no rows", q)
	t.Logf("EXPLAIN %s:\n%s", q, formatExplain(rows))
	return rows
}

func formatExplain(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("  " + strings.Join(r, " | ") + "\n")
	}
	return b.String()
}

// prunedPatterns find a pruned-file count in an EXPLAIN row that names the
// table: "pruned: 29", "pruned 29 files", "29 pruned", or JSON decisions
// ({"pruned":{"demo.plays":29}}).
var prunedPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)pruned\D{0,20}?(\d+)`),
	regexp.MustCompile(`(?i)(\d+)\s+(?:files?\s+)?pruned`),
}

// prunedFiles finds how many files of table EXPLAIN says were pruned.
func prunedFiles(rows [][]string, table string) (int, bool) {
	jsonRe := regexp.MustCompile(`"pruned"\s*:\s*\{[^}]*"` + regexp.QuoteMeta(table) + `"\s*:\s*(\d+)`)
	for _, r := range rows {
		line := strings.Join(r, " ")
		if m := jsonRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n, true
		}
		if !strings.Contains(line, table) {
			continue
		}
		for _, re := range prunedPatterns {
			if m := re.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				return n, true
			}
		}
	}
	return 0, false
}
