package main

import (
	"context"
	"errors"
	"sync"
	"testing"

	rungroup "github.com/oklog/run"
	"github.com/stretchr/testify/require"
)

// TestAddInOrderStopsActorsOneAfterAnother: whichever actor returns first,
// the others stop in the order they were added, each down before the next
// is told to stop, and the group's error is the first actor's.
func TestAddInOrderStopsActorsOneAfterAnother(t *testing.T) {
	var (
		mu     sync.Mutex
		events []string
	)
	record := func(e string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	var g rungroup.Group
	boom := errors.New("boom")
	for _, name := range []string{"a", "b", "c"} {
		ctx, stop := context.WithCancel(context.Background())
		addInOrder(&g, func() error {
			<-ctx.Done()
			record(name + " returned")
			return nil
		}, func() { record("stop " + name); stop() })
	}
	failed := make(chan struct{})
	addInOrder(&g, func() error { <-failed; return boom }, func() { record("stop d") })
	close(failed)
	require.ErrorIs(t, g.Run(), boom)
	require.Equal(t, []string{"stop a", "a returned", "stop b", "b returned", "stop c", "c returned", "stop d"}, events)
}

func TestUntilDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	execute, _ := untilDone(ctx)
	cancel()
	require.NoError(t, execute(), "the signal is a clean stop")

	execute, stop := untilDone(context.Background())
	stop()
	require.NoError(t, execute())
}

func TestClosersRunLastFirstAndJoinErrors(t *testing.T) {
	var order []int
	var cl closers
	errA, errC := errors.New("a"), errors.New("c")
	cl.addErr(func() error { order = append(order, 1); return errA })
	cl.add(func() { order = append(order, 2) })
	cl.addErr(func() error { order = append(order, 3); return errC })
	err := cl.close()
	require.Equal(t, []int{3, 2, 1}, order)
	require.ErrorIs(t, err, errA)
	require.ErrorIs(t, err, errC)
	require.NoError(t, cl.close(), "closed once")
}
