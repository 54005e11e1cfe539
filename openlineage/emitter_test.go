package openlineage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/openlineage"
	"github.com/quiver-data/quiver/openlineage/olspec"
	"github.com/quiver-data/quiver/reports"
	"github.com/quiver-data/quiver/systables"
)

// receiver is an OpenLineage endpoint: it fails the first `fail` posts
// with status, then keeps every event.
type receiver struct {
	mu     sync.Mutex
	fail   int
	status int
	posts  int
	events [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.fail > 0 {
		r.fail--
		w.WriteHeader(r.status)
		return
	}
	r.events = append(r.events, body)
	w.WriteHeader(http.StatusCreated)
}

func (r *receiver) got() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.events...)
}

func start(t *testing.T, rcv *receiver, opts openlineage.Options) (*openlineage.Emitter, *prometheus.Registry) {
	t.Helper()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	opts.URL, opts.Registerer, opts.Backoff = srv.URL, reg, time.Millisecond
	e, err := openlineage.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, reg
}

func events(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "quiver_openlineage_events_total" && m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

var plays = lineage.Dataset{Catalog: "quiver", Schema: "demo", Table: "plays",
	Fields: []lineage.Field{{Name: "device", Type: "VARCHAR"}, {Name: "revenue", Type: "DECIMAL(12,4)"}}}

func queryRecord(id string) systables.QueryRecord {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return systables.QueryRecord{ID: id, Principal: "ann", SQL: "SELECT device, sum(revenue) AS r FROM demo.plays GROUP BY device",
		State: systables.StateFinished, Submitted: now, Finished: now.Add(time.Second),
		Lineage: []lineage.Edge{
			{Output: "device", Source: lineage.Column{Catalog: "quiver", Schema: "demo", Table: "plays", Column: "device"}, Kind: lineage.Identity},
			{Output: "r", Source: lineage.Column{Catalog: "quiver", Schema: "demo", Table: "plays", Column: "revenue"}, Kind: lineage.Aggregate, Policy: true},
			{Source: lineage.Column{Catalog: "quiver", Schema: "demo", Table: "plays", Column: "device"}, Kind: lineage.GroupBy},
		}}
}

var result = []lineage.Field{{Name: "device", Type: "VARCHAR"}, {Name: "r", Type: "DECIMAL(38,4)"}}

// readsPlays is a query's Ended io: it read demo.plays.
func readsPlays() ([]lineage.Dataset, []lineage.Field) { return []lineage.Dataset{plays}, result }

func waitEvents(t *testing.T, rcv *receiver, n int) []map[string]any {
	t.Helper()
	require.Eventually(t, func() bool { return len(rcv.got()) >= n }, 10*time.Second, 5*time.Millisecond)
	v, err := olspec.New()
	require.NoError(t, err)
	var out []map[string]any
	for _, raw := range rcv.got() {
		require.NoError(t, v.Validate(raw), "%s", raw)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		out = append(out, m)
	}
	return out
}

func path(m any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m = m.(map[string]any)[k]
		case int:
			m = m.([]any)[k]
		}
	}
	return m
}

// TestReportRun: a report run's attempt posts START, then COMPLETE with
// the query's inputs and the published object's schema and column
// lineage; every event is valid against OpenLineage's schemas.
func TestReportRun(t *testing.T) {
	rcv := &receiver{}
	e, reg := start(t, rcv, openlineage.Options{Namespace: "prod"})
	started := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	run := reports.Record{RunID: "daily-1", Report: "daily", Status: reports.StatusRunning, Attempt: 1, StartTime: started,
		OutputURI: "s3://out/daily/result.parquet"}
	e.ReportRecorded(run)
	q := queryRecord("q1")
	q.Run = lineage.Run{Report: "daily", RunID: "daily-1", Output: run.OutputURI}
	e.QueryEnded(q, readsPlays)
	run.Status, run.EndTime = reports.StatusSucceeded, started.Add(2*time.Second)
	e.ReportRecorded(run)

	got := waitEvents(t, rcv, 2)
	require.Len(t, got, 2, "the report's query is not a run of its own")
	require.Equal(t, "START", got[0]["eventType"])
	require.Equal(t, "COMPLETE", got[1]["eventType"])
	require.Equal(t, path(got[0], "run", "runId"), path(got[1], "run", "runId"), "one run")
	require.Equal(t, "prod", path(got[1], "job", "namespace"))
	require.Equal(t, "report.daily", path(got[1], "job", "name"))
	require.Equal(t, q.SQL, path(got[1], "job", "facets", "sql", "query"))
	require.Equal(t, "2026-12-07T10:00:02.000000Z", got[1]["eventTime"])
	require.Equal(t, "quiver.demo.plays", path(got[1], "inputs", 0, "name"))
	require.Equal(t, "DECIMAL(12,4)", path(got[1], "inputs", 0, "facets", "schema", "fields", 1, "type"))
	require.Equal(t, "s3://out", path(got[1], "outputs", 0, "namespace"))
	require.Equal(t, "daily/result.parquet", path(got[1], "outputs", 0, "name"))
	lin := path(got[1], "outputs", 0, "facets", "columnLineage")
	require.Equal(t, map[string]any{"namespace": "prod", "name": "quiver.demo.plays", "field": "revenue",
		"transformations": []any{map[string]any{"type": "DIRECT", "subtype": "AGGREGATION", "masking": true, "description": "masked by the principal's policy"}}},
		path(lin, "fields", "r", "inputFields", 0))
	require.Equal(t, "IDENTITY", path(lin, "fields", "device", "inputFields", 0, "transformations", 0, "subtype"))
	require.Equal(t, map[string]any{"namespace": "prod", "name": "quiver.demo.plays", "field": "device",
		"transformations": []any{map[string]any{"type": "INDIRECT", "subtype": "GROUP_BY", "masking": false}}}, path(lin, "dataset", 0))
	require.Equal(t, 2.0, events(t, reg, "sent"))

	// A failed attempt is a FAIL with the error, as its own run.
	run = reports.Record{RunID: "daily-2", Report: "daily", Status: reports.StatusRunning, Attempt: 1, StartTime: started}
	e.ReportRecorded(run)
	run.Status, run.Error, run.EndTime = reports.StatusRetrying, "query: boom", started.Add(time.Second)
	e.ReportRecorded(run)
	got = waitEvents(t, rcv, 4)
	require.Equal(t, "FAIL", got[3]["eventType"])
	require.Equal(t, "query: boom", path(got[3], "run", "facets", "errorMessage", "message"))
	require.NotEqual(t, path(got[1], "run", "runId"), path(got[3], "run", "runId"))
}

