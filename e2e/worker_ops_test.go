package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/workerpool"
)

// Fragments for the worker operations tests. md5 over range(n) runs at a
// few million rows a second per core: opsEndless runs for many minutes
// unless interrupted, opsSeconds for a few seconds.
const (
	opsEndless  = "SELECT count(*) FROM range(3000000000) t(i) WHERE md5(i::VARCHAR) < '0'"
	opsSeconds  = "SELECT count(*) AS n FROM range(15000000) t(i) WHERE md5(i::VARCHAR) >= '0'"
	opsSmall    = "SELECT * FROM range(1000) t(i)"
	opsManyRows = "SELECT i, md5(i::VARCHAR) AS h FROM range(3000000) t(i)"
	// opsHungry groups 20M distinct keys with 100-byte strings: gigabytes
	// of aggregate state.
	opsHungry = "SELECT i, string_agg(i::VARCHAR || repeat('x', 100), ',') AS s FROM range(20000000) t(i) GROUP BY i"
)

// opsWorker is a real `quiver worker` process and the coordinator side of
// it: a signer with the shared secret and a pool for status calls.
type opsWorker struct {
	*harness.Worker
	signer *fragwire.Signer
	pool   *workerpool.Pool
	conn   *workerpool.Conn
}

func opsSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return hex.EncodeToString(key)
}

func startOpsWorker(t *testing.T, env []string, args ...string) *opsWorker {
	t.Helper()
	wh := filepath.Join(t.TempDir(), "warehouse")
	require.NoError(t, os.MkdirAll(wh, 0o755))
	secret := opsSecret(t)
	w := harness.StartWorker(t, harness.WorkerOptions{
		Warehouse: wh, Secret: secret, Env: env, Args: append([]string{"--threads", "2"}, args...),
	})
	signer, err := fragwire.NewSigner([]byte(secret))
	require.NoError(t, err)
	pool := workerpool.New(workerpool.Options{HealthInterval: 100 * time.Millisecond, Signer: signer})
	t.Cleanup(func() { pool.Close() })
	require.NoError(t, pool.Set([]string{w.Addr()}))
	ow := &opsWorker{Worker: w, signer: signer, pool: pool}
	require.Eventually(t, func() bool {
		all := pool.Status(context.Background())
		return len(all) == 1 && all[0].Err == nil && all[0].Healthy && !all[0].LastCheck.IsZero()
	}, 30*time.Second, 50*time.Millisecond, "worker reports its status")
	ow.conn, err = pool.Pick("", nil)
	require.NoError(t, err)
	return ow
}

func (w *opsWorker) ticket(t *testing.T, queryID, sql string) []byte {
	t.Helper()
	tk, err := w.signer.Sign(fragwire.Fragment{QueryID: queryID, SQL: sql, Expires: time.Now().Add(time.Minute).UnixMilli()})
	require.NoError(t, err)
	return tk
}

// run runs a fragment to the end and returns its rows and the first
// column of its first row when that is an integer (count(*)).
func (w *opsWorker) run(ctx context.Context, t *testing.T, queryID, sql string) (rows, first int64, err error) {
	stream, err := w.conn.DoGet(ctx, w.ticket(t, queryID, sql))
	if err != nil {
		return 0, 0, err
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return 0, 0, err
	}
	defer rdr.Release()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rows == 0 && rec.NumRows() > 0 {
			if c, ok := rec.Column(0).(*array.Int64); ok {
				first = c.Value(0)
			}
		}
		rows += rec.NumRows()
	}
	return rows, first, rdr.Err()
}

// status is the worker's own report.
func (w *opsWorker) status(t *testing.T) fragwire.Status {
	t.Helper()
	all := w.pool.Status(context.Background())
	require.Len(t, all, 1)
	require.NoError(t, all[0].Err)
	return all[0].Status
}

// fragment returns queryID's entry in the worker's report.
func (w *opsWorker) fragment(t *testing.T, queryID string) (fragwire.FragmentStatus, bool) {
	for _, f := range w.status(t).Fragments {
		if f.QueryID == queryID {
			return f, true
		}
	}
	return fragwire.FragmentStatus{}, false
}

// fragmentResult is how a fragment run in the background ended: n is
// the first column of its first row (the count of a count(*)).
type fragmentResult struct {
	n   int64
	err error
}

