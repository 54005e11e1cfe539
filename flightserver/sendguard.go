package flightserver

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
)

// guardedStream sends a query's messages to its client: it counts bytes
// against the query's limits and cuts the stream when the client takes
// no message for the send timeout. gRPC flow control blocks Send while
// the client does not read, so a slow reader holds at most a window of
// data here; a reader that stops altogether is cut rather than holding
// its query, its admission slot and the workers' streams forever.
type guardedStream struct {
	q       *liveQuery
	send    func(*flight.FlightData) error
	timeout time.Duration
	reqs    chan *flight.FlightData
	errs    chan error
	timer   *time.Timer
	dead    error
}

func newGuardedStream(q *liveQuery, send func(*flight.FlightData) error, timeout time.Duration) *guardedStream {
	g := &guardedStream{q: q, send: send, timeout: timeout,
		reqs: make(chan *flight.FlightData), errs: make(chan error, 1)}
	// The sender goroutine owns the gRPC Send: when it blocks past the
	// timeout the handler returns, gRPC closes the stream and the
	// blocked Send returns, ending the goroutine.
	go func() {
		for fd := range g.reqs {
			g.errs <- g.send(fd)
		}
	}()
	return g
}

// Send implements flight.DataStreamWriter.
func (g *guardedStream) Send(fd *flight.FlightData) error {
	if g.dead != nil {
		return g.dead
	}
	if err := g.q.addBytes(int64(len(fd.DataHeader) + len(fd.DataBody))); err != nil {
		g.dead = err
		return err
	}
	g.reqs <- fd
	if g.timer == nil {
		g.timer = time.NewTimer(g.timeout)
	} else {
		g.timer.Reset(g.timeout)
	}
	select {
	case err := <-g.errs:
		g.timer.Stop() // Go ≥ 1.23: no stale tick after Stop or Reset
		return err
	case <-g.timer.C:
		g.dead = fmt.Errorf("%w: no message was taken for %s (--send-timeout)", ErrSendTimeout, g.timeout)
		return g.dead
	}
}

// close stops the sender goroutine once its last Send returns.
func (g *guardedStream) close() { close(g.reqs) }
