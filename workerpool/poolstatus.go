package workerpool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"golang.org/x/sync/errgroup"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
)

// WorkerStatus is one pool member as the coordinator sees it: its health
// as last checked and its own StatusAction report.
type WorkerStatus struct {
	Addr      string
	Healthy   bool
	LastCheck time.Time // zero before the first health check
	// Status is the worker's report; zero when Err is set.
	fragwire.Status
	// Err says why the worker could not be asked (unreachable,
	// refused the token, …).
	Err error
}

// statusTTL is how long a status token stays valid; a token is made per call.
const statusTTL = 30 * time.Second

// Status asks every member for its report, all at once, each bounded by
// the larger of HealthTimeout and 2s, and returns them sorted by address.
func (p *Pool) Status(ctx context.Context) []WorkerStatus {
	p.mu.Lock()
	out := make([]WorkerStatus, 0, len(p.order))
	conns := make([]*Conn, 0, len(p.order))
	for _, a := range p.order {
		m := p.members[a]
		out = append(out, WorkerStatus{Addr: a, Healthy: m.healthy, LastCheck: m.checked})
		conns = append(conns, m.conn)
	}
	p.mu.Unlock()
	var token []byte
	var tokenErr error
	if p.opts.Signer == nil {
		tokenErr = errors.New("the pool has no signer for status tokens")
	} else {
		token, tokenErr = p.opts.Signer.SignAction(fragwire.StatusAction, statusTTL)
	}
	timeout := max(p.opts.HealthTimeout, 2*time.Second)
	g := new(errgroup.Group)
	g.SetLimit(16)
	for i := range out {
		if tokenErr != nil {
			out[i].Err = tokenErr
			continue
		}
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			st, err := conns[i].Status(ctx, token)
			out[i].Status, out[i].Err = st, err
			return nil
		})
	}
	_ = g.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// Status runs StatusAction on the worker with a signed token.
func (c *Conn) Status(ctx context.Context, token []byte) (fragwire.Status, error) {
	stream, err := c.client.DoAction(ctx, &flight.Action{Type: fragwire.StatusAction, Body: token})
	if err != nil {
		return fragwire.Status{}, fmt.Errorf("worker %s status: %w", c.Addr, err)
	}
	res, err := stream.Recv()
	if err != nil {
		return fragwire.Status{}, fmt.Errorf("worker %s status: %w", c.Addr, err)
	}
	// Drain the stream so the call ends cleanly.
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				return fragwire.Status{}, fmt.Errorf("worker %s status: %w", c.Addr, err)
			}
			break
		}
	}
	var st fragwire.Status
	if err := json.Unmarshal(res.GetBody(), &st); err != nil {
		return fragwire.Status{}, fmt.Errorf("worker %s status: decode %q: %w", c.Addr, res.GetBody(), err)
	}
	return st, nil
}

// SmallestMemory is the smallest memory_limit the pool's healthy workers
// report, asked for at most every TTL (default 30s): what a broadcast's
// hash table must fit in on every worker.
type SmallestMemory struct {
	Pool *Pool
	TTL  time.Duration

	mu    sync.Mutex
	at    time.Time
	bytes int64
}

// Bytes returns the smallest memory_limit in bytes, 0 while no healthy
// worker has reported one (the last answer stays until a new one comes).
func (s *SmallestMemory) Bytes(ctx context.Context) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl := s.TTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	if !s.at.IsZero() && time.Since(s.at) < ttl {
		return s.bytes
	}
	var smallest int64
	for _, st := range s.Pool.Status(ctx) {
		if !st.Healthy || st.Err != nil {
			continue
		}
		if n, err := engine.ParseSize(st.MemoryLimit); err == nil && n > 0 && (smallest == 0 || n < smallest) {
			smallest = n
		}
	}
	s.at = time.Now()
	if smallest > 0 {
		s.bytes = smallest
	}
	return s.bytes
}
