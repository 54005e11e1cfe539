package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/publish"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

const everyMinute = `
reports:
  - name: per_device
    schedule: "* * * * *"
    sql: SELECT device, count(*) AS plays FROM demo.plays WHERE day <= {{ run_date }} GROUP BY device ORDER BY device
    output: $OUT/per_device/run={{ run_time }}/result.csv
    run_as: reporting
`

// TestScheduledRunOnTime: nothing runs before the minute; at the minute the
// run writes the expected rows, its marker and its history record, and
// sets the freshness metric.
func TestScheduledRunOnTime(t *testing.T) {
	e := newEnv(t, everyMinute, t0)
	e.start()
	next, _ := e.sched.Next("per_device")
	require.Equal(t, minute(1), next.UTC())

	e.tickAt(minute(0).Add(59 * time.Second))
	require.Empty(t, e.exec.Calls(), "not due yet")

	e.tickAt(minute(1))
	require.Len(t, e.exec.Calls(), 1)
	require.Equal(t, "device,plays\ntv,3\nweb,2\n", e.read("per_device/run=2025-01-02T10:01:00Z/result.csv"))

	var m publish.Marker
	require.NoError(t, json.Unmarshal([]byte(e.read("per_device/run=2025-01-02T10:01:00Z/_SUCCESS")), &m))
	require.Equal(t, int64(2), m.Rows)
	require.Equal(t, "result.csv", m.Object)
	require.Equal(t, "per_device", m.Report)
	require.Equal(t, minute(1), m.ScheduledTime.UTC())
	require.Equal(t, int64(len("device,plays\ntv,3\nweb,2\n")), m.Bytes)
	require.Len(t, m.SHA256, 64)

	recs := e.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/succeeded"}, statuses(recs))
	r := recs[0]
	require.Equal(t, TriggerSchedule, r.Trigger)
	require.Equal(t, int64(2), r.Rows)
	require.Equal(t, m.Bytes, r.Bytes)
	require.Equal(t, e.out("per_device/run=2025-01-02T10:01:00Z/result.csv"), r.OutputURI)
	require.Equal(t, "reporting", r.Principal)
	require.Equal(t, float64(minute(1).Unix()), e.metric("quiver_report_last_success_timestamp_seconds", "per_device"))
	require.Equal(t, 1.0, e.metric("quiver_report_runs_total", "per_device", StatusSucceeded))

	// The next minute runs again, into its own key; a tick in between does nothing.
	e.tickAt(minute(1).Add(30 * time.Second))
	e.tickAt(minute(2))
	require.Len(t, e.exec.Calls(), 2)
	require.FileExists(t, e.out("per_device/run=2025-01-02T10:02:00Z/result.csv"))
	require.Equal(t, []string{"10:01/1/succeeded", "10:02/1/succeeded"}, statuses(e.sched.History().Of("per_device")))

	// A jump over several minutes runs only the latest.
	e.tickAt(minute(7).Add(10 * time.Second))
	require.Len(t, e.exec.Calls(), 3)
	require.Equal(t, minute(7), e.sched.History().Of("per_device")[2].ScheduledTime.UTC())
	next, _ = e.sched.Next("per_device")
	require.Equal(t, minute(8), next.UTC())
}