// runInBackground runs sql as queryID and returns once the worker reports
// it running; the channel receives how it ended.
func (w *opsWorker) runInBackground(t *testing.T, queryID, sql string) <-chan fragmentResult {
	t.Helper()
	done := make(chan fragmentResult, 1)
	go func() {
		_, n, err := w.run(opsCtx(t), t, queryID, sql)
		done <- fragmentResult{n, err}
	}()
	w.waitRunning(t, queryID)
	return done
}

func (w *opsWorker) waitRunning(t *testing.T, queryID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, ok := w.fragment(t, queryID)
		return ok
	}, 30*time.Second, 20*time.Millisecond, "fragment %s never reported running", queryID)
}

// waitReleased asserts the worker reports no running fragment within 5s of
// a cancel, and then burns no more CPU: well under one core over a second.
func (w *opsWorker) waitReleased(t *testing.T, canceled time.Time) {
	t.Helper()
	require.Eventually(t, func() bool { return w.status(t).Running == 0 }, 5*time.Second, 20*time.Millisecond,
		"the worker still reports a running fragment 5s after the cancel")
	t.Logf("worker idle %s after the cancel", time.Since(canceled).Round(time.Millisecond))
	used, err := harness.CPUDuring(w.PID(), time.Second)
	require.NoError(t, err)
	require.Less(t, used, 400*time.Millisecond, "the worker still burns CPU after the cancel")
}

func (w *opsWorker) logRecord(msg string) harness.LogRecord {
	for _, r := range harness.ParseLogs(w.Logs()) {
		if r.Msg() == msg {
			return r
		}
	}
	return nil
}

func opsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestWorkerMemoryHungryFragmentFailsAlone: on a worker with a 64MB
// memory_limit and spilling off, a fragment that needs gigabytes fails with
// RESOURCE_EXHAUSTED naming the limits, small fragments running at the
// same time all succeed, and the worker keeps serving.
func TestWorkerMemoryHungryFragmentFailsAlone(t *testing.T) {
	w := startOpsWorker(t, nil, "--memory-limit", "64MB", "--max-temp-size", "0")
	st := w.status(t)
	require.Equal(t, "61.0 MiB", st.MemoryLimit)
	require.Equal(t, "0 bytes", st.MaxTempSize)
	require.Equal(t, 2, st.Threads)
	res := w.logRecord("worker resources")
	require.NotNil(t, res, "the worker logs its resources")
	require.Equal(t, "configured", res.Str("memoryLimitReason"))

	ctx := opsCtx(t)
	var hungryDone atomic.Bool
	hungry := make(chan error, 1)
	go func() {
		_, _, err := w.run(ctx, t, "q-hungry", opsHungry)
		hungryDone.Store(true)
		hungry <- err
	}()
	var wg sync.WaitGroup
	var small, during atomic.Int64
	errs := make(chan error, 100)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500 && (i < 3 || !hungryDone.Load()); i++ {
				overlap := !hungryDone.Load()
				n, _, err := w.run(ctx, t, "q-small", opsSmall)
				if err == nil && n != 1000 {
					err = errors.New("short result")
				}
				if err != nil {
					errs <- err
					return
				}
				small.Add(1)
				if overlap && !hungryDone.Load() {
					during.Add(1)
				}
			}
		}()
	}
	err := <-hungry
	wg.Wait()
	close(errs)
	for e := range errs {
		require.NoError(t, e, "a small fragment failed next to the hungry one")
	}
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	msg := status.Convert(err).Message()
	require.Contains(t, msg, "memory_limit is 61.0 MiB")
	require.Contains(t, msg, "capped at 0 bytes (max_temp_directory_size)")
	require.Contains(t, msg, "Out of Memory Error")
	require.Positive(t, during.Load(), "small fragments ran while the hungry one did")
	t.Logf("%d small fragments succeeded, %d of them while the hungry one ran; it failed with: %s", small.Load(), during.Load(), msg)

	require.False(t, w.Exited(), "the worker survived")
	n, _, err := w.run(ctx, t, "q-after", opsSmall)
	require.NoError(t, err)
	require.EqualValues(t, 1000, n)
	require.Zero(t, w.status(t).Running)
}

