package coordinator

import (
	"context"
	"errors"
	"sync"
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
	// What a worker answers reaches dispatch as flightwire.Remote errors.
	remote := func(c codes.Code, msg string) error { return flightwire.Remote("worker w", status.Error(c, msg)) }
	cases := []struct {
		err  error
		want bool
	}{
		{remote(codes.Unavailable, "connection refused"), true},
		{remote(codes.Aborted, "worker draining"), true},
		{remote(codes.Canceled, "worker shutting down"), true},
		{remote(codes.Internal, "stream terminated by RST_STREAM with error code: CANCEL"), true},
		{remote(codes.Internal, "INTERNAL Error: duckdb assertion"), false},
		{remote(codes.InvalidArgument, "syntax"), false},
		{remote(codes.NotFound, "no file"), false},
		{remote(codes.PermissionDenied, "no"), false},
		{remote(codes.Unauthenticated, "invalid fragment ticket: bad signature"), false},
		{remote(codes.ResourceExhausted, "out of memory"), false},
		{ErrStalled, true},
		{permanent(remote(codes.Unavailable, "after rows")), false},
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
		err := c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT 1"}}, (&clientStream{}).Send)
		require.ErrorIs(t, err, workerpool.ErrNoWorkers)
		require.ErrorContains(t, err, "--worker-grace")
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		require.Less(t, time.Since(start), 3*time.Second)
	})

	t.Run("a worker that appears within the grace period runs it", func(t *testing.T) {
		e := newEnv(t)
		workers := &emptyPoolSignal{Workers: e.pool, empty: make(chan struct{})}
		c := e.coordinator(Options{Grace: 10 * time.Second, Workers: workers})
		w := startWorker(t, e.signer, 0, nil)
		done := make(chan error, 1)
		var out clientStream
		go func() {
			done <- c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT 7::BIGINT AS x"}}, out.Send)
		}()
		// The worker joins once the fragment has found none and waits.
		select {
		case <-workers.empty:
		case err := <-done:
			t.Fatalf("Stream returned before it waited for a worker: %v", err)
		}
		require.NoError(t, e.pool.Set([]string{w.addr}))
		require.NoError(t, <-done)
		require.Equal(t, []int64{7}, out.int64s(t))
	})

	t.Run("canceled while waiting", func(t *testing.T) {
		e := newEnv(t)
		c := e.coordinator(Options{Grace: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := c.Stream(ctx, FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT 1"}}, (&clientStream{}).Send)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// emptyPoolSignal closes empty the first time Pick finds no worker.
type emptyPoolSignal struct {
	Workers
	empty chan struct{}
	once  sync.Once
}

func (p *emptyPoolSignal) Pick(prefer string, exclude map[string]bool) (*workerpool.Conn, error) {
	w, err := p.Workers.Pick(prefer, exclude)
	if errors.Is(err, workerpool.ErrNoWorkers) {
		p.once.Do(func() { close(p.empty) })
	}
	return w, err
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
		require.NoError(t, c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q"}, Fragment: planner.Fragment{SQL: "SELECT 1::BIGINT AS x", Group: a.addr}}, out.Send))
	}
	require.EqualValues(t, 4, b.dogets.Load(), "the preferred worker is down: the other one runs everything")
	require.Zero(t, a.dogets.Load())
}