// TestFormatsAndParams writes each format, with parameters bound per run
// (the SQL carries ?, never the value).
func TestFormatsAndParams(t *testing.T) {
	e := newEnv(t, `
reports:
  - name: pq
    schedule: "* * * * *"
    sql: SELECT play_id, day, device FROM demo.plays WHERE day = CAST({{ run_date }} AS DATE) AND {{ window_start }} < {{ window_end }} ORDER BY play_id
    output: $OUT/pq/date={{ run_date }}/result.parquet
    run_as: reporting
  - name: csv
    schedule: "* * * * *"
    sql: SELECT play_id, device FROM demo.plays WHERE day = CAST({{ run_date }} AS DATE) ORDER BY play_id
    output: $OUT/csv/date={{ run_date }}/result.csv
    run_as: reporting
  - name: jsonl
    schedule: "* * * * *"
    sql: SELECT play_id, device FROM demo.plays WHERE day = CAST({{ run_date }} AS DATE) ORDER BY play_id
    output: $OUT/jsonl/date={{ run_date }}/result.jsonl
    run_as: reporting
`, time.Date(2025, 1, 1, 23, 58, 30, 0, time.UTC))
	e.start()
	e.tickAt(time.Date(2025, 1, 1, 23, 59, 0, 0, time.UTC))
	e.tickAt(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))

	require.Equal(t, "play_id,device\n1,tv\n2,web\n", e.read("csv/date=2025-01-01/result.csv"))
	require.Equal(t, "play_id,device\n3,tv\n4,tv\n5,web\n", e.read("csv/date=2025-01-02/result.csv"))
	require.Equal(t, `{"play_id":3,"device":"tv"}`+"\n"+`{"play_id":4,"device":"tv"}`+"\n"+`{"play_id":5,"device":"web"}`+"\n",
		e.read("jsonl/date=2025-01-02/result.jsonl"))

	rows := readParquet(t, e.out("pq/date=2025-01-02/result.parquet"))
	require.Equal(t, `[{"day":"2025-01-02","device":"tv","play_id":3},{"day":"2025-01-02","device":"tv","play_id":4},{"day":"2025-01-02","device":"web","play_id":5}]`, rows)

	for _, c := range e.exec.Calls() {
		require.NotContains(t, c.sql, "2025-01", "values are bound, not spliced")
		require.Contains(t, c.sql, "CAST(? AS DATE)")
		require.Equal(t, "reporting", c.principal.Subject, "the query runs as the report's principal")
	}
	var pqArgs [][]any
	for _, c := range e.exec.Calls() {
		if len(c.args) == 3 {
			pqArgs = append(pqArgs, c.args)
		}
	}
	require.Equal(t, [][]any{
		{"2025-01-01", time.Date(2025, 1, 1, 23, 58, 0, 0, time.UTC), time.Date(2025, 1, 1, 23, 59, 0, 0, time.UTC)},
		{"2025-01-02", time.Date(2025, 1, 1, 23, 59, 0, 0, time.UTC), time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
	}, pqArgs, "run_date, window_start and window_end per run")
}

func readParquet(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	pf, err := file.NewParquetReader(bytes.NewReader(raw))
	require.NoError(t, err)
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	defer tbl.Release()
	var out []map[string]any
	for c := range tbl.NumCols() {
		col := tbl.Column(int(c))
		for _, chunk := range col.Data().Chunks() {
			for i := range chunk.Len() {
				if len(out) <= i {
					out = append(out, map[string]any{})
				}
				out[i][col.Name()] = chunk.GetOneForMarshal(i)
			}
		}
	}
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return string(b)
}

// TestRetryBackoffThenFailure: a failing report retries with doubling
// backoff (capped), records every attempt, then the failure and its metric.
func TestRetryBackoffThenFailure(t *testing.T) {
	e := newEnv(t, `
reports:
  - name: flaky
    schedule: "* * * * *"
    sql: SELECT count(*) AS n FROM demo.plays
    output: $OUT/flaky/{{ run_time }}.csv
    run_as: reporting
    retries: 3
    backoff: 1s
    max_backoff: 3s
`, t0)
	e.exec.failures = 100
	e.start()
	e.tickAt(minute(1))
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, e.sleeps)
	recs := e.sched.History().Of("flaky")
	require.Equal(t, []string{"10:01/1/retrying", "10:01/2/retrying", "10:01/3/retrying", "10:01/4/failed"}, statuses(recs))
	for _, r := range recs {
		require.Contains(t, r.Error, "injected failure")
		require.Equal(t, recs[0].RunID, r.RunID)
	}
	require.Equal(t, 1.0, e.metric("quiver_report_failures_total", "flaky"))
	require.Equal(t, 3.0, e.metric("quiver_report_runs_total", "flaky", StatusRetrying))
	require.Equal(t, 0.0, e.metric("quiver_report_last_success_timestamp_seconds", "flaky"))
	require.NoFileExists(t, e.out("flaky/2025-01-02T10:01:00Z.csv"))

	// Two failures, then success on the third attempt.
	e.exec.mu.Lock()
	e.exec.failures = 2
	e.exec.mu.Unlock()
	e.sleeps = nil
	e.tickAt(minute(2))
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, e.sleeps)
	recs = e.sched.History().Of("flaky")
	require.Equal(t, []string{"10:02/1/retrying", "10:02/2/retrying", "10:02/3/succeeded"}, statuses(recs[4:]))
	require.Equal(t, 1.0, e.metric("quiver_report_failures_total", "flaky"), "a run that recovered is not a failure")
	require.Equal(t, "n\n6\n", e.read("flaky/2025-01-02T10:02:00Z.csv"))
}

