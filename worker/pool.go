package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Sentinel errors of the pool.
var (
	// ErrNoWorkers means no worker is available to run a fragment.
	ErrNoWorkers = errors.New("no worker available")
)

// maxMessageSize bounds one Flight message from a worker; DuckDB batches are
// a few MB at most, but wide text columns can be larger.
const maxMessageSize = 1 << 30

// Conn is a coordinator's connection to one worker.
type Conn struct {
	Addr   string
	client flight.Client
}

// DoGet opens the fragment's stream on the worker.
func (c *Conn) DoGet(ctx context.Context, ticket []byte) (flight.FlightService_DoGetClient, error) {
	return c.client.DoGet(ctx, &flight.Ticket{Ticket: ticket})
}

// Pool is the set of workers a coordinator dispatches to. Membership can
// change at any time (a local worker restarted on a new port, an address
// added); Pick sees the current set.
type Pool struct {
	mu    sync.Mutex
	conns map[string]*Conn
	order []string
	next  int
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{conns: map[string]*Conn{}}
}

// Set makes addrs the pool's members, dialing new ones and closing the rest.
func (p *Pool) Set(addrs []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	want := map[string]bool{}
	var errs []error
	for _, a := range addrs {
		want[a] = true
		if _, ok := p.conns[a]; ok {
			continue
		}
		c, err := flight.NewClientWithMiddleware(a, nil, nil,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize)))
		if err != nil {
			errs = append(errs, fmt.Errorf("dial worker %s: %w", a, err))
			continue
		}
		p.conns[a] = &Conn{Addr: a, client: c}
	}
	for a, c := range p.conns {
		if !want[a] {
			c.client.Close()
			delete(p.conns, a)
		}
	}
	p.order = p.order[:0]
	for a := range p.conns {
		p.order = append(p.order, a)
	}
	sort.Strings(p.order)
	return errors.Join(errs...)
}

// Pick returns the next worker round-robin, skipping those in exclude.
func (p *Pool) Pick(exclude map[string]bool) (*Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.order {
		a := p.order[p.next%len(p.order)]
		p.next++
		if !exclude[a] {
			return p.conns[a], nil
		}
	}
	return nil, fmt.Errorf("%w: %d workers, %d already failed this query", ErrNoWorkers, len(p.order), len(exclude))
}

// Addrs lists the current members.
func (p *Pool) Addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.order...)
}

// Close closes every connection.
func (p *Pool) Close() error {
	return p.Set(nil)
}