// TestWorkerCancel: a fragment canceled while DuckDB computes, and one
// canceled while the worker is blocked streaming to a stalled reader, are
// both gone from the worker's report within 5s, its CPU is released, and
// the next fragment runs.
func TestWorkerCancel(t *testing.T) {
	w := startOpsWorker(t, nil)

	t.Run("during execution", func(t *testing.T) {
		ctx, cancel := context.WithCancel(opsCtx(t))
		done := make(chan error, 1)
		go func() {
			_, _, err := w.run(ctx, t, "q-exec", opsEndless)
			done <- err
		}()
		w.waitRunning(t, "q-exec")
		// The fragment burns CPU until the cancel: the worker's CPU time
		// grows (by a third of a second, however loaded the machine).
		before, err := harness.CPUTime(w.PID())
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			busy, err := harness.CPUTime(w.PID())
			return err == nil && busy-before >= 300*time.Millisecond
		}, 20*time.Second, 50*time.Millisecond, "the fragment keeps the worker busy before the cancel")
		canceled := time.Now()
		cancel()
		require.Equal(t, codes.Canceled, status.Code(<-done))
		w.waitReleased(t, canceled)
		n, _, err := w.run(opsCtx(t), t, "q-next", opsSmall)
		require.NoError(t, err)
		require.EqualValues(t, 1000, n)
	})

	t.Run("during streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(opsCtx(t))
		defer cancel()
		stream, err := w.conn.DoGet(ctx, w.ticket(t, "q-stream", opsManyRows))
		require.NoError(t, err)
		rdr, err := flight.NewRecordReader(stream)
		require.NoError(t, err)
		require.True(t, rdr.Next(), "the client reads one batch, then stalls")
		// The worker streams until flow control stops it: its row count
		// stands still over 200ms.
		rows := harness.WaitSteady(t, 30*time.Second, 50*time.Millisecond, 5, func() (int64, bool) {
			f, ok := w.fragment(t, "q-stream")
			return f.Rows, ok && f.Rows > 0
		})
		require.Less(t, rows, int64(3000000), "blocked before the end of the result")
		t.Logf("worker blocked after streaming %d rows", rows)
		canceled := time.Now()
		cancel()
		rdr.Release()
		w.waitReleased(t, canceled)
		n, _, err := w.run(opsCtx(t), t, "q-next", opsSmall)
		require.NoError(t, err)
		require.EqualValues(t, 1000, n)
	})
	require.EqualValues(t, 4, w.status(t).Served)
}