// TestPermanentErrorsDoNotRetry: an existing output fails at once.
func TestPermanentErrorsDoNotRetry(t *testing.T) {
	e := newEnv(t, `
reports:
  - name: once
    schedule: "0 6 * * *"
    sql: SELECT 1 AS x
    output: $OUT/once/date={{ run_date }}/x.csv
    run_as: reporting
    retries: 5
`, t0)
	e.start()
	at := time.Date(2025, 1, 1, 6, 0, 0, 0, time.UTC)
	rec, err := e.sched.Run(context.Background(), "once", at, false, true)
	require.NoError(t, err)
	require.Equal(t, StatusSucceeded, rec.Status)
	rec, err = e.sched.Run(context.Background(), "once", at, false, true)
	require.NoError(t, err)
	require.Equal(t, StatusFailed, rec.Status)
	require.Equal(t, 1, rec.Attempt, "no retries for an existing output")
	require.Contains(t, rec.Error, "already exists")
	require.Empty(t, e.sleeps)
	rec, err = e.sched.Run(context.Background(), "once", at, true, true)
	require.NoError(t, err)
	require.Equal(t, StatusSucceeded, rec.Status, "replace overwrites")
}

// TestTimeout: a query that outlives the timeout fails naming it.
func TestTimeout(t *testing.T) {
	e := newEnv(t, `
reports:
  - name: slow
    schedule: "* * * * *"
    sql: SELECT 1 AS x
    output: $OUT/slow/{{ run_time }}.csv
    run_as: reporting
    timeout: 50ms
`, t0)
	e.exec.block = make(chan struct{}) // never closed
	e.start()
	e.tickAt(minute(1))
	recs := e.sched.History().Of("slow")
	require.Equal(t, []string{"10:01/1/failed"}, statuses(recs))
	require.Contains(t, recs[0].Error, "timed out after 50ms")
}

// TestOverlapSkip: a run due while the previous one runs is skipped and
// recorded.
func TestOverlapSkip(t *testing.T) {
	e := newEnv(t, strings.Replace(everyMinute, "run_as: reporting", "run_as: reporting\n    overlap: skip", 1), t0)
	e.exec.block = make(chan struct{})
	e.exec.started = make(chan struct{}, 10)
	e.start()
	e.clock.Set(minute(1))
	e.sched.Tick()
	<-e.exec.started
	e.clock.Set(minute(2))
	e.sched.Tick()
	close(e.exec.block)
	e.wait()
	require.Len(t, e.exec.Calls(), 1)
	recs := e.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/succeeded", "10:02/0/skipped"}, statuses(recs))
	require.Contains(t, recs[1].Error, "still running")
	require.Equal(t, 1.0, e.metric("quiver_report_runs_total", "per_device", StatusSkipped))
	require.NoFileExists(t, e.out("per_device/run=2025-01-02T10:02:00Z/result.csv"))
}

// TestOverlapQueue: runs due while one runs wait and then run in order.
func TestOverlapQueue(t *testing.T) {
	e := newEnv(t, strings.Replace(everyMinute, "run_as: reporting", "run_as: reporting\n    overlap: queue", 1), t0)
	e.exec.block = make(chan struct{})
	e.exec.started = make(chan struct{}, 10)
	e.start()
	e.clock.Set(minute(1))
	e.sched.Tick()
	<-e.exec.started
	e.clock.Set(minute(2))
	e.sched.Tick()
	e.clock.Set(minute(3))
	e.sched.Tick()
	require.Len(t, e.exec.Calls(), 1, "one at a time")
	close(e.exec.block)
	e.wait()
	require.Len(t, e.exec.Calls(), 3)
	recs := e.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/succeeded", "10:02/1/succeeded", "10:03/1/succeeded"}, statuses(recs))
	require.True(t, !recs[1].StartTime.Before(recs[0].EndTime) && !recs[2].StartTime.Before(recs[1].EndTime), "runs did not overlap")
	for _, m := range []int{1, 2, 3} {
		require.FileExists(t, e.out("per_device/run="+minute(m).Format(time.RFC3339)+"/result.csv"))
	}
}

