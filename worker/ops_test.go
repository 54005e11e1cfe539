package worker

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/workerpool"
)

// Queries whose running time is set by md5 over range(n): about 6 million
// rows a second per core on the test machines, so these run for minutes
// unless canceled, and for a second or two.
const (
	endlessSQL = "SELECT count(*) FROM range(3000000000) t(i) WHERE md5(i::VARCHAR) < '0'"
	secondsSQL = "SELECT count(*) AS n FROM range(12000000) t(i) WHERE md5(i::VARCHAR) >= '0'"
	// manyRowsSQL is quick to compute and far larger than gRPC's flow
	// control windows, so a client that stops reading blocks the worker
	// in the streaming phase.
	manyRowsSQL = "SELECT i, md5(i::VARCHAR) AS h FROM range(3000000) t(i)"
)

// opsWorker is a worker as `quiver worker` builds it: its own DuckDB, the
// health service and the drain interceptors.
type opsWorker struct {
	addr   string
	srv    *Server
	signer *fragwire.Signer
	reg    *prometheus.Registry
	pool   *workerpool.Pool
}

func startOpsWorker(t *testing.T, opts ServerOptions, eopts engine.Options) *opsWorker {
	t.Helper()
	if eopts.Threads == 0 {
		eopts.Threads = 2
	}
	db, err := engine.Open(context.Background(), eopts)
	require.NoError(t, err)
	opts.DB = db
	if opts.Signer == nil {
		opts.Signer = newSigner(t)
	}
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	srv := NewServer(opts)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(srv.GRPCOptions()...)
	flight.RegisterFlightServiceServer(gs, srv)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(lis)
	// Stop the server before closing the database: Close waits for queries.
	t.Cleanup(func() { db.Close() })
	t.Cleanup(gs.Stop)
	pool := workerpool.New(workerpool.Options{HealthInterval: 50 * time.Millisecond, Signer: opts.Signer})
	t.Cleanup(func() { pool.Close() })
	require.NoError(t, pool.Set([]string{lis.Addr().String()}))
	return &opsWorker{addr: lis.Addr().String(), srv: srv, signer: opts.Signer, reg: reg, pool: pool}
}

// testCtx bounds a test's calls, so a hang fails the test with a message
// instead of timing the whole package out.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (w *opsWorker) ticket(t *testing.T, queryID, sql string) []byte {
	t.Helper()
	tk, err := w.signer.Sign(fragwire.Fragment{QueryID: queryID, SQL: sql, Expires: time.Now().Add(time.Minute).UnixMilli()})
	require.NoError(t, err)
	return tk
}

func (w *opsWorker) conn(t *testing.T) *workerpool.Conn {
	t.Helper()
	c, err := w.pool.Pick("", nil)
	require.NoError(t, err)
	return c
}

// status is the worker's report as the coordinator gets it.
func (w *opsWorker) status(t *testing.T) fragwire.Status {
	t.Helper()
	all := w.pool.Status(context.Background())
	require.Len(t, all, 1)
	require.NoError(t, all[0].Err)
	return all[0].Status
}

// waitRunning waits until the worker reports queryID running.
func (w *opsWorker) waitRunning(t *testing.T, queryID string) fragwire.FragmentStatus {
	t.Helper()
	var got fragwire.FragmentStatus
	require.Eventually(t, func() bool {
		for _, f := range w.status(t).Fragments {
			if f.QueryID == queryID {
				got = f
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "fragment %s never showed as running", queryID)
	return got
}

// waitIdle asserts the worker reports no running fragment within 30s: a
// canceled fragment ends as soon as DuckDB sees the interrupt, which on a
// loaded CI machine took more than 5s once (the wait is a bound, not a
// timing; the happy path returns in milliseconds).
func (w *opsWorker) waitIdle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return w.status(t).Running == 0 }, 30*time.Second, 20*time.Millisecond,
		"the worker still reports running fragments 30s after the cancel")
}

