package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"golang.org/x/sync/errgroup"
)

// WorkerStatus is one pool member as the coordinator sees it: its health
// as last checked and its own StatusAction report.
type WorkerStatus struct {
	Addr      string
	Healthy   bool
	LastCheck time.Time // zero before the first health check
	// Status is the worker's report; zero when Err is set.
	Status
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
		token, tokenErr = p.opts.Signer.SignAction(StatusAction, statusTTL)
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
func (c *Conn) Status(ctx context.Context, token []byte) (Status, error) {
	stream, err := c.client.DoAction(ctx, &flight.Action{Type: StatusAction, Body: token})
	if err != nil {
		return Status{}, fmt.Errorf("worker %s status: %w", c.Addr, err)
	}
	res, err := stream.Recv()
	if err != nil {
		return Status{}, fmt.Errorf("worker %s status: %w", c.Addr, err)
	}
	// Drain the stream so the call ends cleanly.
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				return Status{}, fmt.Errorf("worker %s status: %w", c.Addr, err)
			}
			break
		}
	}
	var st Status
	if err := json.Unmarshal(res.GetBody(), &st); err != nil {
		return Status{}, fmt.Errorf("worker %s status: decode %q: %w", c.Addr, res.GetBody(), err)
	}
	return st, nil
}