// TestCatchUpRunsLatestMissed: after downtime the latest missed run runs
// once on start; without catch-up, or for a report with no history,
// nothing runs.
func TestCatchUpRunsLatestMissed(t *testing.T) {
	dir := t.TempDir()
	exec := newDuckExecutor(t)
	e := newEnvIn(t, dir, everyMinute, t0, exec)
	e.start()
	e.tickAt(minute(1))
	e.sched.Close()

	// Back up at 10:05:20: 10:02..10:05 were missed; 10:05 runs.
	e2 := newEnvIn(t, dir, everyMinute, minute(5).Add(20*time.Second), exec)
	e2.start()
	e2.wait()
	recs := e2.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/succeeded", "10:05/1/succeeded"}, statuses(recs))
	require.Equal(t, TriggerCatchUp, recs[1].Trigger)
	next, _ := e2.sched.Next("per_device")
	require.Equal(t, minute(6), next.UTC())
	e2.sched.Close()

	// Started again within the same minute: nothing was missed.
	e3 := newEnvIn(t, dir, everyMinute, minute(5).Add(40*time.Second), exec)
	e3.start()
	e3.wait()
	require.Len(t, e3.sched.History().Of("per_device"), 2)
	e3.sched.Close()

	// A fresh warehouse: no history, no catch-up.
	e4 := newEnv(t, everyMinute, minute(9).Add(time.Second))
	e4.start()
	e4.wait()
	require.Empty(t, e4.exec.Calls())
}

// TestCrashMidPublish snapshots the warehouse and the output directory at
// the moment between the staging write and the publish (what a SIGKILL
// leaves behind), starts a new scheduler on the snapshot, and checks that
// nothing partial was visible, that the staging object is cleaned up, and
// that the interrupted run runs again to completion.
func TestCrashMidPublish(t *testing.T) {
	dir := t.TempDir()
	exec := newDuckExecutor(t)
	e := newEnvIn(t, dir, everyMinute, t0, exec)
	crash := filepath.Join(t.TempDir(), "crash")
	target := e.out("per_device/run=2025-01-02T10:01:00Z/result.csv")
	e.sched.opts.AfterStaging = func(ctx context.Context, report string) error {
		require.Equal(t, "per_device", report)
		// The target is not there; the staging object is, hidden.
		_, err := os.Stat(target)
		require.ErrorIs(t, err, os.ErrNotExist)
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "_staging-*-result.csv"))
		require.Len(t, matches, 1)
		out, err := osexec.Command("cp", "-a", dir, crash).CombinedOutput()
		require.NoError(t, err, string(out))
		return context.Canceled
	}
	e.start()
	e.tickAt(minute(1))
	e.sched.Close()

	// The snapshot is the state a kill leaves: staging object, journal
	// entry, a "running" record, no target, no marker.
	snapTarget := filepath.Join(crash, "out", "per_device", "run=2025-01-02T10:01:00Z")
	matches, _ := filepath.Glob(filepath.Join(snapTarget, "_staging-*"))
	require.Len(t, matches, 1)
	require.NoFileExists(t, filepath.Join(snapTarget, "result.csv"))
	require.NoFileExists(t, filepath.Join(snapTarget, "_SUCCESS"))
	journal, _ := filepath.Glob(filepath.Join(crash, "wh", "_system", "report_staging", "per_device", "*.json"))
	require.Len(t, journal, 1)

	e2 := newEnvIn(t, crash, everyMinute, minute(1).Add(30*time.Second), exec)
	recs := e2.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/interrupted"}, statuses(recs), "the dead attempt is marked on load")
	e2.start()
	e2.wait()
	matches, _ = filepath.Glob(filepath.Join(snapTarget, "_staging-*"))
	require.Empty(t, matches, "staging cleaned")
	journal, _ = filepath.Glob(filepath.Join(crash, "wh", "_system", "report_staging", "per_device", "*.json"))
	require.Empty(t, journal)
	require.Equal(t, "device,plays\ntv,3\nweb,2\n", e2.read("per_device/run=2025-01-02T10:01:00Z/result.csv"))
	require.FileExists(t, filepath.Join(snapTarget, "_SUCCESS"))
	recs = e2.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/interrupted", "10:01/1/succeeded"}, statuses(recs))
	require.Equal(t, TriggerCatchUp, recs[1].Trigger)
}

