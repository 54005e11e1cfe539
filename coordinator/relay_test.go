package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/workerpool"
)

const rangeSQL = "SELECT i AS x FROM range(0, 20000) t(i)"

func TestStreamExactlyOnceAfterWorkerFailure(t *testing.T) {
	cases := []struct {
		name string
		// The first worker (the fragment's group) fails; the second takes over.
		badRows, goodRows int64
		f                 fault
	}{
		{"error mid-stream, same batch boundaries", 1000, 1000, fault{after: 7, mode: "error"}},
		{"error mid-stream, batches straddle the resume row", 1000, 1500, fault{after: 5, mode: "error"}},
		{"worker dies mid-stream", 1000, 3000, fault{after: 3, mode: "die"}},
		{"worker fails before any batch", 1000, 1000, fault{after: 0, mode: "error"}},
		{"stall mid-stream", 1000, 700, fault{after: 4, mode: "stall"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			bad := startWorker(t, e.signer, tc.badRows, &tc.f)
			good := startWorker(t, e.signer, tc.goodRows, nil)
			require.NoError(t, e.pool.Set([]string{bad.addr, good.addr}))
			c := e.coordinator(Options{StallTimeout: 300 * time.Millisecond})
			var out clientStream
			err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q1"}, Fragment: planner.Fragment{SQL: rangeSQL, Group: bad.addr}}, out.Send)
			require.NoError(t, err)
			requireRange(t, out.int64s(t), 20000)
			require.Equal(t, 1.0, testutil.ToFloat64(c.retries))
			require.EqualValues(t, 1, bad.dogets.Load())
			require.EqualValues(t, 1, good.dogets.Load())
			require.Equal(t, 1.0, testutil.ToFloat64(c.fragments.WithLabelValues("ok")))
		})
	}
}

func TestStreamRefusesNondeterministicResume(t *testing.T) {
	e := newEnv(t)
	bad := startWorker(t, e.signer, 1000, &fault{after: 5, mode: "error"})
	good := startWorker(t, e.signer, 1000, nil)
	require.NoError(t, e.pool.Set([]string{bad.addr, good.addr}))
	c := e.coordinator(Options{})
	// Same batch boundaries, other rows: skipping by offset would be wrong.
	sql := "SELECT repeat('x', (random() * 10)::INT) AS x FROM range(0, 20000) t(i)"
	err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: sql, Group: bad.addr}}, (&clientStream{}).Send)
	require.ErrorIs(t, err, ErrNotResumable)
	require.ErrorContains(t, err, "not deterministic")
	require.EqualValues(t, 1, good.dogets.Load(), "not retried again")
}

func TestStreamFailures(t *testing.T) {
	t.Run("unreachable worker is replaced", func(t *testing.T) {
		e := newEnv(t)
		good := startWorker(t, e.signer, 0, nil)
		dead := deadAddr(t)
		require.NoError(t, e.pool.Set([]string{dead, good.addr}))
		c := e.coordinator(Options{})
		var out clientStream
		// Preferring the dead worker before its first health check.
		require.NoError(t, c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT 42::BIGINT AS x", Group: dead}}, out.Send))
		require.Equal(t, []int64{42}, out.int64s(t))
	})

	t.Run("query errors are not retried", func(t *testing.T) {
		e := newEnv(t)
		a, b := startWorker(t, e.signer, 0, nil), startWorker(t, e.signer, 0, nil)
		require.NoError(t, e.pool.Set([]string{a.addr, b.addr}))
		c := e.coordinator(Options{})
		err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT nope"}}, (&clientStream{}).Send)
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.Zero(t, testutil.ToFloat64(c.retries))
		require.EqualValues(t, 1, a.dogets.Load()+b.dogets.Load())
		require.Equal(t, 1.0, testutil.ToFloat64(c.fragments.WithLabelValues("error")))
	})

	t.Run("every attempt fails", func(t *testing.T) {
		e := newEnv(t)
		bad := startWorker(t, e.signer, 100, &fault{after: 1, mode: "error"})
		require.NoError(t, e.pool.Set([]string{bad.addr}))
		c := e.coordinator(Options{Attempts: 3})
		err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: rangeSQL}}, (&clientStream{}).Send)
		require.ErrorIs(t, err, workerpool.ErrNoWorkers)
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.EqualValues(t, 3, bad.dogets.Load(), "the only worker is healthy: tried again")
		require.Equal(t, 2.0, testutil.ToFloat64(c.retries))
	})

	t.Run("stall timeout", func(t *testing.T) {
		e := newEnv(t)
		bad := startWorker(t, e.signer, 100, &fault{after: 2, mode: "stall"})
		require.NoError(t, e.pool.Set([]string{bad.addr}))
		c := e.coordinator(Options{StallTimeout: 200 * time.Millisecond, Attempts: 2})
		start := time.Now()
		err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: rangeSQL}}, (&clientStream{}).Send)
		require.ErrorIs(t, err, ErrStalled)
		require.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("a slow query is not a stall: heartbeats", func(t *testing.T) {
		e := newEnv(t)
		w := startWorker(t, e.signer, 0, nil)
		require.NoError(t, e.pool.Set([]string{w.addr}))
		c := e.coordinator(Options{StallTimeout: 250 * time.Millisecond})
		var out clientStream
		// Computing this takes well over the stall timeout with one thread under -race.
		err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT count(*) AS x FROM range(60000000) t(i) WHERE i % 7 = 3"}}, out.Send)
		require.NoError(t, err)
		require.Equal(t, []int64{8571429}, out.int64s(t))
		require.Zero(t, testutil.ToFloat64(c.retries))
	})

	t.Run("client gone is not retried", func(t *testing.T) {
		e := newEnv(t)
		w := startWorker(t, e.signer, 100, nil)
		require.NoError(t, e.pool.Set([]string{w.addr}))
		c := e.coordinator(Options{})
		err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: rangeSQL}}, func(*flight.FlightData) error {
			return status.Error(codes.Canceled, "client went away")
		})
		require.ErrorContains(t, err, "send to client")
		require.EqualValues(t, 1, w.dogets.Load())
	})
}
