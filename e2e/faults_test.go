package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// faultScale makes demo.plays 1.5M rows: with two workers each scan
// fragment streams about eleven 64K-row batches (~50 MB), several times
// what the gRPC windows and socket buffers between worker, coordinator and
// client hold, so a worker killed after the client's first batch is still
// streaming.
const faultScale = 0.3

// lostWorkersBound is how long a query may take to fail once every worker
// is gone (the coordinator's grace period plus slack): it must fail, never
// hang.
const lostWorkersBound = 60 * time.Second

// faultQuery is a query the fault tests break workers under.
type faultQuery struct {
	name string
	sql  string
}

// faultQueries are one scan, one aggregate (a merge plan) and one join,
// with exact (non-float) results so they can be compared by digest.
func faultQueries() []faultQuery {
	return []faultQuery{
		{name: "scan", sql: "SELECT * FROM demo.plays"},
		{name: "aggregate", sql: `SELECT device, completed, count(*) AS plays, sum(duration_seconds) AS seconds,
			sum(length(md5(CAST(play_id AS VARCHAR)))) AS work
			FROM demo.plays GROUP BY device, completed`},
		{name: "join", sql: `SELECT p.play_id, p.day, p.device, t.name, t.genre
			FROM demo.plays p JOIN demo.titles t ON p.title_id = t.title_id`},
	}
}

