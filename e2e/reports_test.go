package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// reportsPolicy grants admins the demo and report tables, and the
// "reporting" principal only demo.plays, filtered by its device claim.
const reportsPolicy = `
rules:
  - match: {roles: [admin]}
    tables: ["demo.*", "reports.*"]
  - match: {sub: reporting}
    tables: [demo.plays]
    row_filters: {demo.plays: "device = $claims.device"}
`

// playsSQL is the format reports' query: per device on the run's date,
// with the run's window as columns, so each run shows what it was bound.
const playsSQL = `SELECT device, count(*) AS plays, min(day) AS first_day,
  CAST({{ window_start }} AS TIMESTAMPTZ) AS window_start, CAST({{ window_end }} AS TIMESTAMPTZ) AS window_end
  FROM demo.plays WHERE day = CAST({{ run_date }} AS DATE) GROUP BY ALL ORDER BY device`

// reportDefs are every report definition the subtests draw on, in this
// order, writing to bucket out: three formats every minute of hour 10;
// policy reports at 11:00; a failing one at 12:00; overlap policies every
// minute of hour 13; the one killed mid-publish at 14:00; one invalid
// definition.
func reportDefs(out string) []reportDef {
	var defs []reportDef
	for _, f := range []struct{ name, ext string }{{"plays_pq", "parquet"}, {"plays_csv", "csv"}, {"plays_jsonl", "jsonl"}} {
		defs = append(defs, reportDef{f.name, fmt.Sprintf(`  - name: %s
    schedule: "* 10 * * *"
    sql: %q
    output: s3://%s/plays/%s/run={{ run_time }}/result.%s
    run_as: ops
    roles: [admin]
`, f.name, playsSQL, out, f.ext, f.ext)})
	}
	for _, d := range []reportDef{
		{"tv_only", `  - name: tv_only
    schedule: "0 11 * * *"
    sql: SELECT device, count(*) AS plays FROM demo.plays GROUP BY device ORDER BY device
    output: warehouse://reports/tv_only/date={{ run_date }}/result.parquet
    run_as: reporting
    claims: {device: tv}
`},
		{"titles_denied", `  - name: titles_denied
    schedule: "0 11 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://OUT/denied/date={{ run_date }}/n.csv
    run_as: reporting
    claims: {device: tv}
    retries: 2
`},
		{"flaky", `  - name: flaky
    schedule: "0 12 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://no-such-bucket/flaky/date={{ run_date }}/n.csv
    run_as: ops
    roles: [admin]
    retries: 2
    backoff: 200ms
`},
		{"overlap_skip", `  - name: overlap_skip
    schedule: "* 13 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://OUT/skip/run={{ run_time }}/n.csv
    run_as: ops
    roles: [admin]
    overlap: skip
`},
		{"overlap_queue", `  - name: overlap_queue
    schedule: "* 13 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://OUT/queue/run={{ run_time }}/n.csv
    run_as: ops
    roles: [admin]
    overlap: queue
`},
		{"kill_me", `  - name: kill_me
    schedule: "0 14 * * *"
    sql: SELECT title_id, count(*) AS plays FROM demo.plays GROUP BY title_id ORDER BY title_id
    output: s3://OUT/kill/date={{ run_date }}/result.parquet
    run_as: ops
    roles: [admin]
`},
		{"broken", `  - name: broken
    schedule: "0 6 * * *"
    timezone: Mars/Phobos
    sql: SELECT 1
    output: s3://OUT/broken/{{ run_date }}.csv
    run_as: ops
`},
	} {
		d.yaml = strings.ReplaceAll(d.yaml, "s3://OUT/", "s3://"+out+"/")
		defs = append(defs, d)
	}
	return defs
}

// reportDef is one report's entry in a reports file.
type reportDef struct{ name, yaml string }

// reportsYAML is a reports file of the named definitions of reportDefs
// (all of them when names is empty).
func reportsYAML(out string, names ...string) string {
	var b strings.Builder
	b.WriteString("reports:\n")
	for _, d := range reportDefs(out) {
		if len(names) == 0 || slices.Contains(names, d.name) {
			b.WriteString(d.yaml)
		}
	}
	return b.String()
}

// reportsFixture is what the TestReports subtests share and none changes:
// MinIO, the demo warehouse each copies, the token secret, the admin's
// token, the policy and an oracle over the demo tables.
type reportsFixture struct {
	secret, admin, policy string
	minio                 *harness.MinIO
	oracle                *harness.Oracle
}

// reportsBase is the key prefix of the demo warehouse in bucket lake.
const reportsBase = "base/"

