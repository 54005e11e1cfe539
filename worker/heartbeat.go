package worker

import (
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/quiver-data/quiver/fragwire"
)

// lockedStream serializes the sends of a fragment's batches and of its
// heartbeats on one gRPC stream (a stream's Send is not safe for concurrent
// use) and remembers when the last message left.
type lockedStream struct {
	mu     sync.Mutex
	stream flight.DataStreamWriter
	last   time.Time
}

func (l *lockedStream) Send(fd *flight.FlightData) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
	return l.stream.Send(fd)
}

// heartbeat sends a heartbeat message whenever nothing was sent for
// interval, until the returned stop is called; stop waits for the
// goroutine to end.
func (l *lockedStream) heartbeat(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	l.mu.Lock()
	l.last = time.Now()
	l.mu.Unlock()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval / 2)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			l.mu.Lock()
			select {
			case <-done:
				l.mu.Unlock()
				return
			default:
			}
			var err error
			if time.Since(l.last) >= interval {
				l.last = time.Now()
				err = l.stream.Send(fragwire.Heartbeat())
			}
			l.mu.Unlock()
			if err != nil {
				// The stream is broken; the fragment's own send will say so.
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
