package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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

// reportsYAML: three formats every minute of hour 10; policy reports at
// 11:00; a failing one at 12:00; overlap policies every minute of hour
// 13; the one killed mid-publish at 14:00; one invalid definition.
func reportsYAML() string {
	var b strings.Builder
	b.WriteString("reports:\n")
	for _, f := range []struct{ name, ext string }{{"plays_pq", "parquet"}, {"plays_csv", "csv"}, {"plays_jsonl", "jsonl"}} {
		fmt.Fprintf(&b, `  - name: %s
    schedule: "* 10 * * *"
    sql: %q
    output: s3://out/plays/%s/run={{ run_time }}/result.%s
    run_as: ops
    roles: [admin]
`, f.name, playsSQL, f.ext, f.ext)
	}
	b.WriteString(`  - name: tv_only
    schedule: "0 11 * * *"
    sql: SELECT device, count(*) AS plays FROM demo.plays GROUP BY device ORDER BY device
    output: warehouse://reports/tv_only/date={{ run_date }}/result.parquet
    run_as: reporting
    claims: {device: tv}
  - name: titles_denied
    schedule: "0 11 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://out/denied/date={{ run_date }}/n.csv
    run_as: reporting
    claims: {device: tv}
    retries: 2
  - name: flaky
    schedule: "0 12 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://no-such-bucket/flaky/date={{ run_date }}/n.csv
    run_as: ops
    roles: [admin]
    retries: 2
    backoff: 200ms
  - name: overlap_skip
    schedule: "* 13 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://out/skip/run={{ run_time }}/n.csv
    run_as: ops
    roles: [admin]
    overlap: skip
  - name: overlap_queue
    schedule: "* 13 * * *"
    sql: SELECT count(*) AS n FROM demo.titles
    output: s3://out/queue/run={{ run_time }}/n.csv
    run_as: ops
    roles: [admin]
    overlap: queue
  - name: kill_me
    schedule: "0 14 * * *"
    sql: SELECT title_id, count(*) AS plays FROM demo.plays GROUP BY title_id ORDER BY title_id
    output: s3://out/kill/date={{ run_date }}/result.parquet
    run_as: ops
    roles: [admin]
  - name: broken
    schedule: "0 6 * * *"
    timezone: Mars/Phobos
    sql: SELECT 1
    output: s3://out/broken/{{ run_date }}.csv
    run_as: ops
`)
	return b.String()
}

// reportEnv is everything a report server is started with.
type reportEnv struct {
	dir, wh, secret, admin, clock, pause, reportsFile, policy string
	minio                                                     *harness.MinIO
	oracle                                                    *harness.Oracle
}

func (e *reportEnv) setClock(t *testing.T, at time.Time) {
	t.Helper()
	// Atomically: the server reads the file on every call, and a read
	// between a plain write's truncate and its write sees no time.
	tmp := e.clock + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(at.UTC().Format(time.RFC3339)), 0o600))
	require.NoError(t, os.Rename(tmp, e.clock))
}

// reportServer is one `quiver serve` process this test started.
type reportServer struct {
	addr, metricsURL string
	cmd              *exec.Cmd
	logs             *syncBuffer
	done             chan struct{}
	cl               *flightsql.Client
}