func newReportsFixture(t *testing.T) *reportsFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &reportsFixture{minio: harness.StartMinIO(t)}
	require.NoError(t, fx.minio.CreateBucket(context.Background(), "lake"))
	wh := "s3://lake/" + strings.TrimSuffix(reportsBase, "/")
	harness.DemoData(t, wh, demoScale, fx.minio.Env(), "--s3-endpoint", fx.minio.Endpoint())
	fx.secret = filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(fx.secret, []byte("reports-secret-reports-secret-0123456789\n"), 0o600))
	fx.admin = quiverToken(t, "--jwt-secret-file", fx.secret, "--sub", "ops", "--role", "admin", "--ttl", "1h")
	fx.policy = filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(fx.policy, []byte(reportsPolicy), 0o600))
	fx.oracle = harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, MinIO: fx.minio, Tables: demoTables})
	return fx
}

// reportEnv is one subtest's own state beside the shared fixture: a copy
// of the demo warehouse (the run history and the tables reports publish
// live in it), an output bucket, a reports file, a clock and a pause
// directory.
type reportEnv struct {
	*reportsFixture
	wh, out, clock, pause, reportsFile string
}

// env sets up a subtest named name (lower case, for bucket names) with
// the clock at `at` and the named report definitions (all when none).
func (fx *reportsFixture) env(t *testing.T, name string, at time.Time, reports ...string) *reportEnv {
	t.Helper()
	dir := t.TempDir()
	e := &reportEnv{reportsFixture: fx, wh: "s3://lake/" + name, out: "out-" + name,
		clock: filepath.Join(dir, "clock"), pause: filepath.Join(dir, "pause"), reportsFile: filepath.Join(dir, "reports.yaml")}
	fx.copyWarehouse(t, name+"/")
	require.NoError(t, fx.minio.CreateBucket(context.Background(), e.out))
	require.NoError(t, os.WriteFile(e.reportsFile, []byte(reportsYAML(e.out, reports...)), 0o600))
	require.NoError(t, os.MkdirAll(e.pause, 0o755))
	e.setClock(t, at)
	return e
}

// copyWarehouse copies the demo warehouse to prefix of bucket lake.
func (fx *reportsFixture) copyWarehouse(t *testing.T, prefix string) {
	t.Helper()
	ctx := context.Background()
	cl := fx.minio.Client()
	for _, key := range keys(t, fx.minio, "lake", reportsBase) {
		var src []string
		for _, seg := range strings.Split("lake/"+key, "/") {
			src = append(src, url.PathEscape(seg))
		}
		_, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lake"),
			Key: aws.String(prefix + strings.TrimPrefix(key, reportsBase)), CopySource: aws.String(strings.Join(src, "/"))})
		require.NoError(t, err, key)
	}
}

func (e *reportEnv) setClock(t *testing.T, at time.Time) {
	t.Helper()
	e.writeClock(t, at.UTC().Format(time.RFC3339))
}

// writeClock replaces the clock file's text.
func (e *reportEnv) writeClock(t *testing.T, text string) {
	t.Helper()
	// Atomically: the server reads the file on every call, and a read
	// between a plain write's truncate and its write sees no time.
	tmp := e.clock + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(text), 0o600))
	require.NoError(t, os.Rename(tmp, e.clock))
}

// reportServer is a `quiver serve` with the report scheduler on e's
// warehouse, clock and pause directory, and an admin's client.
type reportServer struct {
	*harness.Server
	cl    *flightsql.Client
	admin string
}

func startReportServer(t *testing.T, e *reportEnv, extra ...string) *reportServer {
	t.Helper()
	srv := harness.StartServer(t, harness.ServerOptions{
		Warehouse: e.wh, LocalWorkers: 1, S3Endpoint: e.minio.Endpoint(),
		Env: append(e.minio.Env(), "QUIVER_TEST_CLOCK_FILE="+e.clock, "QUIVER_TEST_PUBLISH_PAUSE="+e.pause),
		Args: append([]string{"--jwt-secret-file", e.secret, "--policy-file", e.policy,
			"--reports-file", e.reportsFile, "--reports-poll", "100ms", "--log-format", "json"}, extra...),
		Ready: func(addr string) error {
			cl, err := harness.DialFlightSQL(addr, nil)
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(bearer(e.admin), 5*time.Second)
			defer cancel()
			_, err = selectOne(ctx, cl)
			return err
		},
	})
	return &reportServer{Server: srv, cl: dialFlightSQL(t, srv.Addr(), nil), admin: e.admin}
}