// TestCrashAfterPublish: a run that died after publishing but before its
// marker gets the marker completed and counts as succeeded; it is not
// re-run.
func TestCrashAfterPublish(t *testing.T) {
	dir := t.TempDir()
	exec := newDuckExecutor(t)
	e := newEnvIn(t, dir, everyMinute, t0, exec)
	e.start()
	e.tickAt(minute(1))
	e.sched.Close()
	rec := e.sched.History().Of("per_device")[0]

	// Rewind to "published, marker not written, journal entry present,
	// attempt running".
	markerPath := e.out("per_device/run=2025-01-02T10:01:00Z/_SUCCESS")
	marker, err := os.ReadFile(markerPath)
	require.NoError(t, err)
	require.NoError(t, os.Remove(markerPath))
	var m publish.Marker
	require.NoError(t, json.Unmarshal(marker, &m))
	root, err := storage.Open(context.Background(), "/", storage.Options{})
	require.NoError(t, err)
	entry, err := json.Marshal(map[string]any{
		"store": root.String(), "staging": strings.TrimPrefix(filepath.Dir(rec.OutputURI), "/") + "/_staging-dead-result.csv",
		"target": strings.TrimPrefix(rec.OutputURI, "/"), "bytes": m.Bytes, "sha256": m.SHA256, "marker": m,
	})
	require.NoError(t, err)
	require.NoError(t, e.wh.Put(context.Background(), JournalPrefix+"per_device/"+rec.key()+".json", entry))
	running := rec
	running.Status, running.EndTime, running.Rows, running.Bytes = StatusRunning, time.Time{}, 0, 0
	require.NoError(t, e.sched.History().Put(context.Background(), running))

	e2 := newEnvIn(t, dir, everyMinute, minute(1).Add(30*time.Second), exec)
	e2.start()
	e2.wait()
	require.Len(t, exec.Calls(), 1, "not re-run: the output was published")
	recs := e2.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/succeeded"}, statuses(recs))
	require.Equal(t, int64(2), recs[0].Rows)
	var m2 publish.Marker
	require.NoError(t, json.Unmarshal([]byte(e2.read("per_device/run=2025-01-02T10:01:00Z/_SUCCESS")), &m2))
	require.Equal(t, m.SHA256, m2.SHA256)
	require.Equal(t, int64(2), m2.Rows)
}

// TestBackfill: a run at a given logical time writes its own date key.
func TestBackfill(t *testing.T) {
	e := newEnv(t, `
reports:
  - name: daily
    schedule: "0 6 * * *"
    timezone: America/New_York
    sql: SELECT count(*) AS n FROM demo.plays WHERE day = CAST({{ run_date }} AS DATE)
    output: warehouse://reports/daily/date={{ run_date }}/result.parquet
    run_as: reporting
`, t0)
	e.start()
	at, err := ParseAt("2025-01-01", time.UTC)
	require.NoError(t, err)
	rec, err := e.sched.Run(context.Background(), "daily", at, false, true)
	require.NoError(t, err)
	require.Equal(t, StatusSucceeded, rec.Status)
	require.Equal(t, TriggerManual, rec.Trigger)
	// Midnight UTC is the evening before in New York.
	require.Equal(t, e.wh.URI("reports/daily/date=2024-12-31/result.parquet"), rec.OutputURI)
	at, err = ParseAt("2025-01-02", e.sched.byName["daily"].r.Location)
	require.NoError(t, err)
	rec, err = e.sched.Run(context.Background(), "daily", at, false, true)
	require.NoError(t, err)
	require.Equal(t, e.wh.URI("reports/daily/date=2025-01-02/result.parquet"), rec.OutputURI)
	require.Equal(t, int64(1), rec.Rows)

	// The output is a table of the warehouse; the history and journal are not.
	names, err := e.wh.Tables(context.Background())
	require.NoError(t, err)
	require.Equal(t, []storage.TableName{{Schema: "reports", Name: "daily"}}, names)
	tbl, err := e.wh.Table(context.Background(), storage.TableName{Schema: "reports", Name: "daily"})
	require.NoError(t, err)
	require.Len(t, tbl.Files, 2)
	require.Equal(t, "date", tbl.Partitions[0].Name)

	_, err = e.sched.Run(context.Background(), "nope", at, false, true)
	require.ErrorIs(t, err, ErrUnknownReport)
}