func TestStatusAction(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{Info: Info{MemoryLimit: "1.0 GiB", MaxTempSize: "0 bytes", Threads: 2, Version: "v9"}},
		engine.Options{})
	c := w.conn(t)
	ctx := testCtx(t)

	n, err := doGet(ctx, c, w.ticket(t, "q-done", "SELECT * FROM range(10)"))
	require.NoError(t, err)
	require.EqualValues(t, 10, n)

	require.Eventually(t, func() bool {
		all := w.pool.Status(ctx)
		return len(all) == 1 && all[0].Healthy && !all[0].LastCheck.IsZero()
	}, 5*time.Second, 20*time.Millisecond)
	all := w.pool.Status(ctx)
	require.Equal(t, w.addr, all[0].Addr)
	require.NoError(t, all[0].Err)
	require.Equal(t, fragwire.Status{Running: 0, Fragments: []fragwire.FragmentStatus{}, Served: 1, MemoryLimit: "1.0 GiB", MaxTempSize: "0 bytes",
		Threads: 2, Version: "v9"}, all[0].Status)

	other, err := fragwire.NewSigner([]byte("another-secret-entirely"))
	require.NoError(t, err)
	forged, err := other.SignAction(fragwire.StatusAction, time.Minute)
	require.NoError(t, err)
	refusals := []struct {
		name string
		body []byte
		code codes.Code
	}{
		{"unsigned", []byte("{}"), codes.Unauthenticated},
		{"forged", forged, codes.Unauthenticated},
		{"a fragment ticket", w.ticket(t, "q", "SELECT 1"), codes.Unauthenticated},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Status(ctx, tc.body)
			require.Equal(t, tc.code, status.Code(err), "%v", err)
		})
	}
	t.Run("unknown action", func(t *testing.T) {
		client, err := flight.NewClientWithMiddleware(w.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer client.Close()
		stream, err := client.DoAction(ctx, &flight.Action{Type: "quiver.worker.nope"})
		if err == nil {
			_, err = stream.Recv()
		}
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	})
	t.Run("pool without a signer", func(t *testing.T) {
		p := workerpool.New(workerpool.Options{HealthInterval: -1})
		defer p.Close()
		require.NoError(t, p.Set([]string{w.addr}))
		all := p.Status(ctx)
		require.Len(t, all, 1)
		require.ErrorContains(t, all[0].Err, "no signer")
	})
	t.Run("unreachable worker", func(t *testing.T) {
		p := workerpool.New(workerpool.Options{HealthInterval: -1, Signer: w.signer})
		defer p.Close()
		require.NoError(t, p.Set([]string{"127.0.0.1:1", w.addr}))
		all := p.Status(ctx)
		require.Len(t, all, 2)
		require.Equal(t, "127.0.0.1:1", all[0].Addr)
		require.Error(t, all[0].Err)
		require.NoError(t, all[1].Err)
	})
}

func TestCancelDuringExecution(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{}, engine.Options{})
	c := w.conn(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := doGet(ctx, c, w.ticket(t, "q-endless", endlessSQL))
		errc <- err
	}()
	f := w.waitRunning(t, "q-endless")
	require.False(t, f.Canceled)
	require.Zero(t, f.Rows)
	canceled := time.Now()
	cancel()
	w.waitIdle(t)
	t.Logf("worker idle %s after the cancel", time.Since(canceled).Round(time.Millisecond))
	require.Equal(t, codes.Canceled, status.Code(<-errc))
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(w.srv.fragments.WithLabelValues("canceled")) == 1
	}, 5*time.Second, 10*time.Millisecond)

	// The next fragment runs.
	n, err := doGet(testCtx(t), c, w.ticket(t, "q-next", "SELECT * FROM range(100)"))
	require.NoError(t, err)
	require.EqualValues(t, 100, n)
	require.EqualValues(t, 2, w.status(t).Served)
}

func TestCancelDuringStreaming(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{BatchRows: 65536}, engine.Options{})
	c := w.conn(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	stream, err := c.DoGet(ctx, w.ticket(t, "q-stream", manyRowsSQL))
	require.NoError(t, err)
	rdr, err := flight.NewRecordReader(stream)
	require.NoError(t, err)
	require.True(t, rdr.Next(), "one batch read, then the client stalls")
	// The worker streams until flow control stops it, and says how far it got.
	// Nothing announces the block: the row count stops moving, over
	// three polls in a row.
	var f fragwire.FragmentStatus
	last, same := int64(-1), 0
	require.Eventually(t, func() bool {
		f = w.waitRunning(t, "q-stream")
		if f.Rows == last {
			same++
		} else {
			last, same = f.Rows, 1
		}
		return f.Rows > 0 && same >= 3
	}, 10*time.Second, 50*time.Millisecond, "the worker blocks in the streaming phase")
	require.Less(t, f.Rows, int64(3000000), "blocked before the end of the result")
	cancel()
	rdr.Release()
	w.waitIdle(t)

	n, err := doGet(testCtx(t), c, w.ticket(t, "q-next", "SELECT * FROM range(100)"))
	require.NoError(t, err)
	require.EqualValues(t, 100, n)
}