// metric is the value of one sample (name{report="…"}) on /metrics.
func (s *reportServer) metric(t *testing.T, name, report string) float64 {
	t.Helper()
	resp, err := http.Get(s.MetricsURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	prefix := fmt.Sprintf(`%s{report=%q}`, name, report)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("metric %s not found", prefix)
	return 0
}

// runRow is one row of system.report_runs as the test reads it.
type runRow struct {
	report, status, trigger, outputURI, errMsg string
	scheduled                                  time.Time
	attempt                                    int
	rows, bytes                                int64
}

func (r runRow) String() string {
	return fmt.Sprintf("%s %s #%d %s %s", r.report, r.scheduled.UTC().Format("01-02T15:04"), r.attempt, r.trigger, r.status)
}

// runs reads system.report_runs as the admin.
func (s *reportServer) runs(t *testing.T) []runRow {
	t.Helper()
	res, err := harness.RunFlightSQL(bearer(s.admin), s.cl, `SELECT report, status, trigger, coalesce(output_uri, ''),
		coalesce(error, ''), epoch_ms(scheduled_time), attempt, rows, bytes FROM system.report_runs`)
	require.NoError(t, err)
	defer res.Release()
	var out []runRow
	for _, r := range harness.TextRows(res).Rows {
		ms, err := strconv.ParseInt(r[5], 10, 64)
		require.NoError(t, err, r)
		attempt, _ := strconv.Atoi(r[6])
		rows, _ := strconv.ParseInt(r[7], 10, 64)
		bytes, _ := strconv.ParseInt(r[8], 10, 64)
		out = append(out, runRow{report: r[0], status: r[1], trigger: r[2], outputURI: r[3], errMsg: r[4],
			scheduled: time.UnixMilli(ms).UTC(), attempt: attempt, rows: rows, bytes: bytes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// runStrings renders rows as their String forms, in order.
func runStrings(rows []runRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.String())
	}
	return out
}

// waitRuns waits until cond holds over system.report_runs.
func (s *reportServer) waitRuns(t *testing.T, what string, cond func([]runRow) bool) []runRow {
	t.Helper()
	var rows []runRow
	err := harness.PollFor(60*time.Second, 100*time.Millisecond, func() error {
		if rows = s.runs(t); !cond(rows) {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; system.report_runs:\n%v", what, err, rows)
	}
	return rows
}

// waitIdlePolls waits until the scheduler has polled n times without the
// clock moving. Its test clock is read at every poll, and an unreadable
// one keeps the last time read, with a log record: the test makes the
// file unreadable and counts those records, so "nothing ran" is known to
// be the outcome of n polls, not of too little time. The clock is left
// unreadable until the next setClock.
func (s *reportServer) waitIdlePolls(t *testing.T, e *reportEnv, n int) {
	t.Helper()
	off := s.LogOffset()
	e.writeClock(t, "not a time")
	require.Eventually(t, func() bool {
		seen := 0
		for _, r := range s.LogsSince(off) {
			if r.Msg() == "test clock unreadable; keeping its last time" {
				seen++
			}
		}
		return seen >= n
	}, 30*time.Second, 20*time.Millisecond, "%d polls of the scheduler", n)
}

// count is how many rows of report have status.
func count(rows []runRow, report, status string) int {
	n := 0
	for _, r := range rows {
		if r.report == report && r.status == status {
			n++
		}
	}
	return n
}

// keys lists the object keys under prefix of bucket.
func keys(t *testing.T, m *harness.MinIO, bucket, prefix string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(m.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// reportDay is a time on 2025-01-02, the day every scheduled run is on.
func reportDay(h, m, s int) time.Time { return time.Date(2025, 1, 2, h, m, s, 0, time.UTC) }

// checkPlays compares one format report's output at `at` with DuckDB
// running the same query over the same files with the same parameters.
func (e *reportEnv) checkPlays(t *testing.T, format, ext string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	sql := strings.NewReplacer("{{ window_start }}", "?", "{{ window_end }}", "?", "{{ run_date }}", "?").Replace(playsSQL)
	prev := at.Add(-time.Minute)
	if at.Minute() == 0 {
		prev = at.Add(-24*time.Hour + 59*time.Minute) // "* 10 * * *": yesterday's 10:59
	}
	want, err := e.oracle.Query(ctx, sql, prev, at, at.Format(time.DateOnly))
	require.NoError(t, err)
	defer want.Release()
	key := fmt.Sprintf("plays/%s/run=%s/result.%s", ext, at.Format(time.RFC3339), ext)
	uri := "s3://" + e.out + "/" + key
	read := map[string]string{"parquet": "read_parquet", "csv": "read_csv", "jsonl": "read_json"}[ext]
	got, err := e.oracle.Query(ctx, fmt.Sprintf(`SELECT device, plays::BIGINT AS plays, first_day::DATE AS first_day,
		window_start::TIMESTAMPTZ AS window_start, window_end::TIMESTAMPTZ AS window_end FROM %s('%s')`, read, uri))
	require.NoError(t, err, uri)
	defer got.Release()
	require.Positive(t, got.NumRows())
	harness.CompareRows(t, format+" "+at.Format(time.RFC3339), harness.ArrowRows(want), harness.ArrowRows(got), true)
	dir := strings.TrimSuffix(key, "result."+ext)
	require.Equal(t, []string{dir + "_SUCCESS", key}, keys(t, e.minio, e.out, dir), "the object and its marker, no staging left")
}

// TestReports runs scheduled reports on live servers over MinIO with a
// controlled clock: every format on time with its parameters, retries and
// the failure metric, overlap policies, a kill mid-publish and the restart
// that cleans up and re-runs, a backfill, the report principal's policy,
// an invalid definition beside valid ones, system.report_runs across a
// restart, and `quiver query --out s3://…`. The subtests share MinIO, the
// demo data (each copies it: run history lives in the warehouse), tokens
// and the oracle; each has its own warehouse, output bucket, reports,
// clock and server, so any one runs alone.
func TestReports(t *testing.T) {
	harness.RequireTestHooks(t) // the test clock and the publish pause
	ctx := context.Background()
	fx := newReportsFixture(t)

	t.Run("invalid definition is reported, the others are scheduled", func(t *testing.T) {
		e := fx.env(t, "invalid", reportDay(9, 59, 30))
		srv := startReportServer(t, e)
		res := harness.RunQuiver(t, 30*time.Second, nil, "report", "list", "--server", srv.Addr(), "--token", e.admin, "--json")
		require.NoError(t, res.Err, res.Output)
		var list struct {
			Reports []struct {
				Name    string     `json:"name"`
				NextRun *time.Time `json:"next_run"`
			} `json:"reports"`
			Invalid []string `json:"invalid"`
		}
		require.NoError(t, json.Unmarshal([]byte(res.Stdout), &list), res.Stdout)
		require.Len(t, list.Reports, 9)
		require.Equal(t, []string{`report broken: timezone: "Mars/Phobos" is not an IANA time zone (e.g. Europe/Paris, UTC)`}, list.Invalid)
		require.Equal(t, reportDay(10, 0, 0), list.Reports[0].NextRun.UTC(), list.Reports[0].Name)
		require.Contains(t, srv.Logs(), "report definition rejected; the other reports still run")
	})

	formats := []struct{ name, ext string }{{"plays_pq", "parquet"}, {"plays_csv", "csv"}, {"plays_jsonl", "jsonl"}}
	formatRuns := func(r []runRow) int {
		return count(r, "plays_pq", "succeeded") + count(r, "plays_csv", "succeeded") + count(r, "plays_jsonl", "succeeded")
	}

	t.Run("every-minute reports run on time in each format with per-run parameters", func(t *testing.T) {
		e := fx.env(t, "formats", reportDay(9, 59, 30), "plays_pq", "plays_csv", "plays_jsonl")
		srv := startReportServer(t, e)
		srv.waitIdlePolls(t, e, 3) // at 09:59:30 nothing is due
		require.Empty(t, srv.runs(t))
		e.setClock(t, reportDay(10, 0, 0))
		srv.waitRuns(t, "three runs at 10:00", func(r []runRow) bool { return formatRuns(r) == 3 })
		e.setClock(t, reportDay(10, 1, 0))
		rows := srv.waitRuns(t, "three more at 10:01", func(r []runRow) bool { return formatRuns(r) == 6 })
		for _, f := range formats {
			for _, at := range []time.Time{reportDay(10, 0, 0), reportDay(10, 1, 0)} {
				e.checkPlays(t, f.name, f.ext, at)
			}
		}
		for _, r := range rows {
			require.Equal(t, "schedule", r.trigger)
			require.Equal(t, 1, r.attempt)
		}
		require.Equal(t, float64(reportDay(10, 1, 0).Unix()), srv.metric(t, "quiver_report_last_success_timestamp_seconds", "plays_csv"))
		// A jump over many due minutes runs only the latest, 10:59.
		e.setClock(t, reportDay(11, 0, 0))
		rows = srv.waitRuns(t, "the 10:59 runs", func(r []runRow) bool { return formatRuns(r) == 9 })
		var want []string
		for _, f := range formats {
			for _, m := range []int{0, 1, 59} {
				want = append(want, fmt.Sprintf("%s 01-02T10:%02d #1 schedule succeeded", f.name, m))
			}
		}
		sort.Strings(want)
		require.Equal(t, want, runStrings(rows))
	})

	t.Run("policy applies to the report's principal", func(t *testing.T) {
		e := fx.env(t, "policy", reportDay(10, 59, 30), "tv_only", "titles_denied")
		rcv := startLineageReceiver(t)
		srv := startReportServer(t, e, "--openlineage-url", rcv.URL())
		e.setClock(t, reportDay(11, 0, 0))
		rows := srv.waitRuns(t, "the 11:00 reports", func(r []runRow) bool {
			return count(r, "tv_only", "succeeded") == 1 && count(r, "titles_denied", "failed") == 1
		})
		for _, r := range rows {
			if r.report == "titles_denied" {
				require.Equal(t, 1, r.attempt, "a policy denial is not retried")
				require.Contains(t, r.errMsg, "demo.titles")
			}
		}
		require.Empty(t, keys(t, e.minio, e.out, "denied/"), "nothing published for the denied report")
		// tv_only published into the warehouse: it is a table now, and it
		// holds only what the reporting principal's row filter let through.
		res, err := harness.RunFlightSQL(bearer(e.admin), srv.cl, "SELECT device, plays, date FROM reports.tv_only")
		require.NoError(t, err)
		defer res.Release()
		want, err := e.oracle.Query(ctx, "SELECT device, count(*) AS plays, DATE '2025-01-02' AS date FROM demo.plays WHERE device = 'tv' GROUP BY device")
		require.NoError(t, err)
		defer want.Release()
		harness.CompareRows(t, "tv_only", harness.TextRows(want), harness.TextRows(res), false)

		// The run's lineage names the object it published as its output
		// dataset, and the reporting principal's row filter.
		var uri string
		for _, r := range rows {
			if r.report == "tv_only" {
				uri = r.outputURI
			}
		}
		lin, err := harness.RunFlightSQL(bearer(e.admin), srv.cl, `SELECT run_id LIKE 'tv_only%', output_dataset, coalesce(output_column, '*'),
			source_schema || '.' || source_table || '.' || source_column, kind, policy FROM system.lineage WHERE report = 'tv_only' ORDER BY ALL`)
		require.NoError(t, err)
		defer lin.Release()
		require.Equal(t, [][]string{
			{"true", uri, "*", "demo.plays.device", "filter", "true"},
			{"true", uri, "*", "demo.plays.device", "group_by", "false"},
			{"true", uri, "*", "demo.plays.device", "sort", "false"},
			{"true", uri, "device", "demo.plays.device", "identity", "false"},
		}, harness.TextRows(lin).Rows)

		// OpenLineage: each run a START and a COMPLETE or FAIL; the
		// successful one names the published object with its column
		// lineage (the policy's row filter among the dataset's).
		events := rcv.wait(t, "both runs ended", func(evs []map[string]any) bool { return len(evs) >= 4 })
		byJob := map[any][]map[string]any{}
		for _, ev := range events {
			byJob[field(ev, "job", "name")] = append(byJob[field(ev, "job", "name")], ev)
		}
		denied := byJob["report.titles_denied"]
		require.Len(t, denied, 2)
		require.Equal(t, []any{"START", "FAIL"}, []any{denied[0]["eventType"], denied[1]["eventType"]})
		require.Contains(t, field(denied[1], "run", "facets", "errorMessage", "message"), "demo.titles")
		tv := byJob["report.tv_only"]
		require.Len(t, tv, 2)
		require.Equal(t, []any{"START", "COMPLETE"}, []any{tv[0]["eventType"], tv[1]["eventType"]})
		require.Equal(t, "quiver.demo.plays", field(tv[1], "inputs", 0, "name"))
		out := field(tv[1], "outputs", 0)
		require.Equal(t, uri, field(out, "namespace").(string)+"/"+field(out, "name").(string))
		require.Equal(t, "plays", field(out, "facets", "schema", "fields", 1, "name"))
		require.Equal(t, "IDENTITY", field(out, "facets", "columnLineage", "fields", "device", "inputFields", 0, "transformations", 0, "subtype"))
		var indirect []string
		for _, d := range field(out, "facets", "columnLineage", "dataset").([]any) {
			tr := field(d, "transformations", 0)
			indirect = append(indirect, fmt.Sprint(field(d, "field"), " ", field(tr, "subtype"), " ", field(tr, "description")))
		}
		require.ElementsMatch(t, []string{"device FILTER row filter of the principal's policy", "device GROUP_BY <nil>", "device SORT <nil>"}, indirect)
	})

	t.Run("a failing report retries with backoff then records the failure", func(t *testing.T) {
		// plays_csv is there to show the failure is counted per report.
		e := fx.env(t, "flaky", reportDay(11, 59, 30), "flaky", "plays_csv")
		srv := startReportServer(t, e)
		off := srv.LogOffset()
		e.setClock(t, reportDay(12, 0, 0))
		rows := srv.waitRuns(t, "flaky to fail", func(r []runRow) bool { return count(r, "flaky", "failed") == 1 })
		require.Equal(t, 2, count(rows, "flaky", "retrying"))
		for _, r := range rows {
			if r.report == "flaky" {
				require.Contains(t, r.errMsg, "no-such-bucket")
			}
		}
		var backoffs []string
		for _, rec := range srv.LogsSince(off) {
			if rec.Msg() == "report run failed; retrying" && rec.Str("report") == "flaky" {
				backoffs = append(backoffs, rec.Str("backoff"))
			}
		}
		require.Equal(t, []string{"200ms", "400ms"}, backoffs)
		require.Equal(t, 1.0, srv.metric(t, "quiver_report_failures_total", "flaky"))
		require.Equal(t, 0.0, srv.metric(t, "quiver_report_failures_total", "plays_csv"))
	})

	t.Run("overlap policies", func(t *testing.T) {
		e := fx.env(t, "overlap", reportDay(12, 59, 30), "overlap_skip", "overlap_queue")
		srv := startReportServer(t, e)
		for _, r := range []string{"overlap_skip", "overlap_queue"} {
			require.NoError(t, os.WriteFile(filepath.Join(e.pause, r+".pause"), nil, 0o600))
		}
		e.setClock(t, reportDay(13, 0, 0))
		for _, r := range []string{"overlap_skip", "overlap_queue"} {
			require.Eventually(t, func() bool {
				_, err := os.Stat(filepath.Join(e.pause, r+".paused"))
				return err == nil
			}, 60*time.Second, 20*time.Millisecond, r)
		}
		e.setClock(t, reportDay(13, 1, 0))
		srv.waitRuns(t, "the 13:01 skip", func(r []runRow) bool { return count(r, "overlap_skip", "skipped") == 1 })
		require.NoError(t, os.Remove(filepath.Join(e.pause, "overlap_skip.pause")))
		require.NoError(t, os.Remove(filepath.Join(e.pause, "overlap_queue.pause")))
		rows := srv.waitRuns(t, "the overlap runs", func(r []runRow) bool {
			return count(r, "overlap_skip", "succeeded") == 1 && count(r, "overlap_queue", "succeeded") == 2
		})
		require.Equal(t, []string{
			"overlap_queue 01-02T13:00 #1 schedule succeeded",
			"overlap_queue 01-02T13:01 #1 schedule succeeded",
			"overlap_skip 01-02T13:00 #1 schedule succeeded",
			"overlap_skip 01-02T13:01 #0 schedule skipped",
		}, runStrings(rows))
		require.Len(t, keys(t, e.minio, e.out, "queue/"), 4, "two outputs and two markers")
		require.Len(t, keys(t, e.minio, e.out, "skip/"), 2)
	})

	// backfill runs plays_csv by hand for 2025-01-05 10:00.
	backfill := func(t *testing.T, srv *reportServer, token string) harness.RunResult {
		return harness.RunQuiver(t, 60*time.Second, nil, "report", "run", "plays_csv", "--at", "2025-01-05T10:00:00Z",
			"--server", srv.Addr(), "--token", token)
	}

	t.Run("backfill writes its own date key", func(t *testing.T) {
		e := fx.env(t, "backfill", reportDay(9, 59, 30), "plays_csv")
		srv := startReportServer(t, e)
		res := backfill(t, srv, e.admin)
		require.NoError(t, res.Err, res.Output)
		require.Contains(t, res.Stdout, "succeeded")
		require.Contains(t, res.Stdout, "s3://"+e.out+"/plays/csv/run=2025-01-05T10:00:00Z/result.csv")
		e.checkPlays(t, "backfill", "csv", time.Date(2025, 1, 5, 10, 0, 0, 0, time.UTC))
		// The same logical time again is refused (the output exists) …
		res = backfill(t, srv, e.admin)
		require.Error(t, res.Err)
		require.Contains(t, res.Output, "already exists")
		// … and another principal cannot trigger an admin's report.
		other := quiverToken(t, "--jwt-secret-file", e.secret, "--sub", "mallory", "--ttl", "1h")
		res = harness.RunQuiver(t, 60*time.Second, nil, "report", "run", "plays_csv", "--server", srv.Addr(), "--token", other)
		require.Error(t, res.Err)
		require.Contains(t, res.Output, "NotFound")
	})

	t.Run("quiver query --out publishes atomically", func(t *testing.T) {
		e := fx.env(t, "adhoc", reportDay(9, 59, 30), "plays_csv")
		srv := startReportServer(t, e)
		uri := "s3://" + e.out + "/adhoc/devices.csv"
		args := []string{"query", "SELECT device, count(*) AS n FROM demo.plays GROUP BY device ORDER BY device",
			"--server", srv.Addr(), "--token", e.admin, "--out", uri, "--s3-endpoint", e.minio.Endpoint()}
		res := harness.RunQuiver(t, 60*time.Second, e.minio.Env(), args...)
		require.NoError(t, res.Err, res.Output)
		require.Contains(t, res.Output, "published "+uri)
		require.Equal(t, []string{"adhoc/_SUCCESS", "adhoc/devices.csv"}, keys(t, e.minio, e.out, "adhoc/"))
		got, err := e.oracle.Query(ctx, "SELECT * FROM read_csv('"+uri+"')")
		require.NoError(t, err)
		defer got.Release()
		want, err := e.oracle.Query(ctx, "SELECT device, count(*) AS n FROM demo.plays GROUP BY device ORDER BY device")
		require.NoError(t, err)
		defer want.Release()
		harness.CompareRows(t, "query --out", harness.ArrowRows(want), harness.ArrowRows(got), true)
		res = harness.RunQuiver(t, 60*time.Second, e.minio.Env(), args...)
		require.Error(t, res.Err)
		require.Contains(t, res.Output, "already exists")
		res = harness.RunQuiver(t, 60*time.Second, e.minio.Env(), append(args, "--replace")...)
		require.NoError(t, res.Err, res.Output)
	})

	t.Run("killed mid-publish: nothing visible, the next start cleans up and re-runs", func(t *testing.T) {
		e := fx.env(t, "kill", reportDay(13, 59, 30), "kill_me")
		srv := startReportServer(t, e)
		require.NoError(t, os.WriteFile(filepath.Join(e.pause, "kill_me.pause"), nil, 0o600))
		e.setClock(t, reportDay(14, 0, 0))
		var pid []byte
		require.Eventually(t, func() bool {
			var err error
			pid, err = os.ReadFile(filepath.Join(e.pause, "kill_me.paused"))
			return err == nil && len(pid) > 0
		}, 60*time.Second, 20*time.Millisecond)
		require.Equal(t, strconv.Itoa(srv.PID()), string(pid), "the server itself is paused")
		staged := keys(t, e.minio, e.out, "kill/")
		require.Len(t, staged, 1, "only the staging object")
		require.True(t, strings.HasPrefix(staged[0], "kill/date=2025-01-02/_staging-"), staged[0])
		require.NoError(t, srv.Kill())
		require.NoError(t, os.Remove(filepath.Join(e.pause, "kill_me.pause")))

		// What a reader sees after the kill: no object, no marker.
		require.Equal(t, staged, keys(t, e.minio, e.out, "kill/"))
		e.setClock(t, reportDay(14, 0, 30))
		srv = startReportServer(t, e)
		rows := srv.waitRuns(t, "kill_me to be re-run", func(r []runRow) bool { return count(r, "kill_me", "succeeded") == 1 })
		require.Equal(t, []string{"kill_me 01-02T14:00 #1 catch-up succeeded", "kill_me 01-02T14:00 #1 schedule interrupted"},
			runStrings(rows))
		require.Eventually(t, func() bool {
			return len(keys(t, e.minio, e.out, "kill/")) == 2
		}, 30*time.Second, 100*time.Millisecond)
		require.Equal(t, []string{"kill/date=2025-01-02/_SUCCESS", "kill/date=2025-01-02/result.parquet"},
			keys(t, e.minio, e.out, "kill/"), "staging cleaned, object and marker published")
		got, err := e.oracle.Query(ctx, "SELECT * FROM read_parquet('s3://"+e.out+"/kill/date=2025-01-02/result.parquet', hive_partitioning = false)")
		require.NoError(t, err)
		defer got.Release()
		want, err := e.oracle.Query(ctx, "SELECT title_id, count(*) AS plays FROM demo.plays GROUP BY title_id ORDER BY title_id")
		require.NoError(t, err)
		defer want.Release()
		harness.Compare(t, "kill_me", want, got, true)
	})

	t.Run("system.report_runs matches what happened, across the restart", func(t *testing.T) {
		e := fx.env(t, "history", reportDay(9, 59, 30), "plays_pq", "plays_csv", "flaky")
		srv := startReportServer(t, e)
		e.setClock(t, reportDay(10, 0, 0))
		srv.waitRuns(t, "the 10:00 runs", func(r []runRow) bool {
			return count(r, "plays_pq", "succeeded") == 1 && count(r, "plays_csv", "succeeded") == 1
		})
		res := backfill(t, srv, e.admin)
		require.NoError(t, res.Err, res.Output)
		require.Error(t, backfill(t, srv, e.admin).Err, "the output exists")
		// The jump to 12:00 runs flaky and the format reports' 10:59.
		e.setClock(t, reportDay(12, 0, 0))
		before := srv.waitRuns(t, "the 12:00 runs", func(r []runRow) bool {
			return count(r, "flaky", "failed") == 1 && count(r, "plays_pq", "succeeded") == 2 && count(r, "plays_csv", "succeeded") == 3
		})
		require.NoError(t, srv.Kill())
		e.setClock(t, reportDay(12, 0, 30))
		srv = startReportServer(t, e)

		rows := srv.runs(t)
		got := runStrings(rows)
		require.Equal(t, []string{
			"flaky 01-02T12:00 #1 schedule retrying", "flaky 01-02T12:00 #2 schedule retrying", "flaky 01-02T12:00 #3 schedule failed",
			"plays_csv 01-02T10:00 #1 schedule succeeded", "plays_csv 01-02T10:59 #1 schedule succeeded",
			"plays_csv 01-05T10:00 #1 manual failed", "plays_csv 01-05T10:00 #1 manual succeeded",
			"plays_pq 01-02T10:00 #1 schedule succeeded", "plays_pq 01-02T10:59 #1 schedule succeeded",
		}, got)
		require.Equal(t, runStrings(before), got, "everything recorded before the kill survived it")
		// Rows and bytes are those of the published objects.
		for _, r := range rows {
			if r.status != "succeeded" {
				continue
			}
			key, ok := strings.CutPrefix(r.outputURI, "s3://"+e.out+"/")
			require.True(t, ok, r.outputURI)
			head, err := e.minio.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.out), Key: aws.String(key)})
			require.NoError(t, err, key)
			require.Equal(t, aws.ToInt64(head.ContentLength), r.bytes, key)
			obj, err := e.minio.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.out),
				Key: aws.String(key[:strings.LastIndexByte(key, '/')+1] + "_SUCCESS")})
			require.NoError(t, err)
			var m struct {
				Rows  int64 `json:"rows"`
				Bytes int64 `json:"bytes"`
			}
			require.NoError(t, json.NewDecoder(obj.Body).Decode(&m))
			obj.Body.Close()
			require.Equal(t, r.rows, m.Rows, key)
			require.Equal(t, r.bytes, m.Bytes, key)
		}
	})
}

// TestReportsListWithoutReportsFile: on a server started without
// --reports-file, report list says so in one line, and --json still
// prints the JSON.
func TestReportsListWithoutReportsFile(t *testing.T) {
	srv, _ := opsServer(t, "")
	res := harness.RunQuiver(t, 30*time.Second, nil, "report", "list", "--server", srv.Addr())
	require.NoError(t, res.Err, res.Output)
	require.Equal(t, "no reports on this server (start it with --reports-file FILE)\n", res.Stdout)
	res = harness.RunQuiver(t, 30*time.Second, nil, "report", "list", "--server", srv.Addr(), "--json")
	require.NoError(t, res.Err, res.Output)
	require.JSONEq(t, `{"reports": [], "configured": false}`, res.Stdout)
}

// TestReportsExampleFile: examples/reports.yaml, which `make demo` serves,
// is valid, and each of its reports backfilled on a day inside the demo
// data publishes rows.
func TestReportsExampleFile(t *testing.T) {
	file := filepath.Join(harness.RepoRoot(t), "examples", "reports.yaml")
	res := harness.RunQuiver(t, 30*time.Second, nil, "report", "check", file)
	require.NoError(t, res.Err, res.Output)
	wh := t.TempDir()
	harness.DemoData(t, wh, 0.01, nil)
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 1,
		Args: []string{"--reports-file", file, "--reports-catch-up=false"}})
	res = harness.RunQuiver(t, 30*time.Second, nil, "report", "list", "--server", srv.Addr(), "--json")
	require.NoError(t, res.Err, res.Output)
	var list struct {
		Reports []struct {
			Name string `json:"name"`
		} `json:"reports"`
		Invalid []string `json:"invalid"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &list), res.Stdout)
	require.Empty(t, list.Invalid)
	require.Len(t, list.Reports, 3)
	for _, r := range list.Reports {
		t.Run(r.Name, func(t *testing.T) {
			// A Monday inside the data: the weekly window is the week before.
			res := harness.RunQuiver(t, time.Minute, nil, "report", "run", r.Name, "--at", "2025-01-20T08:00",
				"--server", srv.Addr(), "--json")
			require.NoError(t, res.Err, res.Output)
			var run struct {
				Status string `json:"status"`
				Rows   int64  `json:"rows"`
			}
			require.NoError(t, json.Unmarshal([]byte(res.Stdout), &run), res.Stdout)
			require.Equal(t, "succeeded", run.Status, res.Stdout)
			require.Positive(t, run.Rows, "report %s found no rows in the demo data", r.Name)
		})
	}
}
