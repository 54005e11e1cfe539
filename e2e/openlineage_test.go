package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/openlineage/olspec"
)

// lineageReceiver is an OpenLineage HTTP endpoint that checks every event
// against OpenLineage's JSON schemas as it arrives.
type lineageReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	events  []map[string]any
	invalid []string
}

func startLineageReceiver(t *testing.T) *lineageReceiver {
	t.Helper()
	v, err := olspec.New()
	require.NoError(t, err)
	r := &lineageReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := v.Validate(body); err != nil {
			r.invalid = append(r.invalid, err.Error()+": "+string(body))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		r.events = append(r.events, ev)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *lineageReceiver) URL() string { return r.Server.URL + "/api/v1/lineage" }

// wait returns the events once cond holds for them, failing on any
// invalid one.
func (r *lineageReceiver) wait(t *testing.T, what string, cond func([]map[string]any) bool) []map[string]any {
	t.Helper()
	var got []map[string]any
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		require.Empty(t, r.invalid)
		got = append([]map[string]any(nil), r.events...)
		return cond(got)
	}, 30*time.Second, 20*time.Millisecond, what)
	return got
}

// field digs into decoded JSON: string keys for objects, ints for arrays.
func field(v any, path ...any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestOpenLineage: with --openlineage-sample 1 every query's run reaches
// a real HTTP receiver as START and COMPLETE or FAIL events that are
// valid OpenLineage, naming the tables read with their schemas; with the
// receiver down, queries answer as always and the failures are counted.
func TestOpenLineage(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	rcv := startLineageReceiver(t)
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 1,
		Args: []string{"--openlineage-url", rcv.URL(), "--openlineage-sample", "1", "--openlineage-namespace", "analytics"}})
	cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)

	sql := "SELECT t.genre, count(*) AS plays FROM demo.plays p JOIN demo.titles t USING (title_id) GROUP BY t.genre"
	queryRows(t, cl, sql)
	_, err := harness.RunFlightSQL(context.Background(), cl, "SELECT no_such_column FROM demo.titles")
	require.Error(t, err, "a query that fails to plan is no run")
	queryRows(t, cl, "SELECT count(*) FROM system.queries") // reads no dataset: no run
	queryRows(t, cl, "SELECT count(*) FROM demo.titles")

	rcv.wait(t, "two runs", func(evs []map[string]any) bool { return len(evs) >= 4 })
	time.Sleep(200 * time.Millisecond) // nothing more is coming
	got := rcv.wait(t, "no more", func([]map[string]any) bool { return true })
	require.Len(t, got, 4, "START and COMPLETE of the two queries that read tables")
	var first []map[string]any
	for _, ev := range got {
		if field(ev, "job", "facets", "sql", "query") == sql {
			first = append(first, ev)
		}
	}
	require.Len(t, first, 2)
	require.Equal(t, []any{"START", "COMPLETE"}, []any{first[0]["eventType"], first[1]["eventType"]})
	require.Equal(t, field(first[0], "run", "runId"), field(first[1], "run", "runId"))
	require.Equal(t, "analytics", field(first[1], "job", "namespace"))
	firstField := map[any]any{}
	for i := range 2 {
		firstField[field(first[1], "inputs", i, "name")] = field(first[1], "inputs", i, "facets", "schema", "fields", 0, "name")
	}
	require.Equal(t, map[any]any{"quiver.demo.plays": "play_id", "quiver.demo.titles": "title_id"}, firstField,
		"the tables read, each with its schema")

	// The receiver down: queries answer, the events fail, counted.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/api/v1/lineage"
	require.NoError(t, ln.Close())
	down := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 1,
		Args: []string{"--openlineage-url", closed, "--openlineage-sample", "1"}})
	dcl := dialFlightSQL(t, down.Addr(), memory.DefaultAllocator)
	for range 3 {
		require.Equal(t, [][]string{{"200"}}, queryRows(t, dcl, "SELECT count(*) FROM demo.titles"))
	}
	require.Eventually(t, func() bool {
		failed, ok, err := down.Metric(context.Background(), "quiver_openlineage_events_total", map[string]string{"result": "failed"})
		return err == nil && ok && failed >= 1
	}, 60*time.Second, 100*time.Millisecond, "undeliverable events are counted")
}
