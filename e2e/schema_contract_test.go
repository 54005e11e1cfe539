package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/fragwire"
)

// contractQuery is one statement of a corpus, named by corpus and entry.
type contractQuery struct{ name, sql string }

// contractHive are tables whose Hive keys are not in alphabetical order
// in their directories (DuckDB's own order of partition columns), with
// int, date and string keys: 0 to 3 of them.
var contractHive = []struct {
	table string
	keys  [][2]string // name, SQL over i
	// one prunes to a single partition, none to no file at all.
	one, none string
}{
	{table: "hive.k0", one: "id = 3", none: "id < 0"},
	{table: "hive.k1", keys: [][2]string{{"month", "i % 3 + 1"}}, one: "month = 2", none: "month = 99"},
	{table: "hive.k2", keys: [][2]string{{"region", "CASE WHEN i % 2 = 0 THEN 'EU' ELSE 'US' END"}, {"bucket", "i % 3"}},
		one: "region = 'EU' AND bucket = 1", none: "region = 'APAC'"},
	{table: "hive.k3", keys: [][2]string{{"zone", "'z' || (i % 2)"}, {"day", "DATE '2025-01-01' + (i % 2)::INT"}, {"batch", "i % 2 + 7"}},
		one: "zone = 'z1' AND day = DATE '2025-01-02' AND batch = 8", none: "day = DATE '2030-01-01'"},
}

// readmeQueries are the README's and the demo's queries over the demo data.
var readmeQueries = []string{
	"SELECT device, count(*) AS plays FROM demo.plays GROUP BY device ORDER BY plays DESC",
	"SELECT day, count(*) AS plays FROM demo.plays GROUP BY day ORDER BY day",
	"SELECT name, count(*) AS plays FROM demo.plays JOIN demo.titles USING (title_id) GROUP BY name ORDER BY plays DESC LIMIT 10",
	"SELECT * FROM demo.titles",
	"SELECT title_id, name FROM demo.titles LIMIT 10",
	"SELECT * FROM demo.titles LIMIT 5",
	"SELECT * FROM demo.plays",
	"SELECT * FROM demo.profiles",
	"SELECT * FROM demo.events LIMIT 3",
	"SELECT title_id, count(*) AS plays FROM demo.plays GROUP BY title_id",
	"EXPLAIN SELECT device, avg(revenue) FROM demo.plays WHERE day >= DATE '2025-01-20' GROUP BY device",
}

// policyQueries run as the analyst of e2ePolicy (a row filter, a masked
// and a denied column) and as the auditor.
var policyQueries = []string{
	"SELECT device, count(*) AS n, sum(duration_seconds) AS s FROM demo.plays GROUP BY device",
	"SELECT * FROM demo.plays WHERE day = DATE '2025-01-02'",
	"SELECT * FROM demo.profiles",
	"SELECT pr.country, count(*) AS n FROM demo.plays p JOIN demo.profiles pr USING (profile_id) GROUP BY pr.country",
	"SELECT p.*, pr.* FROM demo.plays p JOIN demo.profiles pr USING (profile_id) WHERE p.day = DATE '2025-01-03'",
	"SELECT * EXCLUDE (country) FROM demo.profiles",
}

// TestSchemaContract runs every query of every corpus the project has
// (the planner's golden cases, the e2e corpus, TPC-H, the README's and
// the policy tests' queries, and Hive tables with 0–3 keys) against real
// `quiver serve` processes with 1, 2 and 3 workers, proxied and routed
// directly, and checks that the schema a client is told is the schema it
// gets: GetFlightInfo's against every endpoint's stream, GetSchema's, a
// prepared statement's dataset schema and its endpoints', and
// GetTables(include_schema) against `SELECT *` of each table.
func TestSchemaContract(t *testing.T) {
	if testing.Short() {
		t.Skip("the schema contract over every corpus is not a short test")
	}
	harness.QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	writeContractTables(t, wh)
	corpus := contractCorpus(t)
	t.Logf("%d statements", len(corpus))

	// Every stage kind: repartitioned joins and aggregates finished on the
	// workers, their final fragments streamed straight to the client.
	stages := []string{"--broadcast-rows", "1", "--final-aggregate-groups", "1"}
	for _, tc := range []struct {
		workers int
		routing string
		args    []string
	}{{1, "proxy", nil}, {2, "proxy", nil}, {3, "proxy", nil}, {2, "direct", nil}, {3, "direct", stages}} {
		name := fmt.Sprintf("workers=%d/%s", tc.workers, tc.routing)
		if tc.args != nil {
			name += "/stages"
		}
		t.Run(name, func(t *testing.T) {
			srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: tc.workers,
				Args: append([]string{"--result-routing", tc.routing}, tc.args...)})
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			cl := dialFlightSQL(t, srv.Addr(), mem)
			for _, q := range corpus {
				t.Run(q.name, func(t *testing.T) {
					requireContract(t, queryCtx(t), cl, q.sql)
				})
			}
			t.Run("GetTables", func(t *testing.T) { requireTablesContract(t, queryCtx(t), cl) })
			requireNoMismatch(t, srv)
			require.NoError(t, cl.Close())
			mem.AssertSize(t, 0)
		})
	}

	t.Run("policy", func(t *testing.T) {
		ps := startPolicyServer(t)
		for _, who := range []struct{ name, token string }{{"analyst", ps.analyst}, {"auditor", ps.auditor}} {
			for i, sql := range policyQueries {
				t.Run(fmt.Sprintf("%s/%d", who.name, i), func(t *testing.T) {
					requireContract(t, bearer(who.token), ps.cl, sql)
				})
			}
			t.Run(who.name+"/GetTables", func(t *testing.T) { requireTablesContract(t, bearer(who.token), ps.cl) })
		}
	})
}