// TestHistoryPersistsAndSystemTable: the history reloads from the
// warehouse and serves system.report_runs filtered by viewer.
func TestHistoryPersistsAndSystemTable(t *testing.T) {
	dir := t.TempDir()
	exec := newDuckExecutor(t)
	e := newEnvIn(t, dir, everyMinute+`
  - name: other
    schedule: "* * * * *"
    sql: SELECT 1 AS x
    output: $OUT/other/{{ run_time }}.csv
    run_as: someone_else
`, t0, exec)
	e.start()
	e.tickAt(minute(1))
	before := e.sched.History().Records()
	require.Len(t, before, 2)

	h, err := OpenHistory(context.Background(), e.wh, nil)
	require.NoError(t, err)
	after := h.Records()
	require.Len(t, after, 2)
	for i := range before {
		require.Equal(t, before[i].RunID, after[i].RunID)
		require.Equal(t, before[i].Status, after[i].Status)
		require.True(t, before[i].ScheduledTime.Equal(after[i].ScheduledTime))
		require.True(t, before[i].StartTime.Truncate(time.Microsecond).Equal(after[i].StartTime))
		require.Equal(t, before[i].Rows, after[i].Rows)
		require.Equal(t, before[i].OutputURI, after[i].OutputURI)
	}

	var _ systables.Table = h
	require.Equal(t, "report_runs", h.Name())
	rec, err := h.Rows(context.Background(), systables.Viewer{Principal: "reporting"})
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.NumRows(), "a non-admin sees the runs of reports that run as them")
	rec.Release()
	rec, err = h.Rows(context.Background(), systables.Viewer{Principal: "x", Admin: true})
	require.NoError(t, err)
	defer rec.Release()
	require.Equal(t, int64(2), rec.NumRows())
	require.True(t, rec.Schema().Equal(h.Schema()))

	// DuckDB can query it with the spec's column names.
	db := openEngine(t)
	rdr, err := db.QueryArrowOverTables(context.Background(), map[string]array.RecordReader{"report_runs": sliceReader(t, rec)},
		`SELECT report, status, rows, bytes, attempt, output_uri, error IS NULL AS ok FROM report_runs ORDER BY report`)
	require.NoError(t, err)
	defer rdr.Release()
	require.True(t, rdr.Next())
	require.Equal(t, int64(2), rdr.RecordBatch().NumRows())
}

