package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/workerpool"
)

// workerStream is a worker's DoGet stream with heartbeats filtered out and
// a stall watchdog: when Recv waits longer than the stall timeout for any
// message the stream is canceled and Recv returns ErrStalled. The watchdog
// only runs inside Recv, so a slow client (backpressure) is not a stall.
type workerStream struct {
	addr   string
	ctx    context.Context
	stream flight.FlightService_DoGetClient
	stall  time.Duration
	timer  *time.Timer
	// counts are the attempt's: bytes received, and at the end the CPU
	// time the worker's trailer reports.
	counts *fragmentCounts
}

// open starts a fragment's stream on w; the returned cancel ends it.
func (c *Coordinator) open(ctx context.Context, w *workerpool.Conn, ticket []byte) (*workerStream, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	stall := c.opts.StallTimeout
	ws := &workerStream{addr: w.Addr, ctx: ctx, stall: stall, counts: countsOf(ctx)}
	ws.timer = time.AfterFunc(stall, func() { cancel(ErrStalled) })
	stop := func() {
		ws.timer.Stop()
		cancel(context.Canceled)
	}
	stream, err := w.DoGet(ctx, ticket)
	if err != nil {
		stop()
		return nil, nil, ws.wrap(err)
	}
	ws.timer.Stop()
	ws.stream = stream
	return ws, stop, nil
}

// Recv returns the next message that is not a heartbeat.
func (s *workerStream) Recv() (*flight.FlightData, error) {
	for {
		s.timer.Reset(s.stall)
		fd, err := s.stream.Recv()
		s.timer.Stop()
		if errors.Is(err, io.EOF) {
			md := s.stream.Trailer()
			if start, end, ok := fragwire.TrailerCPU(md); ok {
				s.counts.cpuStart.Store(int64(start))
				s.counts.cpuEnd.Store(int64(end))
			}
			s.counts.spill.Store(fragwire.TrailerSpill(md))
		}
		if err != nil {
			return nil, s.wrap(err)
		}
		if !fragwire.IsHeartbeat(fd) {
			s.counts.bytes.Add(int64(len(fd.DataHeader) + len(fd.DataBody)))
			return fd, nil
		}
	}
}

// wrap says which worker failed, keeps the worker's status code, and turns
// the watchdog's cancellation into ErrStalled.
func (s *workerStream) wrap(err error) error {
	if context.Cause(s.ctx) == ErrStalled {
		return fmt.Errorf("worker %s: %w: nothing received for %s (--fragment-stall-timeout)", s.addr, ErrStalled, s.stall)
	}
	if errors.Is(err, io.EOF) {
		return err // the end of the stream, not a failure
	}
	if remote := flightwire.Remote("worker "+s.addr, err); remote != nil {
		return remote // the worker's status, code and kind kept
	}
	return fmt.Errorf("worker %s: %w", s.addr, err)
}