// TestQueriesSampled: queries are posted only at the sample rate, as
// START and an end event; system-table queries never.
func TestQueriesSampled(t *testing.T) {
	none := &receiver{}
	off, _ := start(t, none, openlineage.Options{})
	off.QueryEnded(queryRecord("q0"), func() ([]lineage.Dataset, []lineage.Field) {
		t.Error("an unsampled query's tables are not even looked at")
		return nil, nil
	})

	rcv := &receiver{}
	all, _ := start(t, rcv, openlineage.Options{QuerySample: 1})
	failed := queryRecord("q2")
	failed.State, failed.Error = systables.StateFailed, "worker lost"
	all.QueryEnded(failed, readsPlays)
	all.QueryEnded(queryRecord("q3"), func() ([]lineage.Dataset, []lineage.Field) { return nil, result }) // system tables only
	got := waitEvents(t, rcv, 2)
	time.Sleep(50 * time.Millisecond)
	require.Len(t, rcv.got(), 2)
	require.Empty(t, none.got(), "a sample of 0 posts no query")
	require.Equal(t, []any{"START", "FAIL"}, []any{got[0]["eventType"], got[1]["eventType"]})
	require.Equal(t, "worker lost", path(got[1], "run", "facets", "errorMessage", "message"))
	require.Equal(t, "quiver", path(got[0], "job", "namespace"))
	require.Regexp(t, `^query\.[0-9a-f]{16}$`, path(got[0], "job", "name"))
	require.Empty(t, got[0]["outputs"])

	// A sample of 0.3: about 30% of the queries, always the same ones.
	n := 0
	for i := range 1000 {
		if openlineage.Sampled(fmt.Sprintf("query-%d", i), 0.3) {
			n++
		}
	}
	require.InDelta(t, 300, n, 50)
	rcv = &receiver{}
	e, _ := start(t, rcv, openlineage.Options{QuerySample: 0.3})
	want := 0
	for i := range 40 {
		id := fmt.Sprintf("query-%d", i)
		if openlineage.Sampled(id, 0.3) {
			want++
		}
		e.QueryEnded(queryRecord(id), readsPlays)
	}
	waitEvents(t, rcv, 2*want)
	time.Sleep(50 * time.Millisecond)
	require.Len(t, rcv.got(), 2*want)
}

// TestDeliveryRetriesAndBounds: a receiver that fails is retried with
// backoff; a refusal (4xx) is not; a full queue drops, and nothing of it
// ever blocks the caller.
func TestDeliveryRetriesAndBounds(t *testing.T) {
	rcv := &receiver{fail: 2, status: http.StatusServiceUnavailable}
	e, reg := start(t, rcv, openlineage.Options{QuerySample: 1})
	e.QueryEnded(queryRecord("q1"), readsPlays)
	waitEvents(t, rcv, 2)
	require.Equal(t, 4, rcv.posts, "two 503s retried, then two events")
	require.Equal(t, 2.0, events(t, reg, "sent"))

	refusing := &receiver{fail: 100, status: http.StatusBadRequest}
	e, reg = start(t, refusing, openlineage.Options{QuerySample: 1})
	e.QueryEnded(queryRecord("q2"), readsPlays)
	require.Eventually(t, func() bool { return events(t, reg, "failed") == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 2, refusing.posts, "a 400 is not retried")

	// No receiver at all and a queue of 3: the caller never waits, and
	// what does not fit is dropped.
	reg = prometheus.NewRegistry()
	down, err := openlineage.New(openlineage.Options{URL: "http://127.0.0.1:1/lineage", QuerySample: 1, Queue: 3, Registerer: reg})
	require.NoError(t, err)
	begin := time.Now()
	for i := range 10 {
		down.QueryEnded(queryRecord(string(rune('a'+i))), readsPlays)
	}
	require.Less(t, time.Since(begin), time.Second)
	require.Equal(t, 17.0, events(t, reg, "dropped"), "20 events, 3 queued")
}

func TestOptionsChecked(t *testing.T) {
	for _, opts := range []openlineage.Options{{URL: "marquez:5000"}, {URL: "ftp://x/"}, {URL: "http://x/", QuerySample: 2}} {
		_, err := openlineage.New(opts)
		require.Error(t, err, "%+v", opts)
	}
}
