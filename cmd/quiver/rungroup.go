package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	rungroup "github.com/oklog/run"
	"google.golang.org/grpc"
)

// addInOrder adds an actor to g whose interrupt calls stop and then waits
// for execute to return. run.Group calls the interrupts one after another
// in the order the actors were added, so with every actor added this way
// the order of Add is the order of shutdown: each actor is down before the
// next one is told to stop.
func addInOrder(g *rungroup.Group, execute func() error, stop func()) {
	done := make(chan struct{})
	g.Add(func() error {
		defer close(done)
		return execute()
	}, func(error) {
		stop()
		<-done
	})
}

// untilDone is an actor that returns nil when ctx ends (the signal that
// stops the process) or when it is stopped: the first actor of a group,
// whose return starts the shutdown of the others.
func untilDone(ctx context.Context) (execute func() error, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	return func() error {
		<-ctx.Done()
		return nil
	}, cancel
}

// serveGRPC serves gs on lis until gs is stopped, which is no error.
func serveGRPC(gs *grpc.Server, lis net.Listener) error {
	if err := gs.Serve(lis); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// stopGRPCWithin stops gs gracefully, letting running calls end, and at
// once when that takes longer than timeout.
func stopGRPCWithin(gs *grpc.Server, timeout time.Duration) {
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(timeout):
		gs.Stop()
	}
}

// closers undoes what a build step set up, last first. Build steps add to
// it as they go, so a step that fails releases what the earlier ones made.
type closers struct {
	fns []func() error
}

// add registers f, whose failure does not matter (the process is exiting
// and the OS reclaims what it held).
func (c *closers) add(f func()) {
	c.fns = append(c.fns, func() error { f(); return nil })
}

// addErr registers f, whose failure is reported by close: closing a file
// that was written to is where a lost write shows.
func (c *closers) addErr(f func() error) {
	c.fns = append(c.fns, f)
}

// close runs the registered functions, last first, and joins their errors.
func (c *closers) close() error {
	var errs []error
	for i := len(c.fns) - 1; i >= 0; i-- {
		if err := c.fns[i](); err != nil {
			errs = append(errs, err)
		}
	}
	c.fns = nil
	return errors.Join(errs...)
}
