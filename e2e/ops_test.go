package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// opsServer serves an empty local warehouse with extra flags; the
// operations tests read range() and system tables, not demo data.
func opsServer(t *testing.T, wh string, args ...string) (*harness.Server, *flightsql.Client) {
	t.Helper()
	if wh == "" {
		wh = t.TempDir()
	}
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, Args: args})
	return srv, dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
}

func infoQueryID(t *testing.T, info *flight.FlightInfo) string {
	t.Helper()
	var m struct {
		QueryID string `json:"query_id"`
	}
	require.NoError(t, json.Unmarshal(info.AppMetadata, &m), "FlightInfo app_metadata %q", info.AppMetadata)
	require.NotEmpty(t, m.QueryID)
	return m.QueryID
}

// fetchAll reads every endpoint and returns the row count.
func fetchAll(ctx context.Context, cl *flightsql.Client, info *flight.FlightInfo) (int64, error) {
	var n int64
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return n, err
		}
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// scalar runs a one-value query and returns the value as text.
func scalar(t *testing.T, cl *flightsql.Client, sql string) string {
	t.Helper()
	res, err := harness.RunFlightSQL(queryCtx(t), cl, sql)
	require.NoError(t, err, "%s: %s", sql, describe(err))
	defer res.Release()
	rows := harness.ArrowRows(res)
	require.Len(t, rows.Rows, 1, sql)
	return strings.Trim(rows.Rows[0][0], `"`)
}

func TestOpsQueueOverflowIsUnavailable(t *testing.T) {
	srv, cl := opsServer(t, "", "--max-concurrent-queries", "2", "--max-queued-queries", "2",
		"--max-queries-per-user", "0", "--idle-timeout", "5m")
	ctx := queryCtx(t)
	// Two planned queries hold both slots until their results are fetched.
	var held []*flight.FlightInfo
	for i := range 2 {
		info, err := cl.Execute(ctx, fmt.Sprintf("SELECT i FROM range(%d) t(i)", 1000+i))
		require.NoError(t, err)
		held = append(held, info)
	}
	// Two more wait in the queue...
	type result struct {
		rows int64
		err  error
	}
	queued := make(chan result, 2)
	for i := range 2 {
		go func() {
			info, err := cl.Execute(ctx, fmt.Sprintf("SELECT i FROM range(%d) t(i)", 10+i))
			if err != nil {
				queued <- result{err: err}
				return
			}
			n, err := fetchAll(ctx, cl, info)
			queued <- result{n, err}
		}()
	}
	require.Eventually(t, func() bool {
		queued, _, err := srv.Metric(ctx, "quiver_queries_queued", nil)
		return err == nil && queued == 2
	}, 20*time.Second, 20*time.Millisecond, "two queries never queued")
	// ...and with the queue full, the next one is refused at once.
	start := time.Now()
	_, err := cl.Execute(ctx, "SELECT 1")
	require.Equal(t, codes.Unavailable, status.Code(err), describe(err))
	require.Contains(t, err.Error(), "queue full")
	require.Less(t, time.Since(start), 5*time.Second, "refused, not queued")
	select {
	case r := <-queued:
		t.Fatalf("a queued query finished while every slot was held: %+v", r)
	default:
	}
	// Everyone admitted completes, in turn.
	for i, info := range held {
		n, err := fetchAll(ctx, cl, info)
		require.NoError(t, err)
		require.EqualValues(t, 1000+i, n)
	}
	got := map[int64]bool{}
	for range 2 {
		r := <-queued
		require.NoError(t, r.err, describe(r.err))
		got[r.rows] = true
	}
	require.Equal(t, map[int64]bool{10: true, 11: true}, got)
}

// runningFragments is what the workers themselves report running.
func runningFragments(t *testing.T, cl *flightsql.Client) string {
	return scalar(t, cl, "SELECT sum(running)::BIGINT FROM system.workers")
}