// TestFaults kills workers while queries run: (a) right after planning,
// before DoGet (a local worker frozen first, so its supervisor and the
// pool do not know yet); (b) while a fragment streams, after the client
// has a batch of it; both must return exactly the oracle's rows and count
// a retry. (c) with every worker gone (remote workers nothing restarts)
// the query must fail with Unavailable within lostWorkersBound. Every
// precondition (a plan split over the workers, a fragment dispatched to
// the victim) is required, not hoped for.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection is not a short test")
	}
	harness.QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, faultScale, nil)
	oracle := harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: demoTables})
	wants := map[string]*harness.Result{}
	t.Cleanup(func() {
		for _, w := range wants {
			w.Release()
		}
	})
	for _, q := range faultQueries() {
		want, err := oracle.Query(context.Background(), q.sql)
		require.NoError(t, err, "oracle %s", q.name)
		wants[q.name] = want
	}

	t.Run("worker_killed", func(t *testing.T) {
		const workers = 2
		srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers})
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		cl := dialFlightSQL(t, srv.Addr(), mem)
		for _, q := range faultQueries() {
			t.Run(q.name+"/before_first_batch", func(t *testing.T) {
				waitLocalWorkers(t, srv, cl, workers)
				killBeforeDoGet(t, srv, cl, q, wants[q.name])
			})
			t.Run(q.name+"/after_first_batch", func(t *testing.T) {
				waitLocalWorkers(t, srv, cl, workers)
				killWhileStreaming(t, srv, cl, q, wants[q.name])
			})
		}
		require.NoError(t, cl.Close())
		mem.AssertSize(t, 0)
	})

	t.Run("worker_killed_repartitioned", func(t *testing.T) {
		// The join repartitions demo.plays and demo.titles on title_id:
		// a worker dies while producers write the spool, after they
		// wrote it (its parts are read by the other worker), and while a
		// consumer fragment streams.
		const workers = 2
		srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers, Args: []string{"--broadcast-rows", "1"}})
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		cl := dialFlightSQL(t, srv.Addr(), mem)
		q := faultQueries()[2]
		// Both workers healthy before planning: with one the plan is
		// single (one_worker).
		waitLocalWorkers(t, srv, cl, workers)
		steps := explain(t, cl, q.sql)
		require.Contains(t, formatExplain(steps), "repartition demo.plays on title_id and demo.titles on title_id")
		t.Run("while_producing", func(t *testing.T) {
			waitLocalWorkers(t, srv, cl, workers)
			killWhileProducing(t, srv, cl, q, wants[q.name])
		})
		t.Run("after_producing", func(t *testing.T) {
			waitLocalWorkers(t, srv, cl, workers)
			killBeforeDoGet(t, srv, cl, q, wants[q.name])
		})
		t.Run("while_streaming", func(t *testing.T) {
			waitLocalWorkers(t, srv, cl, workers)
			killWhileStreaming(t, srv, cl, q, wants[q.name])
		})
		require.Eventually(t, func() bool {
			entries, err := os.ReadDir(filepath.Join(wh, "_spool"))
			return err == nil && len(entries) == 0
		}, 10*time.Second, 50*time.Millisecond, "the spool is empty once the queries ended")
		require.NoError(t, cl.Close())
		mem.AssertSize(t, 0)
	})

	t.Run("worker_killed_final", func(t *testing.T) {
		// A GROUP BY of many groups finishes on the workers: a worker
		// dies while the fragments write their partials to the spool,
		// after they wrote them (the final fragments read its parts from
		// the spool elsewhere), and while a final fragment streams.
		const workers = 2
		// The key is an expression: play_id itself would group whole in
		// the fragments (the day files hold disjoint play_id ranges).
		q := faultQuery{name: "final", sql: `SELECT play_id % 1000003 AS g, count(*) AS n, sum(duration_seconds) AS s,
			max(md5(CAST(play_id AS VARCHAR))) AS work FROM demo.plays GROUP BY play_id % 1000003`}
		want, err := oracle.Query(context.Background(), q.sql)
		require.NoError(t, err, "oracle %s", q.name)
		defer want.Release()
		srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers, Args: []string{"--final-aggregate-groups", "1"}})
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		cl := dialFlightSQL(t, srv.Addr(), mem)
		waitLocalWorkers(t, srv, cl, workers) // with one worker the plan is single
		require.Contains(t, formatExplain(explain(t, cl, q.sql)), "final k0 (about")
		t.Run("while_producing", func(t *testing.T) {
			waitLocalWorkers(t, srv, cl, workers)
			killWhileProducing(t, srv, cl, q, want)
		})
		t.Run("after_producing", func(t *testing.T) {
			waitLocalWorkers(t, srv, cl, workers)
			killBeforeDoGet(t, srv, cl, q, want)
		})
		t.Run("while_streaming", func(t *testing.T) {
			waitLocalWorkers(t, srv, cl, workers)
			killWhileStreaming(t, srv, cl, q, want)
		})
		require.Eventually(t, func() bool {
			entries, err := os.ReadDir(filepath.Join(wh, "_spool"))
			return err == nil && len(entries) == 0
		}, 10*time.Second, 50*time.Millisecond, "the spool is empty once the queries ended")
		require.NoError(t, cl.Close())
		mem.AssertSize(t, 0)
	})

	t.Run("worker_killed_shapes", func(t *testing.T) {
		// A CTE and a UNION ALL run as stages (each subquery split, its
		// rows spooled, the rest on one worker over them), an EXCEPT ALL
		// as one fragment per part of its branches' stages; a window
		// partitioned by profile_id exchanges demo.plays on it. A worker
		// dies while a stage's producers run, after they ran (the
		// remainder reads their parts from the spool elsewhere), and,
		// for the window's long result, while it streams.
		const workers = 2
		shapes := []struct {
			q       faultQuery
			plan    string
			explain string
		}{
			{faultQuery{name: "cte", sql: `WITH per AS (SELECT profile_id, count(*) AS n, sum(duration_seconds) AS s,
				max(md5(CAST(play_id AS VARCHAR))) AS w FROM demo.plays GROUP BY profile_id)
				SELECT n, count(*) AS profiles, sum(s) AS s, max(w) AS w FROM per GROUP BY n`}, "staged", "stage 0 | cte per: aggregate"},
			{faultQuery{name: "union_all", sql: `SELECT device, count(*) AS n, max(md5(CAST(play_id AS VARCHAR))) AS w FROM demo.plays GROUP BY device
				UNION ALL SELECT device, count(*), max(md5(session_id)) FROM demo.events GROUP BY device`}, "staged", "stage 1 | union all branch"},
			{faultQuery{name: "window", sql: `SELECT play_id, profile_id, row_number() OVER (PARTITION BY profile_id ORDER BY play_id) AS rn,
				sum(duration_seconds) OVER (PARTITION BY profile_id ORDER BY play_id) AS running FROM demo.plays`}, "window", "repartition demo.plays on profile_id"},
			{faultQuery{name: "except_all", sql: `SELECT profile_id, device, day FROM demo.plays
				EXCEPT ALL SELECT user_id, device, CAST(event_time AS DATE) FROM demo.events`}, "staged", "remainder | 2 parts: the except all"},
		}
		// A staged plan has one endpoint, which the server would fetch
		// ahead as planning ends (--prefetch-messages): the small
		// remainder of union_all is then done before the client could
		// kill anything, and "after producing, before DoGet" would test
		// nothing. Without the fetch-ahead it runs at DoGet.
		srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers, Args: []string{"--prefetch-messages", "0"}})
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		cl := dialFlightSQL(t, srv.Addr(), mem)
		for _, s := range shapes {
			want, err := oracle.Query(context.Background(), s.q.sql)
			require.NoError(t, err, "oracle %s", s.q.name)
			defer want.Release()
			// The plan depends on the workers: a killed one must be back.
			waitLocalWorkers(t, srv, cl, workers)
			plan := formatExplain(explain(t, cl, s.q.sql))
			require.Contains(t, plan, "strategy | "+s.plan)
			require.Contains(t, plan, s.explain)
			t.Run(s.q.name+"/while_producing", func(t *testing.T) {
				waitLocalWorkers(t, srv, cl, workers)
				killWhileProducing(t, srv, cl, s.q, want)
			})
			t.Run(s.q.name+"/after_producing", func(t *testing.T) {
				waitLocalWorkers(t, srv, cl, workers)
				killBeforeDoGet(t, srv, cl, s.q, want)
			})
			// The window's result and the EXCEPT ALL's parts are long
			// enough to be cut while they stream.
			if s.plan == "window" || s.q.name == "except_all" {
				t.Run(s.q.name+"/while_streaming", func(t *testing.T) {
					waitLocalWorkers(t, srv, cl, workers)
					killWhileStreaming(t, srv, cl, s.q, want)
				})
			}
		}
		require.Eventually(t, func() bool {
			entries, err := os.ReadDir(filepath.Join(wh, "_spool"))
			return err == nil && len(entries) == 0
		}, 10*time.Second, 50*time.Millisecond, "the spool is empty once the queries ended")
		require.NoError(t, cl.Close())
		mem.AssertSize(t, 0)
	})

	t.Run("remote_workers", func(t *testing.T) {
		testRemoteWorkers(t, wh, wants)
	})
}