// TestWorkerRecycledWhenInterruptDoesNotTake uses the worker's test hook
// QUIVER_TEST_IGNORE_INTERRUPTS=1: DuckDB never hears of the first cancel,
// which is what an interrupt that does not take looks like. The worker
// exits non-zero --interrupt-grace after the cancel; under the supervisor
// `quiver serve` uses for local workers it is restarted and serves again.
func TestWorkerRecycledWhenInterruptDoesNotTake(t *testing.T) {
	harness.RequireTestHooks(t)
	hook := []string{"QUIVER_TEST_IGNORE_INTERRUPTS=1"}

	t.Run("exits non-zero", func(t *testing.T) {
		w := startOpsWorker(t, hook, "--interrupt-grace", "1s")
		ctx, cancel := context.WithCancel(opsCtx(t))
		go func() { _, _, _ = w.run(ctx, t, "q-stuck", opsEndless) }()
		w.waitRunning(t, "q-stuck")
		canceled := time.Now()
		cancel()
		code, err := w.WaitExit(15 * time.Second)
		require.NoError(t, err, "the worker recycles itself")
		require.NotZero(t, code)
		took := time.Since(canceled)
		require.GreaterOrEqual(t, took, time.Second, "not before the grace period")
		t.Logf("worker exited %d, %s after the cancel", code, took.Round(time.Millisecond))
		rec := w.logRecord("interrupt did not take: the canceled fragment is still running; recycling the worker")
		require.NotNil(t, rec)
		require.Equal(t, "q-stuck", rec.Str("queryID"))
		require.Contains(t, w.Logs(), "worker recycled")
	})

	t.Run("restarted by the local supervisor", func(t *testing.T) {
		wh := filepath.Join(t.TempDir(), "warehouse")
		require.NoError(t, os.MkdirAll(wh, 0o755))
		secret := opsSecret(t)
		signer, err := fragwire.NewSigner([]byte(secret))
		require.NoError(t, err)
		pool := workerpool.New(workerpool.Options{HealthInterval: 100 * time.Millisecond, Signer: signer})
		defer pool.Close()
		ctx, stop := context.WithCancel(context.Background())
		local, err := workerpool.StartLocal(ctx, workerpool.LocalOptions{
			N: 1,
			Command: []string{harness.QuiverBin(t), "worker", "--listen", "127.0.0.1:0", "--warehouse", wh,
				"--extension-dir", harness.ExtensionDir(t), "--threads", "2", "--interrupt-grace", "1s"},
			Env: append(os.Environ(), append(hook, "QUIVER_WORKER_SECRET="+secret)...),
			OnChange: func(addrs []string) {
				_ = pool.Set(addrs)
			},
		})
		require.NoError(t, err)
		defer func() { stop(); local.Wait() }()
		first := local.Addrs()
		require.Len(t, first, 1)
		w := &opsWorker{signer: signer, pool: pool}
		require.Eventually(t, func() bool {
			c, err := pool.Pick("", nil)
			w.conn = c
			return err == nil
		}, 30*time.Second, 50*time.Millisecond)

		qctx, cancel := context.WithCancel(opsCtx(t))
		go func() { _, _, _ = w.run(qctx, t, "q-stuck", opsEndless) }()
		w.waitRunning(t, "q-stuck")
		cancel()
		require.Eventually(t, func() bool {
			now := local.Addrs()
			return len(now) == 1 && now[0] != first[0]
		}, 30*time.Second, 50*time.Millisecond, "the supervisor restarts the recycled worker")
		require.Eventually(t, func() bool {
			c, err := pool.Pick("", nil)
			if err != nil || c.Addr == first[0] {
				return false
			}
			w.conn = c
			return true
		}, 30*time.Second, 50*time.Millisecond)
		n, _, err := w.run(opsCtx(t), t, "q-after", opsSmall)
		require.NoError(t, err)
		require.EqualValues(t, 1000, n)
	})
}

// TestWorkerDrain sends SIGTERM during a fragment that takes seconds: the
// health service turns NOT_SERVING, a new fragment is refused with
// UNAVAILABLE, the running one completes with its whole result, the
// worker exits 0 and its spill directory is gone. With a drain deadline
// shorter than the fragment, the fragment is cut and the worker still
// exits 0.
func TestWorkerDrain(t *testing.T) {
	t.Run("running fragment completes", func(t *testing.T) {
		w := startOpsWorker(t, nil)
		tempDir := w.logRecord("worker resources").Str("tempDirectory")
		require.DirExists(t, tempDir)
		long := w.runInBackground(t, "q-long", opsSeconds)
		require.NoError(t, w.Signal(syscall.SIGTERM))

		cc, err := grpc.NewClient(w.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer cc.Close()
		require.Eventually(t, func() bool {
			res, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
			return err == nil && res.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
		}, 5*time.Second, 10*time.Millisecond, "health turns NOT_SERVING")
		require.True(t, w.status(t).Draining)
		require.Eventually(t, func() bool { return len(w.pool.Healthy()) == 0 }, 5*time.Second, 20*time.Millisecond,
			"the pool stops offering the worker")

		_, _, err = w.run(opsCtx(t), t, "q-new", opsSmall)
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.Contains(t, err.Error(), "worker draining")

		r := <-long
		require.NoError(t, r.err, "the running fragment finishes")
		require.EqualValues(t, 15000000, r.n)
		code, err := w.WaitExit(30 * time.Second)
		require.NoError(t, err)
		require.Zero(t, code, "a drained worker exits 0")
		require.NoDirExists(t, tempDir, "the spill directory is removed on exit")
	})

	t.Run("drain deadline", func(t *testing.T) {
		w := startOpsWorker(t, nil, "--drain-timeout", "1s")
		done := make(chan error, 1)
		go func() {
			_, _, err := w.run(opsCtx(t), t, "q-endless", opsEndless)
			done <- err
		}()
		w.waitRunning(t, "q-endless")
		start := time.Now()
		require.NoError(t, w.Signal(syscall.SIGTERM))
		code, err := w.WaitExit(20 * time.Second)
		require.NoError(t, err)
		require.Zero(t, code)
		require.GreaterOrEqual(t, time.Since(start), time.Second, "the fragment had its drain time")
		require.Error(t, <-done, "the fragment was cut at the drain deadline")
		require.Contains(t, w.Logs(), "drain deadline passed")
	})
}

// TestLocalWorkersDrainWhenCoordinatorStops: the supervisor `quiver serve`
// uses stops its workers with SIGTERM, so a fragment running when the
// coordinator stops still completes.
func TestLocalWorkersDrainWhenCoordinatorStops(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "warehouse")
	require.NoError(t, os.MkdirAll(wh, 0o755))
	secret := opsSecret(t)
	signer, err := fragwire.NewSigner([]byte(secret))
	require.NoError(t, err)
	pool := workerpool.New(workerpool.Options{HealthInterval: -1, Signer: signer})
	defer pool.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	local, err := workerpool.StartLocal(ctx, workerpool.LocalOptions{
		N: 1,
		Command: []string{harness.QuiverBin(t), "worker", "--listen", "127.0.0.1:0", "--warehouse", wh,
			"--extension-dir", harness.ExtensionDir(t), "--threads", "2"},
		Env:      append(os.Environ(), "QUIVER_WORKER_SECRET="+secret),
		OnChange: func(addrs []string) { _ = pool.Set(addrs) },
	})
	require.NoError(t, err)
	require.NoError(t, pool.Set(local.Addrs()))
	w := &opsWorker{signer: signer, pool: pool}
	w.conn, err = pool.Pick("", nil)
	require.NoError(t, err)
	long := w.runInBackground(t, "q-long", opsSeconds)
	stop()
	r := <-long
	require.NoError(t, r.err)
	require.EqualValues(t, 15000000, r.n)
	waited := make(chan struct{})
	go func() { local.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("the local worker did not exit after draining")
	}
	require.Empty(t, local.Addrs())
}