func TestInterruptThatDoesNotTake(t *testing.T) {
	stuck := make(chan string, 1)
	w := startOpsWorker(t, ServerOptions{
		IgnoreInterrupts: 1,
		// duckdb-go re-sends the interrupt every 500ms (the first can come
		// before DuckDB started the query, which clears it): the grace
		// must be longer than that, and than a loaded CI machine takes to
		// honour an interrupt, yet shorter than the stuck fragment's work.
		InterruptGrace: 3 * time.Second,
		OnStuck:        func(q string) { stuck <- q },
	}, engine.Options{})
	c := w.conn(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		// ~5s of work, which the hook lets run to the end despite the cancel.
		_, err := doGet(ctx, c, w.ticket(t, "q-stuck", "SELECT count(*) FROM range(30000000) t(i) WHERE md5(i::VARCHAR) < '0'"))
		errc <- err
	}()
	w.waitRunning(t, "q-stuck")
	canceled := time.Now()
	cancel()
	select {
	case q := <-stuck:
		require.Equal(t, "q-stuck", q)
		require.GreaterOrEqual(t, time.Since(canceled), 3*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("OnStuck not called 10s after the cancel of a fragment whose interrupt was ignored")
	}
	require.Equal(t, codes.Canceled, status.Code(<-errc))
	require.True(t, w.waitRunning(t, "q-stuck").Canceled, "status shows the fragment canceled but running")
	require.Equal(t, 1.0, testutil.ToFloat64(w.srv.stuck))
	require.Eventually(t, func() bool { return w.status(t).Running == 0 }, 60*time.Second, 50*time.Millisecond)

	// Only the first fragment ignored its interrupt: the next is canceled
	// in time and OnStuck stays quiet.
	ctx, cancel = context.WithCancel(testCtx(t))
	go func() {
		_, err := doGet(ctx, c, w.ticket(t, "q-second", endlessSQL))
		errc <- err
	}()
	w.waitRunning(t, "q-second")
	cancel()
	w.waitIdle(t)
	require.Equal(t, codes.Canceled, status.Code(<-errc))
	select {
	case q := <-stuck:
		t.Fatalf("OnStuck called for %s", q)
	case <-time.After(2 * time.Second):
	}
}

func TestDrain(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{}, engine.Options{})
	c := w.conn(t)
	ctx := testCtx(t)
	type result struct {
		n   int64
		err error
	}
	long := make(chan result, 1)
	go func() {
		stream, err := c.DoGet(ctx, w.ticket(t, "q-long", secondsSQL))
		if err != nil {
			long <- result{err: err}
			return
		}
		rdr, err := flight.NewRecordReader(stream)
		if err != nil {
			long <- result{err: err}
			return
		}
		defer rdr.Release()
		var n int64
		for rdr.Next() {
			n += rdr.RecordBatch().Column(0).(*array.Int64).Value(0)
		}
		long <- result{n: n, err: rdr.Err()}
	}()
	w.waitRunning(t, "q-long")
	w.srv.Drain()
	require.True(t, w.status(t).Draining)

	// Health says NOT_SERVING, so the pool stops picking the worker.
	cc, err := grpc.NewClient(w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	res, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, res.GetStatus())
	require.False(t, w.pool.Check(ctx, w.addr))
	_, err = w.pool.Pick("", nil)
	require.ErrorIs(t, err, workerpool.ErrNoWorkers)
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	wr, err := watch.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, wr.GetStatus())

	// New fragments are refused, retriably.
	_, err = doGet(ctx, c, w.ticket(t, "q-new", "SELECT 1"))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "worker draining")

	// The running one finishes with its whole result.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	require.NoError(t, w.srv.WaitIdle(wctx))
	r := <-long
	require.NoError(t, r.err)
	require.EqualValues(t, 12000000, r.n)
}

func TestWatchReportsTheDrain(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{}, engine.Options{})
	cc, err := grpc.NewClient(w.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	watch, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	r, err := watch.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, r.GetStatus())
	w.srv.Drain()
	r, err = watch.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, r.GetStatus())

	// Named services still reach the real health server.
	_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "other"})
	require.Equal(t, codes.NotFound, status.Code(err))
	named, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: "other"})
	require.NoError(t, err)
	r, err = named.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVICE_UNKNOWN, r.GetStatus())
}