// writeContractTables adds TPC-H (sf 0.01, schema main) and the Hive
// tables of contractHive to the warehouse.
func writeContractTables(t *testing.T, wh string) {
	t.Helper()
	tpch := harness.TPCHData(t, 0.01)
	require.NoError(t, os.CopyFS(wh, os.DirFS(tpch)))
	writer := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: []string{}})
	for _, h := range contractHive {
		schema, table, _ := strings.Cut(h.table, ".")
		cols := "i AS id, (i * 0.5)::DOUBLE AS v, 'l' || (i % 5) AS label"
		var keys []string
		for _, k := range h.keys {
			cols += ", " + k[1] + " AS " + k[0]
			keys = append(keys, k[0])
		}
		target, opts := filepath.Join(wh, schema, table), "FORMAT parquet"
		if len(keys) > 0 {
			opts += ", PARTITION_BY (" + strings.Join(keys, ", ") + ")"
		} else {
			require.NoError(t, os.MkdirAll(target, 0o755))
			target = filepath.Join(target, "part-0.parquet")
		}
		require.NoError(t, writer.Exec(queryCtx(t), fmt.Sprintf(
			"COPY (SELECT %s FROM range(0, 600) t(i)) TO '%s' (%s)", cols, target, opts)))
	}
}

// contractCorpus gathers the statements of every corpus.
func contractCorpus(t *testing.T) []contractQuery {
	t.Helper()
	var out []contractQuery
	files, err := filepath.Glob(filepath.Join(harness.RepoRoot(t), "planner", "testdata", "*_cases.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var golden []struct {
			Query string `json:"query"`
		}
		require.NoError(t, json.Unmarshal(raw, &golden))
		require.NotEmpty(t, golden, f)
		topic := strings.TrimSuffix(filepath.Base(f), "_cases.json")
		for i, g := range golden {
			out = append(out, contractQuery{fmt.Sprintf("golden/%s/%03d", topic, i), g.Query})
		}
	}
	for _, q := range loadCorpus(t) {
		out = append(out, contractQuery{"queries.sql/" + q.Name, q.SQL})
	}
	for _, q := range harness.TPCHQueries(t, 0.01) {
		out = append(out, contractQuery{"tpch/" + q.Name(), q.SQL})
	}
	for i, sql := range readmeQueries {
		out = append(out, contractQuery{fmt.Sprintf("readme/%02d", i), sql})
	}
	for _, h := range contractHive {
		for i, sql := range []string{
			"SELECT * FROM " + h.table,
			"SELECT * FROM " + h.table + " WHERE " + h.one,
			"SELECT * FROM " + h.table + " WHERE " + h.none,
			"SELECT x.*, t.name FROM " + h.table + " x JOIN demo.titles t ON t.title_id = x.id",
			"SELECT t.name, x.* FROM demo.titles t JOIN " + h.table + " x ON t.title_id = x.id WHERE x.id < 20",
			"SELECT * EXCLUDE (id) FROM " + h.table,
			"SELECT * REPLACE (v * 2 AS v) FROM " + h.table + " WHERE " + h.one,
			"SELECT * FROM " + h.table + " ORDER BY id LIMIT 7",
			"SELECT DISTINCT * EXCLUDE (id, v) FROM " + h.table,
			"SELECT count(*) AS n, min(id) AS lo FROM " + h.table + " WHERE " + h.one,
		} {
			out = append(out, contractQuery{fmt.Sprintf("%s/%d", h.table, i), sql})
		}
	}
	return out
}