func TestOpsCancelReleasesWorkers(t *testing.T) {
	_, cl := opsServer(t, "")
	ctx := queryCtx(t)
	for _, c := range []struct {
		name, sql string
		read      bool // read a batch first: cancel while streaming, not while computing
	}{
		{"during execution", "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3", false},
		{"during streaming", "SELECT i, i::VARCHAR AS s FROM range(20000000) t(i)", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := cl.Execute(ctx, c.sql)
			require.NoError(t, err)
			// DoGet returns once the schema arrives, which for an aggregate
			// is when DuckDB has finished: read in the background.
			done := make(chan error, 1)
			// The streaming reader stops after its first batch until the
			// cancel was sent, so the stream is still open when it lands.
			canceled := make(chan struct{})
			release := sync.OnceFunc(func() { close(canceled) })
			defer release()
			go func() {
				rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
				if err != nil {
					done <- err
					return
				}
				defer rdr.Release()
				for rdr.Next() {
					if c.read {
						<-canceled
					}
				}
				done <- rdr.Err()
			}()
			if c.read {
				require.Eventually(t, func() bool {
					return scalar(t, cl, "SELECT coalesce(max(rows), 0) FROM system.queries WHERE state = 'running'") != "0"
				},
					20*time.Second, 20*time.Millisecond)
			} else {
				require.Eventually(t, func() bool { return runningFragments(t, cl) == "1" }, 20*time.Second, 20*time.Millisecond)
			}
			res, err := cl.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
			require.NoError(t, err)
			require.Equal(t, flight.CancelStatusCancelled, res.Status)
			release()
			select {
			case err := <-done:
				require.Equal(t, codes.Canceled, status.Code(err), describe(err))
			case <-time.After(10 * time.Second):
				t.Fatal("the stream did not end after CancelFlightInfo")
			}
			start := time.Now()
			require.Eventually(t, func() bool { return runningFragments(t, cl) == "0" }, 5*time.Second, 20*time.Millisecond,
				"a worker still runs the cancelled fragment")
			t.Logf("workers idle %s after the stream ended", time.Since(start).Round(time.Millisecond))
			require.Equal(t, "cancelled", scalar(t, cl, "SELECT state FROM system.queries WHERE query_id = '"+infoQueryID(t, info)+"'"))
			requireServes(t, cl)
		})
	}
}

func TestOpsStalledClientHoldsNoMemoryAndIsCut(t *testing.T) {
	srv, cl := opsServer(t, "", "--send-timeout", "4s")
	ctx := queryCtx(t)
	base, err := harness.RSS(srv.PID())
	require.NoError(t, err)
	// 30M rows of (BIGINT, VARCHAR): most of a gigabyte if the coordinator
	// buffered it (the worker does hold it: see README, Status).
	info, err := cl.Execute(ctx, "SELECT i, i::VARCHAR AS s FROM range(30000000) t(i)")
	require.NoError(t, err)
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	defer rdr.Release()
	// A slow reader: a batch, then nothing until the stream has filled
	// whatever the coordinator holds for it, three times. The stream is
	// full when the rows the coordinator has relayed stop growing (a
	// coordinator that buffered would relay all 30M first); the RSS is
	// measured then, well within --send-timeout of the last read.
	id := infoQueryID(t, info)
	relayed := func() (int64, bool) {
		n, err := strconv.ParseInt(scalar(t, cl, "SELECT coalesce(max(rows), 0) FROM system.queries WHERE query_id = '"+id+"'"), 10, 64)
		require.NoError(t, err)
		return n, n > 0
	}
	var peak int64
	for range 3 {
		require.True(t, rdr.Next(), describe(rdr.Err()))
		rows := harness.WaitSteady(t, 3*time.Second, 100*time.Millisecond, 3, relayed)
		rss, err := harness.RSS(srv.PID())
		require.NoError(t, err)
		peak = max(peak, rss)
		t.Logf("stream stopped after %d rows relayed; coordinator RSS %d MiB", rows, rss>>20)
	}
	t.Logf("coordinator RSS %d MiB before, %d MiB peak while the client reads slowly", base>>20, peak>>20)
	require.Less(t, peak-base, int64(150<<20), "the coordinator buffers the result of a slow client")
	// Then a reader that stops: the stream is cut after --send-timeout.
	require.Eventually(t, func() bool {
		return scalar(t, cl, "SELECT count(*) FROM system.queries WHERE query_id = '"+id+"' AND state = 'failed' AND error LIKE '%client stopped reading%'") == "1"
	}, 30*time.Second, 200*time.Millisecond)
	require.Eventually(t, func() bool { return runningFragments(t, cl) == "0" }, 5*time.Second, 20*time.Millisecond,
		"the worker still streams the cut query")
}

