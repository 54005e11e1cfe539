package flightserver

import (
	"context"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/quiver-data/quiver/coordinator"
)

// prefetch is a single-endpoint result started as soon as it is planned,
// the way Trino or GizmoSQL run a statement when it is submitted: the
// workers execute while the FlightInfo travels to the client and its
// DoGet comes back, instead of after. For a point lookup that round trip
// is a millisecond or more of a few-millisecond query.
//
// At most depth messages wait here; past them the producer blocks and the
// worker stream is held by gRPC flow control, so an endpoint nobody
// fetches costs a bounded buffer until the idle timeout ends its query.
type prefetch struct {
	claimed atomic.Bool
	msgs    chan *flight.FlightData
	// err is the stream's outcome, set before msgs is closed.
	err error
}

// startPrefetch runs q's stream under its query's context (a cancel, the
// query timeout, the idle timeout or a limit stops it) into a buffer the
// first DoGet of the ticket drains.
func (s *Server) startPrefetch(q *query, depth int) {
	pf := &prefetch{msgs: make(chan *flight.FlightData, depth)}
	q.prefetch = pf
	ctx := coordinator.WithTrace(q.live.ctx, q.live.trace())
	// A merge writes through arrow-go's record writer, which reuses its
	// message and body buffer after Send returns, so its messages are
	// copied; a relayed fragment's messages are the caller's to keep
	// (Runner.Stream's contract).
	w := &chanWriter{ctx: ctx, msgs: pf.msgs, clone: q.plan.Merge != nil}
	go func() {
		err := s.stream(ctx, q, w)
		if err != nil && ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		pf.err = err
		close(pf.msgs)
	}()
}

// claim returns the prefetched stream to the first caller only: a ticket
// redeemed again runs its stream anew.
func (pf *prefetch) claim() bool {
	return pf != nil && pf.claimed.CompareAndSwap(false, true)
}

// drain sends the prefetched messages to out, then returns the stream's
// outcome; it gives up when ctx (the DoGet under its query) ends.
func (pf *prefetch) drain(ctx context.Context, out flight.DataStreamWriter) error {
	for {
		select {
		case fd, ok := <-pf.msgs:
			if !ok {
				return pf.err
			}
			if err := out.Send(fd); err != nil {
				return err
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// chanWriter is a flight.DataStreamWriter into a channel.
type chanWriter struct {
	ctx   context.Context
	msgs  chan<- *flight.FlightData
	clone bool
}

func (w *chanWriter) Send(fd *flight.FlightData) error {
	if w.clone {
		fd = cloneData(fd)
	}
	select {
	case w.msgs <- fd:
		return nil
	case <-w.ctx.Done():
		return context.Cause(w.ctx)
	}
}