// TestOutOfMemoryFailsAlone: a fragment too big for memory_limit (spilling
// off) fails with RESOURCE_EXHAUSTED naming the limits, while small
// fragments running at the same time succeed.
func TestOutOfMemoryFailsAlone(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{Info: Info{MemoryLimit: "61.0 MiB", MaxTempSize: "0 bytes"}},
		engine.Options{MemoryLimit: "64MB", TempDirectory: t.TempDir(), MaxTempSize: "0B"})
	c := w.conn(t)
	ctx := testCtx(t)
	var hungryDone atomic.Bool
	hungry := make(chan error, 1)
	go func() {
		_, err := doGet(ctx, c, w.ticket(t, "q-hungry",
			"SELECT i, string_agg(i::VARCHAR || repeat('x', 100), ',') AS s FROM range(20000000) t(i) GROUP BY i"))
		hungryDone.Store(true)
		hungry <- err
	}()
	var wg sync.WaitGroup
	var small, overlapped atomic.Int64
	var smallErr error
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200 && (i < 3 || !hungryDone.Load()); i++ {
			during := !hungryDone.Load()
			n, err := doGet(ctx, c, w.ticket(t, "q-small", "SELECT * FROM range(1000)"))
			if err == nil && n != 1000 {
				err = errors.New("short result")
			}
			if err != nil {
				mu.Lock()
				smallErr = err
				mu.Unlock()
				return
			}
			small.Add(1)
			if during && !hungryDone.Load() {
				overlapped.Add(1)
			}
		}
	}()
	err := <-hungry
	wg.Wait()
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	msg := status.Convert(err).Message()
	require.Contains(t, msg, "memory_limit is 61.0 MiB")
	require.Contains(t, msg, "max_temp_directory_size")
	require.Contains(t, msg, "Out of Memory Error")
	require.NotContains(t, msg, "SET memory_limit", "DuckDB's advice to SET what is locked is cut")
	require.NoError(t, smallErr)
	require.Positive(t, overlapped.Load(), "a small fragment ran while the hungry one did")
	t.Logf("%d small fragments, %d during the hungry one: %s", small.Load(), overlapped.Load(), msg)
	require.False(t, strings.Contains(msg, "\n"))
	n, err := doGet(ctx, c, w.ticket(t, "q-after", "SELECT * FROM range(10)"))
	require.NoError(t, err)
	require.EqualValues(t, 10, n)
}

// TestTwoHungryFragmentsBothFail: two fragments that each exceed memory
// wait for each other at most once per attempt; both fail, neither hangs.
func TestTwoHungryFragmentsBothFail(t *testing.T) {
	w := startOpsWorker(t, ServerOptions{}, engine.Options{MemoryLimit: "64MB", TempDirectory: t.TempDir(), MaxTempSize: "0B"})
	c := w.conn(t)
	errs := make(chan error, 2)
	for _, q := range []string{"q-a", "q-b"} {
		go func() {
			_, err := doGet(testCtx(t), c, w.ticket(t, q,
				"SELECT i, string_agg(i::VARCHAR || repeat('x', 100), ',') AS s FROM range(20000000) t(i) GROUP BY i"))
			errs <- err
		}()
	}
	for range 2 {
		select {
		case err := <-errs:
			require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("hungry fragments still running after 60s")
		}
	}
	w.waitIdle(t)
	require.LessOrEqual(t, testutil.ToFloat64(w.srv.oomRetries), float64(2*(oomAttempts-1)))
}

// TestSmallestMemory reads the smallest memory_limit of a pool's healthy
// workers from their status, and asks again only after its TTL.
func TestSmallestMemory(t *testing.T) {
	signer := newSigner(t)
	small := startOpsWorker(t, ServerOptions{Signer: signer, Info: Info{MemoryLimit: "64.0 MiB"}}, engine.Options{})
	big := startOpsWorker(t, ServerOptions{Signer: signer, Info: Info{MemoryLimit: "1.0 GiB"}}, engine.Options{})
	pool := workerpool.New(workerpool.Options{HealthInterval: 50 * time.Millisecond, Signer: signer})
	t.Cleanup(func() { pool.Close() })
	require.NoError(t, pool.Set([]string{big.addr}))
	ctx := testCtx(t)
	require.Eventually(t, func() bool { return len(pool.Healthy()) == 1 }, 5*time.Second, 20*time.Millisecond)
	m := &workerpool.SmallestMemory{Pool: pool, TTL: time.Hour}
	require.Equal(t, int64(1<<30), m.Bytes(ctx))
	require.NoError(t, pool.Set([]string{big.addr, small.addr}))
	require.Eventually(t, func() bool { return len(pool.Healthy()) == 2 }, 5*time.Second, 20*time.Millisecond)
	require.Equal(t, int64(1<<30), m.Bytes(ctx), "cached until the TTL passes")
	m = &workerpool.SmallestMemory{Pool: pool}
	require.Equal(t, int64(64<<20), m.Bytes(ctx))
}