func TestOpsSIGTERMDrainsRunningQueries(t *testing.T) {
	srv, cl := opsServer(t, "", "--drain-timeout", "60s")
	ctx := queryCtx(t)
	const total = 3_000_000
	info, err := cl.Execute(ctx, fmt.Sprintf("SELECT i, i::VARCHAR AS s FROM range(%d) t(i)", total))
	require.NoError(t, err)
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	defer rdr.Release()
	require.True(t, rdr.Next())
	n := rdr.RecordBatch().NumRows()

	require.NoError(t, srv.Signal(syscall.SIGTERM))
	// New queries are refused as retriable while the running one drains.
	var refused error
	require.Eventually(t, func() bool {
		_, refused = cl.Execute(ctx, "SELECT 1")
		return status.Code(refused) == codes.Unavailable
	}, 10*time.Second, 20*time.Millisecond, "last: %s", describe(refused))
	require.Contains(t, refused.Error(), "draining")
	resp, err := http.Get(strings.TrimSuffix(srv.MetricsURL(), "/metrics") + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.False(t, srv.Exited(), "the server exited with a query running")

	// The client has been the slow side all along: the server waited on
	// it, draining, through every check above, and stays up while the
	// rest is read.
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
		require.False(t, srv.Exited(), "the server exited with %d of %d rows sent", n, total)
	}
	require.NoError(t, rdr.Err(), describe(rdr.Err()))
	require.EqualValues(t, total, n, "the running query completes whole")
	require.NoError(t, srv.WaitExit(30*time.Second), "exit after the drain")
}

// opsAuthServer serves wh with HS256 JWTs; admin role "admin".
func opsAuthServer(t *testing.T, wh, secret string) string {
	return startAuthServer(t, func(addr string) error {
		cl, err := harness.DialFlightSQL(addr, memory.DefaultAllocator)
		if err != nil {
			return err
		}
		defer cl.Close()
		_, err = cl.GetTables(context.Background(), &flightsql.GetTablesOpts{})
		if status.Code(err) == codes.Unauthenticated {
			return nil
		}
		return fmt.Errorf("want UNAUTHENTICATED without a token, got %v", err)
	}, "--warehouse", wh, "--jwt-secret-file", secret, "--history-flush", "1h")
}

func TestOpsSystemQueriesPerPrincipalAndAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("ops-secret-ops-secret-ops-secret-0123\n"), 0o600))
	wh := filepath.Join(dir, "wh")
	harness.DemoData(t, wh, demoScale, nil)
	tok := func(sub string, roles ...string) context.Context {
		args := []string{"--jwt-secret-file", secret, "--sub", sub}
		for _, r := range roles {
			args = append(args, "--role", r)
		}
		return bearer(quiverToken(t, args...))
	}
	alice, bob, root := tok("alice"), tok("bob"), tok("root", "admin")
	rows := func(ctx context.Context, cl *flightsql.Client, sql string) [][]string {
		t.Helper()
		info, err := cl.Execute(ctx, sql)
		require.NoError(t, err, "%s: %s", sql, describe(err))
		var out [][]string
		for _, ep := range info.Endpoint {
			rdr, err := cl.DoGet(ctx, ep.Ticket)
			require.NoError(t, err)
			for rdr.Next() {
				rec := rdr.RecordBatch()
				for r := range int(rec.NumRows()) {
					var row []string
					for c := range int(rec.NumCols()) {
						row = append(row, rec.Column(c).ValueStr(r))
					}
					out = append(out, row)
				}
			}
			require.NoError(t, rdr.Err())
			rdr.Release()
		}
		return out
	}
	const history = `SELECT principal, sql, state, rows, tables FROM system.queries
		WHERE sql NOT LIKE '%system.queries%' ORDER BY submitted`

	// Two sessions over the same warehouse: each server is stopped with
	// SIGTERM when its subtest ends, which flushes history to _system/queries/.
	for session := range 2 {
		t.Run(fmt.Sprintf("session%d", session), func(t *testing.T) {
			addr := opsAuthServer(t, wh, secret)
			cl := dialFlightSQL(t, addr, memory.DefaultAllocator)
			if session == 0 {
				require.Equal(t, [][]string{{"5"}}, rows(alice, cl, "SELECT count(*) FROM (SELECT * FROM demo.titles LIMIT 5)"))
				require.NotEmpty(t, rows(bob, cl, "SELECT device FROM demo.plays GROUP BY device"))
			}
			mine := rows(alice, cl, history)
			require.Equal(t, [][]string{{"alice", "SELECT count(*) FROM (SELECT * FROM demo.titles LIMIT 5)", "finished", "1", `["demo.titles"]`}}, mine,
				"alice sees her own query only")
			all := rows(root, cl, history)
			require.Len(t, all, 2, "the admin sees everyone's")
			require.Equal(t, "bob", all[1][0])
			require.Equal(t, `["demo.plays"]`, all[1][4])
		})
		if session == 0 {
			files, err := filepath.Glob(filepath.Join(wh, "_system", "queries", "*.parquet"))
			require.NoError(t, err)
			require.NotEmpty(t, files, "history was not persisted on shutdown")
		}
	}
}