// TestMemoryHungryQueryFailsAlone is the same through a coordinator: the
// client of the hungry query gets RESOURCE_EXHAUSTED naming the worker's
// limits, clients querying at the same time get their results, and the
// worker and the server keep serving.
func TestMemoryHungryQueryFailsAlone(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, 0.1, nil)
	secret := opsSecret(t)
	w := harness.StartWorker(t, harness.WorkerOptions{
		Warehouse: wh, Secret: secret, Args: []string{"--threads", "2", "--memory-limit", "64MB", "--max-temp-size", "0"},
	})
	srv := harness.StartServer(t, harness.ServerOptions{
		Warehouse: wh, Args: []string{"--worker", w.Addr()}, Env: []string{"QUIVER_WORKER_SECRET=" + secret},
	})
	cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)

	var hungryDone atomic.Bool
	hungry := make(chan error, 1)
	go func() {
		res, err := harness.RunFlightSQL(queryCtx(t), cl, `SELECT play_id, string_agg(play_id::VARCHAR || repeat('x', 200), ',') AS s
			FROM demo.plays GROUP BY play_id ORDER BY s DESC LIMIT 3`)
		if res != nil {
			res.Release()
		}
		hungryDone.Store(true)
		hungry <- err
	}()
	var wg sync.WaitGroup
	var during atomic.Int64
	errs := make(chan error, 10)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200 && (i < 2 || !hungryDone.Load()); i++ {
				overlap := !hungryDone.Load()
				res, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT count(*) AS n FROM demo.titles")
				if err != nil {
					errs <- err
					return
				}
				rows := res.NumRows()
				res.Release()
				if rows != 1 {
					errs <- errors.New("count returned no row")
					return
				}
				if overlap && !hungryDone.Load() {
					during.Add(1)
				}
			}
		}()
	}
	err := <-hungry
	wg.Wait()
	close(errs)
	for e := range errs {
		require.NoError(t, e, "a small query failed next to the hungry one: %s", describe(e))
	}
	require.Equal(t, codes.ResourceExhausted, status.Code(err), describe(err))
	require.Contains(t, err.Error(), "memory_limit is 61.0 MiB")
	require.Positive(t, during.Load(), "small queries ran while the hungry one did")
	t.Logf("%d small queries completed while the hungry one ran; it failed with %s", during.Load(), describe(err))
	require.False(t, w.Exited(), "the worker survived")
	requireServes(t, cl)
}