// requireContract checks sql's schema everywhere a client can see it. A
// statement with parameters cannot run unbound: its GetSchema and
// prepared dataset schema must agree.
func requireContract(t *testing.T, ctx context.Context, cl *flightsql.Client, sql string) {
	t.Helper()
	if params := paramCount(t, ctx, cl, sql); params > 0 {
		res, err := cl.GetExecuteSchema(ctx, sql)
		require.NoError(t, err, "GetSchema: %s", describe(err))
		typed, err := flight.DeserializeSchema(res.Schema, cl.Alloc)
		require.NoError(t, err)
		prep, err := cl.Prepare(ctx, sql)
		require.NoError(t, err, "prepare: %s", describe(err))
		defer prep.Close(ctx)
		require.NoError(t, fragwire.CheckSchema(typed, prep.DatasetSchema()), "prepared dataset schema of %s", sql)
		return
	}
	info, err := cl.Execute(ctx, sql)
	require.NoError(t, err, "%s\n%s", sql, describe(err))
	announced, err := flight.DeserializeSchema(info.Schema, cl.Alloc)
	require.NoError(t, err)
	requireStreams(t, ctx, cl, info, announced)

	res, err := cl.GetExecuteSchema(ctx, sql)
	require.NoError(t, err, "GetSchema: %s", describe(err))
	typed, err := flight.DeserializeSchema(res.Schema, cl.Alloc)
	require.NoError(t, err)
	require.NoError(t, fragwire.CheckSchema(announced, typed), "GetSchema of %s", sql)

	prep, err := cl.Prepare(ctx, sql)
	require.NoError(t, err, "prepare: %s", describe(err))
	defer prep.Close(ctx)
	if !strings.HasPrefix(strings.ToUpper(sql), "EXPLAIN") {
		require.NoError(t, fragwire.CheckSchema(announced, prep.DatasetSchema()), "prepared dataset schema of %s", sql)
	}
	pinfo, err := prep.Execute(ctx)
	require.NoError(t, err, "execute prepared: %s", describe(err))
	pannounced, err := flight.DeserializeSchema(pinfo.Schema, cl.Alloc)
	require.NoError(t, err)
	require.NoError(t, fragwire.CheckSchema(announced, pannounced), "prepared FlightInfo of %s", sql)
	requireStreams(t, ctx, cl, pinfo, announced)
}

// paramCount is how many parameters a prepared sql has.
func paramCount(t *testing.T, ctx context.Context, cl *flightsql.Client, sql string) int {
	t.Helper()
	prep, err := cl.Prepare(ctx, sql)
	require.NoError(t, err, "prepare: %s", describe(err))
	defer prep.Close(ctx)
	if prep.ParameterSchema() == nil {
		return 0
	}
	return prep.ParameterSchema().NumFields()
}

// requireStreams reads every endpoint of info, where its location says,
// and checks each stream's schema against want.
func requireStreams(t *testing.T, ctx context.Context, cl *flightsql.Client, info *flight.FlightInfo, want *arrow.Schema) {
	t.Helper()
	for i, ep := range info.Endpoint {
		res, err := harness.FetchAll(ctx, cl, &flight.FlightInfo{Schema: info.Schema, Endpoint: []*flight.FlightEndpoint{ep}})
		require.NoError(t, err, "endpoint %d: %s", i, describe(err))
		err = fragwire.CheckSchema(want, res.Schema)
		res.Release()
		require.NoError(t, err, "endpoint %d of %d", i+1, len(info.Endpoint))
	}
}

// requireTablesContract checks that GetTables(include_schema) describes
// every table as `SELECT *` of it announces and streams it.
func requireTablesContract(t *testing.T, ctx context.Context, cl *flightsql.Client) {
	t.Helper()
	info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true})
	require.NoError(t, err)
	res, err := harness.FetchAll(ctx, cl, info)
	require.NoError(t, err)
	defer res.Release()
	n := 0
	for _, rec := range res.Records {
		for i := 0; i < int(rec.NumRows()); i++ {
			schema, table := rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i)
			listed, err := flight.DeserializeSchema(rec.Column(4).(*array.Binary).Value(i), cl.Alloc)
			require.NoError(t, err)
			sql := fmt.Sprintf("SELECT * FROM %q.%q", schema, table)
			if schema == "system" {
				continue // served by the coordinator, and growing while we look
			}
			qi, err := cl.Execute(ctx, sql)
			require.NoError(t, err, "%s: %s", sql, describe(err))
			announced, err := flight.DeserializeSchema(qi.Schema, cl.Alloc)
			require.NoError(t, err)
			require.NoError(t, fragwire.CheckSchema(listed, announced), "GetTables and %s", sql)
			requireStreams(t, ctx, cl, qi, listed)
			n++
		}
	}
	require.Positive(t, n)
}

// requireNoMismatch checks the server's guard never fired.
func requireNoMismatch(t *testing.T, srv *harness.Server) {
	t.Helper()
	v, ok, err := srv.Metric(queryCtx(t), "quiver_schema_mismatch_total", nil)
	require.NoError(t, err)
	require.True(t, ok, "the server exports quiver_schema_mismatch_total")
	require.Zero(t, v)
}
