package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// diffRel is how far a floating-point result may drift from the oracle's.
const diffRel = 1e-9

// diffQuery is one statement of the differential corpus.
type diffQuery struct {
	name    string
	sql     string
	ordered bool   // rows must come back in exactly this order
	skip    string // why the query cannot be compared ("" = compare)
	// countOnly: the statement picks an arbitrary subset (LIMIT without
	// ORDER BY, sampling), so only the schema and row count must match.
	countOnly bool
}

var (
	limitRe     = regexp.MustCompile(`(?i)\blimit\b`)
	orderByRe   = regexp.MustCompile(`(?i)\border\s+by\b`)
	sampleRe    = regexp.MustCompile(`(?i)\b(using\s+sample|tablesample)\b`)
	parameterRe = regexp.MustCompile(`\?|\$\d`)
	slugRe      = regexp.MustCompile(`[^a-z0-9]+`)
)

// goldenCase is one case of the planner's golden files.
type goldenCase struct {
	Comment string `json:"comment"`
	Query   string `json:"query"`
	Options struct {
		// CountOnly: the planner's own differential test compares only the
		// row count (an aggregate such as mode() picks among ties).
		CountOnly bool `json:"count_only"`
	} `json:"options"`
}

// differentialQueries is the e2e corpus (testdata/e2e/queries.sql) plus
// every query of the planner's golden files (planner/testdata/*.json), when
// that directory exists.
func differentialQueries(t *testing.T) []diffQuery {
	t.Helper()
	var out []diffQuery
	for _, q := range loadCorpus(t) {
		out = append(out, diffQuery{name: "corpus/" + q.Name, sql: q.SQL, ordered: q.Ordered})
	}
	dir := filepath.Join(harness.RepoRoot(t), "planner", "testdata")
	_, err := os.Stat(dir)
	require.NoError(t, err, "the planner's golden files are the differential corpus")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "%s exists but holds no golden files", dir)
	goldens := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var cases []goldenCase
		require.NoError(t, json.Unmarshal(b, &cases), "golden file %s", f)
		base := strings.TrimSuffix(filepath.Base(f), ".json")
		for i, c := range cases {
			require.NotEmpty(t, c.Query, "%s case %d has no query", f, i)
			q := diffQuery{
				name: fmt.Sprintf("golden/%s/%02d_%s", base, i, slug(c.Comment)),
				sql:  c.Query,
			}
			switch {
			case parameterRe.MatchString(c.Query):
				q.skip = "takes bind parameters"
			case strings.HasPrefix(strings.ToUpper(strings.TrimSpace(c.Query)), "EXPLAIN"):
				q.skip = "EXPLAIN describes the plan, it has no oracle"
			case c.Options.CountOnly || sampleRe.MatchString(c.Query) || (limitRe.MatchString(c.Query) && !orderByRe.MatchString(c.Query)):
				q.countOnly = true
			}
			out = append(out, q)
			goldens++
		}
	}
	require.NotZero(t, goldens, "no golden queries in %s", dir)
	return out
}

func slug(s string) string {
	s = strings.Trim(slugRe.ReplaceAllString(strings.ToLower(s), "_"), "_")
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// TestDifferential runs the e2e corpus and the planner's golden queries
// over the demo data (scale 0.01) with 1, 2 and 3 local workers against a
// local warehouse, and a subset against an S3 warehouse in MinIO with 3
// workers: every result must equal DuckDB's over the same files (multiset
// unless the query is marked ordered; floats within 1e-9 relative).
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("the differential corpus is not a short test")
	}
	harness.QuiverBin(t)
	queries := differentialQueries(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	wants := oracleResults(t, harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: demoTables}), queries)

	for _, workers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("local/workers=%d", workers), func(t *testing.T) {
			srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers})
			runDifferential(t, srv, queries, wants)
		})
	}

	t.Run("s3/workers=3", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		m := harness.StartMinIO(t)
		require.NoError(t, m.CreateBucket(ctx, bucket))
		s3wh := "s3://" + bucket + "/wh"
		harness.DemoData(t, s3wh, demoScale, m.Env(), "--s3-endpoint", m.Endpoint())
		var subset []diffQuery
		for i, q := range queries {
			if i%4 == 0 {
				subset = append(subset, q)
			}
		}
		oracle := harness.NewOracle(t, harness.OracleOptions{Warehouse: s3wh, MinIO: m, Tables: demoTables})
		s3Wants := oracleResults(t, oracle, subset)
		srv := harness.StartServer(t, harness.ServerOptions{
			Warehouse: s3wh, LocalWorkers: 3, S3Endpoint: m.Endpoint(), Env: m.Env(),
		})
		runDifferential(t, srv, subset, s3Wants)
	})
}

// oracleResults runs every comparable query on the oracle; results are
// released in t.Cleanup.
func oracleResults(t *testing.T, oracle *harness.Oracle, queries []diffQuery) map[string]*harness.Result {
	t.Helper()
	wants := map[string]*harness.Result{}
	t.Cleanup(func() {
		for _, w := range wants {
			w.Release()
		}
	})
	for _, q := range queries {
		if q.skip != "" {
			continue
		}
		want, err := oracle.Query(queryCtx(t), q.sql)
		require.NoError(t, err, "the oracle cannot run %s:\n%s", q.name, q.sql)
		wants[q.name] = want
	}
	return wants
}

// runDifferential runs queries on srv through arrow-go's Flight SQL client
// and compares each with its oracle result.
func runDifferential(t *testing.T, srv *harness.Server, queries []diffQuery, wants map[string]*harness.Result) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	cl := dialFlightSQL(t, srv.Addr(), mem)
	start := time.Now()
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			if q.skip != "" {
				t.Skipf("%s: %s", q.skip, q.sql)
			}
			compareWithOracle(t, cl, q, wants[q.name])
		})
	}
	t.Logf("%d queries in %s", len(queries), time.Since(start).Round(time.Millisecond))
	require.NoError(t, cl.Close())
	mem.AssertSize(t, 0)
}

func compareWithOracle(t *testing.T, cl *flightsql.Client, q diffQuery, want *harness.Result) {
	got, err := harness.RunFlightSQL(queryCtx(t), cl, q.sql)
	require.NoError(t, err, "%s\n%s", q.sql, describe(err))
	defer got.Release()
	if q.countOnly {
		require.Empty(t, harness.SchemaDiff(want.Schema, got.Schema), q.sql)
		require.Equal(t, want.NumRows(), got.NumRows(), "%s: an arbitrary subset, but of the same size", q.sql)
		return
	}
	if q.ordered {
		harness.CompareRel(t, q.name+"\n"+q.sql, want, got, true, diffRel)
		return
	}
	harness.CompareMultisetRel(t, q.name+"\n"+q.sql, want, got, diffRel)
}