// TestActions: the Flight action runs and lists reports for their principal
// or an admin, with gRPC codes for bad requests.
func TestActions(t *testing.T) {
	e := newEnv(t, everyMinute, t0)
	e.start()
	as := func(sub string) context.Context {
		return auth.WithPrincipal(context.Background(), auth.Principal{Subject: sub})
	}

	out, err := e.sched.HandleAction(as("reporting"), []byte(`{"report": "per_device", "at": "2025-01-01T12:00:00Z"}`))
	require.NoError(t, err)
	var res RunResult
	require.NoError(t, json.Unmarshal(out, &res))
	require.Equal(t, StatusSucceeded, res.Status)
	require.Equal(t, int64(2), res.Rows)
	require.Equal(t, TriggerManual, res.Trigger)
	require.Equal(t, time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), res.ScheduledTime.UTC())
	require.Equal(t, e.out("per_device/run=2025-01-01T12:00:00Z/result.csv"), res.OutputURI)

	out, err = e.sched.HandleAction(as("root"), []byte(`{"report": "per_device", "at": "2025-01-01T13:00:00Z", "wait": false}`))
	require.NoError(t, err, "admins run any report")
	require.Contains(t, string(out), `"status":"submitted"`)
	e.wait()

	// The server maps kinds to codes (Invalid → InvalidArgument).
	for body, kind := range map[string]errkind.Kind{
		`not json`:       errkind.Invalid,
		`{"report": ""}`: errkind.Invalid,
		`{"report": "per_device", "at": "tomorrow"}`: errkind.Invalid,
		`{"report": "per_device", "bogus": 1}`:       errkind.Invalid,
		`{"report": "missing"}`:                      errkind.NotFound,
	} {
		_, err := e.sched.HandleAction(as("reporting"), []byte(body))
		require.Equal(t, kind, errkind.Of(err), "%s: %v", body, err)
	}
	_, err = e.sched.HandleAction(as("mallory"), []byte(`{"report": "per_device"}`))
	require.Equal(t, errkind.NotFound, errkind.Of(err), "another principal's report looks missing")

	out, err = e.sched.HandleList(as("reporting"), nil)
	require.NoError(t, err)
	var list ListResult
	require.NoError(t, json.Unmarshal(out, &list))
	require.Len(t, list.Reports, 1)
	info := list.Reports[0]
	require.Equal(t, "per_device", info.Name)
	require.Equal(t, "* * * * *", info.Schedule)
	require.Equal(t, minute(1), info.NextRun.UTC())
	require.Equal(t, StatusSucceeded, info.LastRun.Status)
	require.NotNil(t, info.LastSuccess)
	out, err = e.sched.HandleList(as("mallory"), nil)
	require.NoError(t, err)
	require.JSONEq(t, `{"reports": [], "configured": true}`, string(out), "that reports exist, not which")
}

// TestInvalidDefinitionsListedAndOthersRun: invalid definitions are listed
// for admins and counted; the valid report runs.
func TestInvalidDefinitionsListedAndOthersRun(t *testing.T) {
	exec := newDuckExecutor(t)
	valid, invalid, err := Parse([]byte(`
reports:
  - {name: broken, schedule: "every day", sql: "SELECT 1", output: "/x/{{ run_date }}.csv", run_as: u}
  - {name: ok, schedule: "* * * * *", sql: "SELECT 1 AS x", output: "`+t.TempDir()+`/{{ run_time }}.csv", run_as: u}
`), ParserCheck(exec.db))
	require.NoError(t, err)
	require.Len(t, valid, 1)
	require.Len(t, invalid, 1)
	clock := newClock(t0)
	s, err := New(Options{Reports: valid, Invalid: invalid, Executor: exec, Now: clock.Now,
		IsAdmin: func(context.Context) bool { return true }})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Start(context.Background(), false))
	clock.Set(minute(1))
	s.Tick()
	require.NoError(t, s.Wait(context.Background()))
	require.Equal(t, []string{"10:01/1/succeeded"}, statuses(s.History().Of("ok")))
	out, err := s.HandleList(context.Background(), nil)
	require.NoError(t, err)
	var list ListResult
	require.NoError(t, json.Unmarshal(out, &list))
	require.Len(t, list.Invalid, 1)
	require.Contains(t, list.Invalid[0], "report broken: schedule:")
	require.Equal(t, 1.0, gaugeOf(t, s, "invalid"))
}

// TestCloseInterruptsRunning: stopping the scheduler cancels the running
// query and records the attempt as interrupted.
func TestCloseInterruptsRunning(t *testing.T) {
	e := newEnv(t, everyMinute, t0)
	e.exec.block = make(chan struct{})
	e.exec.started = make(chan struct{}, 1)
	e.start()
	e.clock.Set(minute(1))
	e.sched.Tick()
	<-e.exec.started
	e.sched.Close()
	recs := e.sched.History().Of("per_device")
	require.Equal(t, []string{"10:01/1/interrupted"}, statuses(recs))
	_, err := e.sched.Run(context.Background(), "per_device", time.Time{}, false, true)
	require.ErrorContains(t, err, "stopped")
}

func sliceReader(t *testing.T, rec arrow.RecordBatch) array.RecordReader {
	t.Helper()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	require.NoError(t, err)
	return rdr
}

func gaugeOf(t *testing.T, s *Scheduler, state string) float64 {
	t.Helper()
	return testutil.ToFloat64(s.metrics.definitions.WithLabelValues(state))
}
