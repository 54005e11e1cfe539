package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/workerpool"
)

var _ planner.Partitioner = Partitioner{}

func TestRetriable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unavailable, "connection refused"), true},
		{status.Error(codes.Internal, "stream terminated by RST_STREAM with error code: CANCEL"), true},
		{status.Error(codes.Internal, "INTERNAL Error: duckdb assertion"), false},
		{status.Error(codes.InvalidArgument, "syntax"), false},
		{status.Error(codes.NotFound, "no file"), false},
		{status.Error(codes.PermissionDenied, "no"), false},
		{status.Error(codes.ResourceExhausted, "out of memory"), false},
		{ErrStalled, true},
		{permanent(status.Error(codes.Unavailable, "after rows")), false},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			require.Equal(t, tc.want, retriable(tc.err))
		})
	}
}

func TestNoHealthyWorker(t *testing.T) {
	t.Run("fails with Unavailable after the grace period", func(t *testing.T) {
		e := newEnv(t)
		c := e.coordinator(Options{Grace: 300 * time.Millisecond})
		start := time.Now()
		err := c.Stream(context.Background(), "q", 0, planner.Fragment{SQL: "SELECT 1"}, nil, flightwire.Uncompressed, (&clientStream{}).Send)
		require.ErrorIs(t, err, workerpool.ErrNoWorkers)
		require.ErrorContains(t, err, "--worker-grace")
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		require.Less(t, time.Since(start), 3*time.Second)
	})

	t.Run("a worker that appears within the grace period runs it", func(t *testing.T) {
		e := newEnv(t)
		c := e.coordinator(Options{Grace: 10 * time.Second})
		w := startWorker(t, e.signer, 0, nil)
		go func() {
			time.Sleep(200 * time.Millisecond)
			_ = e.pool.Set([]string{w.addr})
		}()
		var out clientStream
		require.NoError(t, c.Stream(context.Background(), "q", 0, planner.Fragment{SQL: "SELECT 7::BIGINT AS x"}, nil, flightwire.Uncompressed, out.Send))
		require.Equal(t, []int64{7}, out.int64s(t))
	})

	t.Run("canceled while waiting", func(t *testing.T) {
		e := newEnv(t)
		c := e.coordinator(Options{Grace: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := c.Stream(ctx, "q", 0, planner.Fragment{SQL: "SELECT 1"}, nil, flightwire.Uncompressed, (&clientStream{}).Send)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestUnhealthyWorkerIsSkipped(t *testing.T) {
	e := newEnv(t)
	a := startWorker(t, e.signer, 0, nil)
	b := startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{a.addr, b.addr}))
	a.stop()
	require.Eventually(t, func() bool { return len(e.pool.Healthy()) == 1 }, 5*time.Second, 10*time.Millisecond)
	c := e.coordinator(Options{})
	for range 4 {
		var out clientStream
		require.NoError(t, c.Stream(context.Background(), "q", 0, planner.Fragment{SQL: "SELECT 1::BIGINT AS x", Group: a.addr}, nil, flightwire.Uncompressed, out.Send))
	}
	require.EqualValues(t, 4, b.dogets.Load(), "the preferred worker is down: the other one runs everything")
	require.Zero(t, a.dogets.Load())
}