// killWhileProducing plans q, whose exchanges run while GetFlightInfo
// waits, and kills the worker the first producer was dispatched to as
// soon as that is logged: the producer is re-run on the other worker
// into a directory of its own, and the rows are exactly the oracle's.
func killWhileProducing(t *testing.T, srv *harness.Server, cl *flightsql.Client, q faultQuery, want *harness.Result) {
	ctx := queryCtx(t)
	before := fragmentRetries(t, srv, 0)
	got := killOnDispatch(t, srv, srv.LogOffset(), "while producing", q, anyDispatch, func() (*harness.Result, error) {
		return harness.RunFlightSQL(ctx, cl, q.sql)
	}, nil)
	defer got.Release()
	harness.CompareDigest(t, q.name, want, got)
	requireRetried(t, srv, before)
}

// killOnDispatch runs fetch in the background, kills the worker of the
// first fragment dispatched after offset (a record dispatch matches) as
// soon as that is logged, calls
// afterKill (when not nil), and returns what fetch returned, which must be
// no error.
func killOnDispatch(t *testing.T, srv *harness.Server, offset int, when string, q faultQuery, dispatch func(harness.LogRecord) bool,
	fetch func() (*harness.Result, error), afterKill func()) *harness.Result {
	t.Helper()
	type result struct {
		res *harness.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := fetch()
		done <- result{res, err}
	}()
	rec, err := srv.WaitLog(logCtx(t), offset, dispatch)
	require.NoError(t, err, "no `fragment dispatched` log record")
	addr, pid := dispatchedWorker(t, srv, rec)
	require.NoError(t, harness.KillPID(pid))
	if afterKill != nil {
		afterKill()
	}
	t.Logf("killed worker %s (pid %d) as fragment %s was dispatched to it", addr, pid, rec.Str("fragment"))
	r := <-done
	require.NoError(t, r.err, "%s with worker %s killed %s: %s", q.name, addr, when, describe(r.err))
	return r.res
}