func startReportServer(t *testing.T, e *reportEnv) *reportServer {
	t.Helper()
	bin := harness.QuiverBin(t)
	s := &reportServer{
		addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(harness.FreePort(t))),
		metricsURL: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(harness.FreePort(t))) + "/metrics",
		logs:       &syncBuffer{},
		done:       make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "serve", "--listen", s.addr, "--warehouse", e.wh, "--local-workers", "1",
		"--extension-dir", harness.ExtensionDir(t), "--s3-endpoint", e.minio.Endpoint(),
		"--metrics-listen", strings.TrimSuffix(strings.TrimPrefix(s.metricsURL, "http://"), "/metrics"),
		"--jwt-secret-file", e.secret, "--policy-file", e.policy,
		"--reports-file", e.reportsFile, "--reports-poll", "100ms", "--log-format", "json")
	s.cmd.Env = append(os.Environ(), append(e.minio.Env(), "AWS_EC2_METADATA_DISABLED=true",
		"QUIVER_TEST_CLOCK_FILE="+e.clock, "QUIVER_TEST_PUBLISH_PAUSE="+e.pause)...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	require.NoError(t, s.cmd.Start())
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			t.Logf("quiver serve %s output:\n%s", s.addr, s.logs.String())
		}
	})
	cl, err := harness.DialFlightSQL(s.addr, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	s.cl = cl
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("quiver serve exited:\n%s", s.logs.String())
		default:
		}
		if _, err := selectOne(bearer(e.admin), cl); err == nil {
			return s
		} else if time.Now().After(deadline) {
			t.Fatalf("quiver serve not ready: %v\n%s", err, s.logs.String())
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// kill SIGKILLs the server's process group (the server and its worker).
func (s *reportServer) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL))
	<-s.done
}

