package admission

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func acquire(t *testing.T, c *Controller, user string) func() {
	t.Helper()
	rel, _, err := c.Acquire(context.Background(), user)
	require.NoError(t, err)
	return rel
}

// waitQueued waits until n queries are queued.
func waitQueued(t *testing.T, c *Controller, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Stats().Queued == n }, 5*time.Second, time.Millisecond)
}

func TestOverflowIsRefusedAndQueueIsFIFO(t *testing.T) {
	c := New(Options{MaxRunning: 2, MaxQueued: 2, MaxWait: time.Minute, Registerer: prometheus.NewRegistry()})
	r1 := acquire(t, c, "a")
	r2 := acquire(t, c, "b")

	order := make(chan string, 2)
	for i, user := range []string{"c", "d"} {
		go func() {
			rel, _, err := c.Acquire(context.Background(), user)
			if err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- user
			rel()
		}()
		waitQueued(t, c, i+1)
	}
	_, _, err := c.Acquire(context.Background(), "e")
	require.ErrorIs(t, err, ErrQueueFull)
	require.Contains(t, err.Error(), "retry later")

	r1()
	require.Equal(t, "c", <-order)
	require.Equal(t, "d", <-order)
	r2()
	require.Equal(t, Stats{}, c.Stats())
}

func TestPerUserCapDoesNotBlockOthers(t *testing.T) {
	c := New(Options{MaxRunning: 3, MaxQueued: 4, PerUser: 1, Registerer: prometheus.NewRegistry()})
	ra := acquire(t, c, "alice")
	second := make(chan func(), 1)
	go func() {
		rel, _, err := c.Acquire(context.Background(), "alice")
		if err == nil {
			second <- rel
		}
	}()
	waitQueued(t, c, 1)
	// Bob is behind alice's second query in the queue but runs at once.
	rb := acquire(t, c, "bob")
	require.Equal(t, Stats{Running: 2, Queued: 1}, c.Stats())
	select {
	case <-second:
		t.Fatal("alice ran two queries with a cap of one")
	case <-time.After(50 * time.Millisecond):
	}
	ra()
	rel := <-second
	rel()
	rb()
	require.Equal(t, Stats{}, c.Stats())
}

func TestQueueWaitTimesOut(t *testing.T) {
	c := New(Options{MaxRunning: 1, MaxQueued: 1, MaxWait: 30 * time.Millisecond, Registerer: prometheus.NewRegistry()})
	rel := acquire(t, c, "a")
	defer rel()
	_, waited, err := c.Acquire(context.Background(), "b")
	require.ErrorIs(t, err, ErrQueueTimeout)
	require.GreaterOrEqual(t, waited, 30*time.Millisecond)
	require.Equal(t, Stats{Running: 1}, c.Stats())
}

func TestCanceledWaiterLeavesTheQueue(t *testing.T) {
	c := New(Options{MaxRunning: 1, MaxQueued: 1, Registerer: prometheus.NewRegistry()})
	rel := acquire(t, c, "a")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { _, _, err := c.Acquire(ctx, "b"); done <- err }()
	waitQueued(t, c, 1)
	cause := errors.New("client went away")
	cancel(cause)
	require.ErrorIs(t, <-done, cause)
	require.Equal(t, Stats{Running: 1}, c.Stats())
	rel()
	rel() // releasing twice gives back one slot only
	require.Equal(t, Stats{}, c.Stats())
	acquire(t, c, "c")()
}

func TestNoQueueRefusesAtOnce(t *testing.T) {
	c := New(Options{MaxRunning: 1, Registerer: prometheus.NewRegistry()})
	rel := acquire(t, c, "a")
	defer rel()
	_, _, err := c.Acquire(context.Background(), "b")
	require.ErrorIs(t, err, ErrQueueFull)
}