// killBeforeDoGet plans q and then makes a local worker dead before the
// client fetched anything, the way a remote one dies: unnoticed until the
// coordinator dispatches to it. A worker killed outright is noticed at
// once by its supervisor, which drops it from the pool, so whether a
// fragment still went to it was a race (and a victim picked from EXPLAIN
// was not always a worker anything was dispatched to). Instead every
// local worker is frozen right after planning (SIGSTOP is not an exit: the
// supervisor sees nothing and the pool still offers the worker), the
// endpoints are read, and the worker of the first fragment that reads the
// query's result is killed and the others thawed. That fragment must be
// retried elsewhere and the rows must be exactly the oracle's. A
// repartitioned or staged plan's producers ran inside GetFlightInfo: what
// is killed reads their parts, the dead worker's too, from the spool.
//
// A plan of one endpoint is fetched ahead (its fragments are dispatched
// as planning ends, before GetFlightInfo returns) unless the server runs
// with --prefetch-messages 0, so its victim may have finished in the
// moment before the freeze: then nothing was retried, and the set-up runs
// again, up to three times. (The fault queries' fragments take far longer
// than that moment; worker_killed_shapes turns the fetch-ahead off.)
func killBeforeDoGet(t *testing.T, srv *harness.Server, cl *flightsql.Client, q faultQuery, want *harness.Result) {
	n := len(srv.LocalWorkers())
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			waitLocalWorkers(t, srv, cl, n)
		}
		before := fragmentRetries(t, srv, 0)
		freezeAndKill(t, srv, cl, q, want)
		if fragmentRetries(t, srv, 0) > before {
			requireRetried(t, srv, before)
			return
		}
		require.Less(t, attempt, 3, "%d times the killed worker's fragment had finished before the kill", attempt)
		t.Logf("attempt %d: the killed worker's fragment had finished before the kill, nothing to retry; again", attempt)
	}
}