// metric is the value of one sample (name{report="…"}) on /metrics.
func (s *reportServer) metric(t *testing.T, name, report string) float64 {
	t.Helper()
	resp, err := http.Get(s.metricsURL)
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
func (s *reportServer) runs(t *testing.T, e *reportEnv) []runRow {
	t.Helper()
	res, err := harness.RunFlightSQL(bearer(e.admin), s.cl, `SELECT report, status, trigger, coalesce(output_uri, ''),
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

// waitRuns waits until cond holds over system.report_runs.
func (s *reportServer) waitRuns(t *testing.T, e *reportEnv, what string, cond func([]runRow) bool) []runRow {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows := s.runs(t, e)
		if cond(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; system.report_runs:\n%v", what, rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
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

// TestReports runs scheduled reports on a live server over MinIO with a
// controlled clock: every format on time with its parameters, retries and
// the failure metric, overlap policies, a kill mid-publish and the restart
// that cleans up and re-runs, a backfill, the report principal's policy,
// an invalid definition beside valid ones, system.report_runs, and
// `quiver query --out s3://…`.
func TestReports(t *testing.T) {
	top := t
	harness.QuiverBin(t)
	ctx := context.Background()
	e := &reportEnv{dir: t.TempDir()}
	e.minio = harness.StartMinIO(t)
	for _, b := range []string{"lake", "out"} {
		require.NoError(t, e.minio.CreateBucket(ctx, b))
	}
	e.wh = "s3://lake/wh"
	harness.DemoData(t, e.wh, demoScale, e.minio.Env(), "--s3-endpoint", e.minio.Endpoint())
	e.secret = filepath.Join(e.dir, "secret")
	require.NoError(t, os.WriteFile(e.secret, []byte("reports-secret-reports-secret-0123456789\n"), 0o600))
	e.admin = quiverToken(t, "--jwt-secret-file", e.secret, "--sub", "ops", "--role", "admin", "--ttl", "1h")
	e.policy = filepath.Join(e.dir, "policy.yaml")
	require.NoError(t, os.WriteFile(e.policy, []byte(reportsPolicy), 0o600))
	e.reportsFile = filepath.Join(e.dir, "reports.yaml")
	require.NoError(t, os.WriteFile(e.reportsFile, []byte(reportsYAML()), 0o600))
	e.clock = filepath.Join(e.dir, "clock")
	e.pause = filepath.Join(e.dir, "pause")
	require.NoError(t, os.MkdirAll(e.pause, 0o755))
	day := func(h, m, s int) time.Time { return time.Date(2025, 1, 2, h, m, s, 0, time.UTC) }
	e.setClock(t, day(9, 59, 30))
	e.oracle = harness.NewOracle(t, harness.OracleOptions{Warehouse: e.wh, MinIO: e.minio, Tables: demoTables})
	srv := startReportServer(t, e)

	t.Run("invalid definition is reported, the others are scheduled", func(t *testing.T) {
		res := harness.RunQuiver(t, 30*time.Second, nil, "report", "list", "--server", srv.addr, "--token", e.admin, "--json")
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
		require.Equal(t, day(10, 0, 0), list.Reports[0].NextRun.UTC(), list.Reports[0].Name)
		require.Contains(t, srv.logs.String(), "report definition rejected; the other reports still run")
	})

	// checkPlays compares one format report's output with DuckDB running
	// the same query over the same files with the same parameters.
	checkPlays := func(t *testing.T, format, ext string, at time.Time) {
		t.Helper()
		sql := strings.NewReplacer("{{ window_start }}", "?", "{{ window_end }}", "?", "{{ run_date }}", "?").Replace(playsSQL)
		prev := at.Add(-time.Minute)
		if at.Minute() == 0 {
			prev = at.Add(-24*time.Hour + 59*time.Minute) // "* 10 * * *": yesterday's 10:59
		}
		want, err := e.oracle.Query(ctx, sql, prev, at, at.Format(time.DateOnly))
		require.NoError(t, err)
		defer want.Release()
		uri := fmt.Sprintf("s3://out/plays/%s/run=%s/result.%s", ext, at.Format(time.RFC3339), ext)
		read := map[string]string{"parquet": "read_parquet", "csv": "read_csv", "jsonl": "read_json"}[ext]
		got, err := e.oracle.Query(ctx, fmt.Sprintf(`SELECT device, plays::BIGINT AS plays, first_day::DATE AS first_day,
			window_start::TIMESTAMPTZ AS window_start, window_end::TIMESTAMPTZ AS window_end FROM %s('%s')`, read, uri))
		require.NoError(t, err, uri)
		defer got.Release()
		require.Positive(t, got.NumRows())
		harness.CompareRows(t, format+" "+at.Format(time.RFC3339), harness.ArrowRows(want), harness.ArrowRows(got), true)
		marker := keys(t, e.minio, "out", strings.TrimPrefix(strings.TrimSuffix(uri, "result."+ext), "s3://out/"))
		require.Equal(t, []string{strings.TrimPrefix(strings.TrimSuffix(uri, "result."+ext), "s3://out/") + "_SUCCESS",
			strings.TrimPrefix(uri, "s3://out/")}, marker, "the object and its marker, no staging left")
	}

	t.Run("every-minute reports run on time in each format with per-run parameters", func(t *testing.T) {
		time.Sleep(500 * time.Millisecond) // several polls at 09:59:30: nothing is due
		require.Empty(t, srv.runs(t, e))
		e.setClock(t, day(10, 0, 0))
		srv.waitRuns(t, e, "three runs at 10:00", func(r []runRow) bool {
			return count(r, "plays_pq", "succeeded")+count(r, "plays_csv", "succeeded")+count(r, "plays_jsonl", "succeeded") == 3
		})
		e.setClock(t, day(10, 1, 0))
		rows := srv.waitRuns(t, e, "three more at 10:01", func(r []runRow) bool {
			return count(r, "plays_pq", "succeeded")+count(r, "plays_csv", "succeeded")+count(r, "plays_jsonl", "succeeded") == 6
		})
		for _, f := range []struct{ name, ext string }{{"plays_pq", "parquet"}, {"plays_csv", "csv"}, {"plays_jsonl", "jsonl"}} {
			for _, at := range []time.Time{day(10, 0, 0), day(10, 1, 0)} {
				checkPlays(t, f.name, f.ext, at)
			}
		}
		for _, r := range rows {
			require.Equal(t, "schedule", r.trigger)
			require.Equal(t, 1, r.attempt)
		}
		require.Equal(t, float64(day(10, 1, 0).Unix()), srv.metric(t, "quiver_report_last_success_timestamp_seconds", "plays_csv"))
	})

	t.Run("policy applies to the report's principal", func(t *testing.T) {
		e.setClock(t, day(11, 0, 0))
		rows := srv.waitRuns(t, e, "the 11:00 reports", func(r []runRow) bool {
			return count(r, "tv_only", "succeeded") == 1 && count(r, "titles_denied", "failed") == 1 &&
				// the jump also ran the format reports' latest due minute, 10:59
				count(r, "plays_pq", "succeeded")+count(r, "plays_csv", "succeeded")+count(r, "plays_jsonl", "succeeded") == 9
		})
		for _, r := range rows {
			if r.report == "titles_denied" {
				require.Equal(t, 1, r.attempt, "a policy denial is not retried")
				require.Contains(t, r.errMsg, "demo.titles")
			}
		}
		require.Empty(t, keys(t, e.minio, "out", "denied/"), "nothing published for the denied report")
		// tv_only published into the warehouse: it is a table now, and it
		// holds only what the reporting principal's row filter let through.
		res, err := harness.RunFlightSQL(bearer(e.admin), srv.cl, "SELECT device, plays, date FROM reports.tv_only")
		require.NoError(t, err)
		defer res.Release()
		want, err := e.oracle.Query(ctx, "SELECT device, count(*) AS plays, DATE '2025-01-02' AS date FROM demo.plays WHERE device = 'tv' GROUP BY device")
		require.NoError(t, err)
		defer want.Release()
		harness.CompareRows(t, "tv_only", harness.TextRows(want), harness.TextRows(res), false)
	})

	t.Run("a failing report retries with backoff then records the failure", func(t *testing.T) {
		off := len(srv.logs.String())
		e.setClock(t, day(12, 0, 0))
		rows := srv.waitRuns(t, e, "flaky to fail", func(r []runRow) bool { return count(r, "flaky", "failed") == 1 })
		require.Equal(t, 2, count(rows, "flaky", "retrying"))
		for _, r := range rows {
			if r.report == "flaky" {
				require.Contains(t, r.errMsg, "no-such-bucket")
			}
		}
		var backoffs []string
		for _, rec := range harness.ParseLogs(srv.logs.String()[off:]) {
			if rec.Msg() == "report run failed; retrying" && rec.Str("report") == "flaky" {
				backoffs = append(backoffs, rec.Str("backoff"))
			}
		}
		require.Equal(t, []string{"200ms", "400ms"}, backoffs)
		require.Equal(t, 1.0, srv.metric(t, "quiver_report_failures_total", "flaky"))
		require.Equal(t, 0.0, srv.metric(t, "quiver_report_failures_total", "plays_csv"))
	})

	t.Run("overlap policies", func(t *testing.T) {
		for _, r := range []string{"overlap_skip", "overlap_queue"} {
			require.NoError(t, os.WriteFile(filepath.Join(e.pause, r+".pause"), nil, 0o600))
		}
		e.setClock(t, day(13, 0, 0))
		for _, r := range []string{"overlap_skip", "overlap_queue"} {
			require.Eventually(t, func() bool {
				_, err := os.Stat(filepath.Join(e.pause, r+".paused"))
				return err == nil
			}, 60*time.Second, 20*time.Millisecond, r)
		}
		e.setClock(t, day(13, 1, 0))
		srv.waitRuns(t, e, "the 13:01 skip", func(r []runRow) bool { return count(r, "overlap_skip", "skipped") == 1 })
		require.NoError(t, os.Remove(filepath.Join(e.pause, "overlap_skip.pause")))
		require.NoError(t, os.Remove(filepath.Join(e.pause, "overlap_queue.pause")))
		rows := srv.waitRuns(t, e, "the overlap runs", func(r []runRow) bool {
			return count(r, "overlap_skip", "succeeded") == 1 && count(r, "overlap_queue", "succeeded") == 2
		})
		var got []string
		for _, r := range rows {
			if strings.HasPrefix(r.report, "overlap_") {
				got = append(got, r.String())
			}
		}
		require.Equal(t, []string{
			"overlap_queue 01-02T13:00 #1 schedule succeeded",
			"overlap_queue 01-02T13:01 #1 schedule succeeded",
			"overlap_skip 01-02T13:00 #1 schedule succeeded",
			"overlap_skip 01-02T13:01 #0 schedule skipped",
		}, got)
		require.Len(t, keys(t, e.minio, "out", "queue/"), 4, "two outputs and two markers")
		require.Len(t, keys(t, e.minio, "out", "skip/"), 2)
	})

	t.Run("backfill writes its own date key", func(t *testing.T) {
		res := harness.RunQuiver(t, 60*time.Second, nil, "report", "run", "plays_csv", "--at", "2025-01-05T10:00:00Z",
			"--server", srv.addr, "--token", e.admin)
		require.NoError(t, res.Err, res.Output)
		require.Contains(t, res.Stdout, "succeeded")
		require.Contains(t, res.Stdout, "s3://out/plays/csv/run=2025-01-05T10:00:00Z/result.csv")
		checkPlays(t, "backfill", "csv", time.Date(2025, 1, 5, 10, 0, 0, 0, time.UTC))
		// The same logical time again is refused (the output exists) …
		res = harness.RunQuiver(t, 60*time.Second, nil, "report", "run", "plays_csv", "--at", "2025-01-05T10:00:00Z",
			"--server", srv.addr, "--token", e.admin)
		require.Error(t, res.Err)
		require.Contains(t, res.Output, "already exists")
		// … and another principal cannot trigger an admin's report.
		other := quiverToken(t, "--jwt-secret-file", e.secret, "--sub", "mallory", "--ttl", "1h")
		res = harness.RunQuiver(t, 60*time.Second, nil, "report", "run", "plays_csv", "--server", srv.addr, "--token", other)
		require.Error(t, res.Err)
		require.Contains(t, res.Output, "NotFound")
	})

	t.Run("quiver query --out publishes atomically", func(t *testing.T) {
		args := []string{"query", "SELECT device, count(*) AS n FROM demo.plays GROUP BY device ORDER BY device",
			"--server", srv.addr, "--token", e.admin, "--out", "s3://out/adhoc/devices.csv", "--s3-endpoint", e.minio.Endpoint()}
		res := harness.RunQuiver(t, 60*time.Second, e.minio.Env(), args...)
		require.NoError(t, res.Err, res.Output)
		require.Contains(t, res.Output, "published s3://out/adhoc/devices.csv")
		require.Equal(t, []string{"adhoc/_SUCCESS", "adhoc/devices.csv"}, keys(t, e.minio, "out", "adhoc/"))
		got, err := e.oracle.Query(ctx, "SELECT * FROM read_csv('s3://out/adhoc/devices.csv')")
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

	var before []runRow
	t.Run("killed mid-publish: nothing visible, the next start cleans up and re-runs", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(e.pause, "kill_me.pause"), nil, 0o600))
		e.setClock(t, day(14, 0, 0))
		var pid []byte
		require.Eventually(t, func() bool {
			var err error
			pid, err = os.ReadFile(filepath.Join(e.pause, "kill_me.paused"))
			return err == nil && len(pid) > 0
		}, 60*time.Second, 20*time.Millisecond)
		require.Equal(t, strconv.Itoa(srv.cmd.Process.Pid), string(pid), "the server itself is paused")
		staged := keys(t, e.minio, "out", "kill/")
		require.Len(t, staged, 1, "only the staging object")
		require.True(t, strings.HasPrefix(staged[0], "kill/date=2025-01-02/_staging-"), staged[0])
		// The jump to 14:00 also ran the overlap reports' 13:59; let them end.
		before = srv.waitRuns(t, e, "the 13:59 runs", func(r []runRow) bool {
			return count(r, "overlap_skip", "succeeded") == 2 && count(r, "overlap_queue", "succeeded") == 3
		})
		srv.kill(t)
		require.NoError(t, os.Remove(filepath.Join(e.pause, "kill_me.pause")))

		// What a reader sees after the kill: no object, no marker.
		require.Equal(t, staged, keys(t, e.minio, "out", "kill/"))
		e.setClock(t, day(14, 0, 30))
		srv = startReportServer(top, e) // lives until the end of TestReports
		rows := srv.waitRuns(t, e, "kill_me to be re-run", func(r []runRow) bool { return count(r, "kill_me", "succeeded") == 1 })
		require.Equal(t, 1, count(rows, "kill_me", "interrupted"))
		for _, r := range rows {
			if r.report == "kill_me" && r.status == "succeeded" {
				require.Equal(t, "catch-up", r.trigger)
				require.Equal(t, day(14, 0, 0), r.scheduled)
			}
		}
		require.Eventually(t, func() bool {
			return len(keys(t, e.minio, "out", "kill/")) == 2
		}, 30*time.Second, 100*time.Millisecond)
		require.Equal(t, []string{"kill/date=2025-01-02/_SUCCESS", "kill/date=2025-01-02/result.parquet"},
			keys(t, e.minio, "out", "kill/"), "staging cleaned, object and marker published")
		got, err := e.oracle.Query(ctx, "SELECT * FROM read_parquet('s3://out/kill/date=2025-01-02/result.parquet', hive_partitioning = false)")
		require.NoError(t, err)
		defer got.Release()
		want, err := e.oracle.Query(ctx, "SELECT title_id, count(*) AS plays FROM demo.plays GROUP BY title_id ORDER BY title_id")
		require.NoError(t, err)
		defer want.Release()
		harness.Compare(t, "kill_me", want, got, true)
	})

	t.Run("system.report_runs matches what happened, across the restart", func(t *testing.T) {
		// Each clock jump ran the every-minute reports' latest due minute
		// (10:59 at 11:00, 13:59 at 14:00); the restart caught up only the
		// run the kill interrupted.
		rows := srv.runs(t, e)
		var got []string
		for _, r := range rows {
			got = append(got, r.String())
		}
		want := []string{
			"flaky 01-02T12:00 #1 schedule retrying", "flaky 01-02T12:00 #2 schedule retrying", "flaky 01-02T12:00 #3 schedule failed",
			"kill_me 01-02T14:00 #1 catch-up succeeded", "kill_me 01-02T14:00 #1 schedule interrupted",
			"overlap_queue 01-02T13:00 #1 schedule succeeded", "overlap_queue 01-02T13:01 #1 schedule succeeded",
			"overlap_queue 01-02T13:59 #1 schedule succeeded",
			"overlap_skip 01-02T13:00 #1 schedule succeeded", "overlap_skip 01-02T13:01 #0 schedule skipped",
			"overlap_skip 01-02T13:59 #1 schedule succeeded",
			"plays_csv 01-02T10:00 #1 schedule succeeded", "plays_csv 01-02T10:01 #1 schedule succeeded",
			"plays_csv 01-02T10:59 #1 schedule succeeded",
			"plays_csv 01-05T10:00 #1 manual failed", "plays_csv 01-05T10:00 #1 manual succeeded",
			"plays_jsonl 01-02T10:00 #1 schedule succeeded", "plays_jsonl 01-02T10:01 #1 schedule succeeded",
			"plays_jsonl 01-02T10:59 #1 schedule succeeded",
			"plays_pq 01-02T10:00 #1 schedule succeeded", "plays_pq 01-02T10:01 #1 schedule succeeded",
			"plays_pq 01-02T10:59 #1 schedule succeeded",
			"titles_denied 01-02T11:00 #1 schedule failed",
			"tv_only 01-02T11:00 #1 schedule succeeded",
		}
		sort.Strings(want)
		require.Equal(t, want, got)
		// Everything recorded before the kill survived it.
		require.Subset(t, got, func() []string {
			var s []string
			for _, r := range before {
				if r.report != "kill_me" {
					s = append(s, r.String())
				}
			}
			return s
		}())
		// Rows and bytes are those of the published objects.
		for _, r := range rows {
			if r.status != "succeeded" || !strings.HasPrefix(r.outputURI, "s3://out/") {
				continue
			}
			key := strings.TrimPrefix(r.outputURI, "s3://out/")
			head, err := e.minio.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("out"), Key: aws.String(key)})
			require.NoError(t, err, key)
			require.Equal(t, aws.ToInt64(head.ContentLength), r.bytes, key)
			obj, err := e.minio.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("out"),
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