func TestOpsMetricsParseAndMove(t *testing.T) {
	srv, cl := opsServer(t, "")
	read := func() map[string]*dto.MetricFamily {
		t.Helper()
		resp, err := http.Get(srv.MetricsURL())
		require.NoError(t, err)
		defer resp.Body.Close()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		require.NoError(t, err)
		return fams
	}
	sum := func(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
		f, ok := fams[name]
		require.True(t, ok, "metric %s missing", name)
		var total float64
		for _, m := range f.GetMetric() {
			match := true
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == k && lp.GetValue() == v)
				}
				match = match && found
			}
			if !match {
				continue
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			case m.Histogram != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return total
	}
	before := read()
	for range 3 {
		require.Equal(t, "4950", scalar(t, cl, "SELECT sum(i)::BIGINT FROM range(100) t(i)"))
	}
	_, err := cl.Execute(queryCtx(t), "SELEC nope")
	require.Error(t, err)
	var after map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		after = read()
		return sum(after, "quiver_queries_ended_total", map[string]string{"state": "finished"})-
			sum(before, "quiver_queries_ended_total", map[string]string{"state": "finished"}) >= 3
	}, 10*time.Second, 50*time.Millisecond)
	require.GreaterOrEqual(t, sum(after, "quiver_queries_ended_total", map[string]string{"state": "failed"})-
		sum(before, "quiver_queries_ended_total", map[string]string{"state": "failed"}), 1.0)
	require.GreaterOrEqual(t, sum(after, "quiver_result_rows_total", nil)-sum(before, "quiver_result_rows_total", nil), 3.0)
	require.GreaterOrEqual(t, sum(after, "quiver_query_duration_seconds", nil)-sum(before, "quiver_query_duration_seconds", nil), 4.0)
	require.Greater(t, sum(after, "quiver_fragments_total", map[string]string{"outcome": "ok"}), sum(before, "quiver_fragments_total", map[string]string{"outcome": "ok"}))
	for _, name := range []string{"quiver_queries_running", "quiver_queries_queued", "quiver_admission_wait_seconds", "go_goroutines"} {
		_, ok := after[name]
		require.True(t, ok, "metric %s missing", name)
	}
}

func TestOpsWorkerHTTPEndpoint(t *testing.T) {
	haddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(harness.FreePort(t)))
	w := harness.StartWorker(t, harness.WorkerOptions{
		Warehouse: t.TempDir(), Secret: "ops-worker-secret-0123456789abcdef", Args: []string{"--http-listen", haddr},
	})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + haddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	var code int
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + haddr + "/healthz")
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusOK, code)
	code, _ = get("/readyz")
	require.Equal(t, http.StatusOK, code)
	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	for _, name := range []string{"quiver_worker_fragments_running", "go_goroutines"} {
		require.Contains(t, fams, name)
	}
	require.NotEmpty(t, w.Addr())
}