// freezeAndKill is one try of killBeforeDoGet.
func freezeAndKill(t *testing.T, srv *harness.Server, cl *flightsql.Client, q faultQuery, want *harness.Result) {
	ctx := queryCtx(t)
	offset := srv.LogOffset()
	info, err := cl.Execute(ctx, q.sql)
	require.NoError(t, err, describe(err))
	workers := srv.LocalWorkers()
	thaw := func() {
		for _, pid := range workers {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	defer thaw() // when the test fails while they are frozen
	for _, pid := range workers {
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	}
	t.Logf("%d endpoints; froze local workers %v before DoGet", len(info.GetEndpoint()), workers)
	got := killOnDispatch(t, srv, offset, "before DoGet", q, resultDispatch, func() (*harness.Result, error) {
		return harness.FetchAll(ctx, cl, info)
	}, thaw)
	defer got.Release()
	harness.CompareDigest(t, q.name, want, got)
}

// anyDispatch matches every `fragment dispatched` record.
func anyDispatch(r harness.LogRecord) bool { return r.Msg() == "fragment dispatched" }

// resultDispatch matches the dispatch of a fragment that reads the
// query's result, not an exchange producer's.
func resultDispatch(r harness.LogRecord) bool { return anyDispatch(r) && r["producer"] != true }

// explainWorkerRe finds the worker of a fragment in EXPLAIN's detail.
var explainWorkerRe = regexp.MustCompile(`worker=(\S+)`)

// explainedWorker returns the worker of workers that EXPLAIN names for the
// first fragment of q (grouped true), or else the lowest address.
func explainedWorker(t *testing.T, cl *flightsql.Client, q string, workers map[string]int) (addr string, grouped bool) {
	t.Helper()
	for _, w := range explainWorkers(t, cl, q) {
		if _, ok := workers[w]; ok {
			return w, true
		}
	}
	addrs := make([]string, 0, len(workers))
	for a := range workers {
		addrs = append(addrs, a)
	}
	require.NotEmpty(t, addrs)
	sort.Strings(addrs)
	return addrs[0], false
}

// explainWorkers lists the worker of every fragment row of EXPLAIN q, in
// order.
func explainWorkers(t *testing.T, cl *flightsql.Client, q string) []string {
	t.Helper()
	res, err := harness.RunFlightSQL(queryCtx(t), cl, "EXPLAIN "+q)
	require.NoError(t, err, "EXPLAIN %s: %s", q, describe(err))
	defer res.Release()
	var out []string
	for _, r := range harness.TextRows(res).Rows {
		if len(r) < 2 || !strings.HasPrefix(r[0], "fragment") {
			continue
		}
		if m := explainWorkerRe.FindStringSubmatch(r[1]); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// killWhileStreaming kills the worker serving a fragment while it runs.
// With several endpoints (a scan-shaped plan) it reads one batch of the
// first endpoint, then kills the worker the coordinator dispatched that
// fragment to and reads on. With one endpoint (a merge plan, whose client
// stream starts only after every fragment finished, or a single fragment)
// it kills the first worker a fragment was dispatched to as soon as the
// dispatch is logged.
func killWhileStreaming(t *testing.T, srv *harness.Server, cl *flightsql.Client, q faultQuery, want *harness.Result) {
	ctx := queryCtx(t)
	before := fragmentRetries(t, srv, 0)
	offset := srv.LogOffset()
	info, err := cl.Execute(ctx, q.sql)
	require.NoError(t, err, describe(err))
	eps := info.GetEndpoint()

	var got *harness.Result
	if len(eps) > 1 {
		// Endpoints of several fragments are dispatched at their DoGet;
		// what was dispatched while planning were exchange producers.
		offset = srv.LogOffset()
		got = &harness.Result{}
		defer got.Release()
		rdr, err := cl.DoGet(ctx, eps[0].GetTicket())
		require.NoError(t, err, describe(err))
		defer rdr.Release()
		require.True(t, rdr.Next(), "no first batch: %s", describe(rdr.Err()))
		got.Schema = rdr.Schema()
		keep(got, rdr.RecordBatch())

		rec, err := srv.WaitLog(logCtx(t), offset, func(r harness.LogRecord) bool {
			return anyDispatch(r) && (r.Str("fragment") == "0" || r.Str("fragment") == "")
		})
		require.NoError(t, err, "no `fragment dispatched` log record for fragment 0")
		addr, pid := dispatchedWorker(t, srv, rec)
		require.NoError(t, harness.KillPID(pid))
		t.Logf("%d endpoints; killed worker %s (pid %d) after the first batch of endpoint 0", len(eps), addr, pid)
		// The kill lands mid-stream: each fragment streams several times
		// what the buffers between worker and client hold (faultScale),
		// and requireRetried below fails if it did not.
		for rdr.Next() {
			keep(got, rdr.RecordBatch())
		}
		require.True(t, rdr.Err() == nil || errors.Is(rdr.Err(), io.EOF),
			"%s: endpoint 0 after worker %s was killed: %s", q.name, addr, describe(rdr.Err()))
		rest, err := harness.FetchAll(ctx, cl, &flight.FlightInfo{Endpoint: eps[1:], Schema: info.GetSchema()})
		require.NoError(t, err, describe(err))
		defer rest.Release()
		for _, r := range rest.Records {
			keep(got, r)
		}
	} else {
		got = killOnDispatch(t, srv, offset, "while its fragment ran", q, anyDispatch, func() (*harness.Result, error) {
			return harness.FetchAll(ctx, cl, info)
		}, nil)
		defer got.Release()
	}
	harness.CompareDigest(t, q.name, want, got)
	requireRetried(t, srv, before)
}

// logCtx bounds waiting for a log record.
func logCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// keep retains rec and appends it to res.
func keep(res *harness.Result, rec arrow.RecordBatch) {
	rec.Retain()
	res.Records = append(res.Records, rec)
}

// dispatchedWorker maps the worker address of a `fragment dispatched`
// record to the pid of that local worker.
func dispatchedWorker(t *testing.T, srv *harness.Server, rec harness.LogRecord) (string, int) {
	t.Helper()
	addr := rec.Str("worker")
	pid, ok := srv.LocalWorkers()[addr]
	require.True(t, ok, "dispatched to %q, which is no current local worker (%v)", addr, srv.LocalWorkers())
	return addr, pid
}

// waitLocalWorkers waits until n local workers run (a killed one has been
// restarted) and the server answers queries again, then until the pool
// uses them all: a scan of demo.plays is planned n ways. A scan that is
// never split fails the test: a fault would then hit a one-fragment plan
// and test nothing of moving work between workers.
func waitLocalWorkers(t *testing.T, srv *harness.Server, cl *flightsql.Client, n int) {
	t.Helper()
	err := harness.PollFor(30*time.Second, 100*time.Millisecond, func() error {
		workers := srv.LocalWorkers()
		alive := 0
		for _, pid := range workers {
			if harness.Alive(pid) {
				alive++
			}
		}
		if alive != n {
			return fmt.Errorf("%d of %d local workers running: %v", alive, n, workers)
		}
		return nil
	})
	require.NoError(t, err)
	requireServes(t, cl)
	err = harness.PollFor(15*time.Second, 100*time.Millisecond, func() error {
		info, err := cl.Execute(queryCtx(t), "SELECT play_id FROM demo.plays WHERE play_id + 0 < 0")
		if err != nil {
			return harness.Permanent(fmt.Errorf("plan: %s", describe(err)))
		}
		got, err := harness.FetchAll(queryCtx(t), cl, info)
		if err != nil {
			return harness.Permanent(fmt.Errorf("fetch: %s", describe(err)))
		}
		got.Release()
		if eps := len(info.GetEndpoint()); eps < n {
			return fmt.Errorf("%d endpoints", eps)
		}
		return nil
	})
	require.NoError(t, err, "a scan of demo.plays is not split %d ways", n)
}

// fragmentRetries is quiver_fragment_retries_total from the server's
// metrics endpoint, or, when it has none, the number of retry log records
// (`fragment retried`, or the older `fragment failed on worker; trying
// another`) after offset.
func fragmentRetries(t *testing.T, srv *harness.Server, offset int) float64 {
	t.Helper()
	v, ok, err := srv.Metric(queryCtx(t), "quiver_fragment_retries_total", nil)
	require.NoError(t, err)
	if ok {
		return v
	}
	n := 0
	for _, r := range srv.LogsSince(offset) {
		if r.Msg() == "fragment retried" || r.Msg() == "fragment failed on worker; trying another" {
			n++
		}
	}
	return float64(n)
}

// requireRetried checks that the coordinator retried at least one fragment
// since before was read.
func requireRetried(t *testing.T, srv *harness.Server, before float64) {
	t.Helper()
	after := fragmentRetries(t, srv, 0)
	source := "log records `fragment retried` (the server exposes no metrics endpoint)"
	if srv.MetricsURL() != "" {
		source = "quiver_fragment_retries_total"
	}
	require.Greater(t, after, before, "%s did not increase", source)
	t.Logf("%s: %g → %g", source, before, after)
}

// testRemoteWorkers serves wh from two remote workers the test started
// (nothing restarts them and nothing but the pool's periodic health check
// notices their death). (a) For each fault query it kills the worker
// EXPLAIN names for the first fragment right after planning: the
// coordinator dispatches to the dead worker, must retry elsewhere and
// return exactly the oracle's rows. (c) It kills both, once after planning
// each fault query and once in the middle of a scan's stream, and expects
// Unavailable within lostWorkersBound. Killed workers are brought back at
// the same addresses for the next case.
func testRemoteWorkers(t *testing.T, wh string, wants map[string]*harness.Result) {
	secretBytes := make([]byte, 32)
	_, err := rand.Read(secretBytes)
	require.NoError(t, err)
	secret := hex.EncodeToString(secretBytes)
	startWorker := func(addr string) *harness.Worker {
		return harness.StartWorker(t, harness.WorkerOptions{Warehouse: wh, Secret: secret, Addr: addr})
	}
	workers := []*harness.Worker{startWorker(""), startWorker("")}
	args := []string{"--worker", workers[0].Addr(), "--worker", workers[1].Addr()}
	if harness.ServeFlags(t)["worker-grace"] {
		args = append(args, "--worker-grace", "5s")
	}
	srv := harness.StartServer(t, harness.ServerOptions{
		Warehouse: wh, Args: args, Env: []string{"QUIVER_WORKER_SECRET=" + secret},
	})
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	cl := dialFlightSQL(t, srv.Addr(), mem)
	defer mem.AssertSize(t, 0)
	defer cl.Close()

	killAll := func() {
		for _, w := range workers {
			w.Kill()
		}
	}
	// revive restarts dead workers and waits until the coordinator uses
	// both again: a scan of demo.plays is split over both. One that is not
	// within 15s fails the test, for the reason waitLocalWorkers gives.
	revive := func(t *testing.T) {
		for i, w := range workers {
			if w.Exited() {
				workers[i] = startWorker(w.Addr())
			}
		}
		err := harness.PollFor(30*time.Second, 200*time.Millisecond, func() error {
			res, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT count(*) AS n FROM demo.titles")
			if err != nil {
				return errors.New(describe(err))
			}
			res.Release()
			return nil
		})
		require.NoError(t, err, "workers back, but the server does not serve")
		err = harness.PollFor(15*time.Second, 100*time.Millisecond, func() error {
			seen := map[string]bool{}
			for _, w := range explainWorkers(t, cl, "SELECT * FROM demo.plays") {
				seen[w] = true
			}
			if len(seen) < len(workers) {
				return fmt.Errorf("fragments on %v", seen)
			}
			return nil
		})
		require.NoError(t, err, "a scan of demo.plays is not split over %d workers", len(workers))
	}

	for _, q := range faultQueries() {
		t.Run(q.name+"/one_killed_before_doget", func(t *testing.T) {
			revive(t)
			ctx := queryCtx(t)
			before := fragmentRetries(t, srv, 0)
			byAddr := map[string]int{}
			for i, w := range workers {
				byAddr[w.Addr()] = i
			}
			addr, grouped := explainedWorker(t, cl, q.sql, byAddr)
			info, err := cl.Execute(ctx, q.sql)
			require.NoError(t, err, describe(err))
			workers[byAddr[addr]].Kill()
			t.Logf("%d endpoints; killed remote worker %s (named by EXPLAIN: %v) before DoGet", len(info.GetEndpoint()), addr, grouped)
			got, err := harness.FetchAll(ctx, cl, info)
			require.NoError(t, err, "%s with worker %s killed before DoGet: %s", q.name, addr, describe(err))
			defer got.Release()
			harness.CompareDigest(t, q.name, wants[q.name], got)
			requireRetried(t, srv, before)
		})
	}

	requireUnavailable := func(t *testing.T, err error, since time.Time) {
		t.Helper()
		elapsed := time.Since(since)
		require.Error(t, err, "query succeeded with every worker dead")
		require.Equal(t, codes.Unavailable, status.Code(err), describe(err))
		require.Less(t, elapsed, lostWorkersBound, "took %s to fail", elapsed)
		t.Logf("failed after %s: %s", elapsed.Round(time.Millisecond), describe(err))
	}

	for _, q := range faultQueries() {
		t.Run(q.name+"/all_killed_after_planning", func(t *testing.T) {
			revive(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*lostWorkersBound)
			defer cancel()
			info, err := cl.Execute(ctx, q.sql)
			require.NoError(t, err, describe(err))
			killAll()
			start := time.Now()
			res, err := harness.FetchAll(ctx, cl, info)
			res.Release()
			requireUnavailable(t, err, start)
		})
	}

	t.Run("scan/all_killed_mid_stream", func(t *testing.T) {
		revive(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*lostWorkersBound)
		defer cancel()
		info, err := cl.Execute(ctx, "SELECT * FROM demo.plays")
		require.NoError(t, err, describe(err))
		rdr, err := cl.DoGet(ctx, info.GetEndpoint()[0].GetTicket())
		require.NoError(t, err, describe(err))
		defer rdr.Release()
		require.True(t, rdr.Next(), "no first batch: %s", describe(rdr.Err()))
		killAll()
		start := time.Now()
		for rdr.Next() {
		}
		err = rdr.Err()
		if err == nil || errors.Is(err, io.EOF) {
			// Endpoint 0 was complete in the buffers; the next one must fail.
			if eps := info.GetEndpoint(); len(eps) > 1 {
				var res *harness.Result
				res, err = harness.FetchAll(ctx, cl, &flight.FlightInfo{Endpoint: eps[1:], Schema: info.GetSchema()})
				res.Release()
			} else {
				err = fmt.Errorf("the whole result arrived although every worker was killed after the first batch")
			}
		}
		requireUnavailable(t, err, start)
	})
}
