package workerpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
)

// Sentinel errors of the pool.
var (
	// ErrNoWorkers means no worker is available to run a fragment.
	ErrNoWorkers = errkind.New(errkind.Unavailable, "no worker available")
)

// maxMessageSize bounds one Flight message from a worker; DuckDB batches are
// a few MB at most, but wide text columns can be larger.
const maxMessageSize = 1 << 30

// Conn is a coordinator's connection to one worker.
type Conn struct {
	Addr   string
	client flight.Client
	cc     *grpc.ClientConn
}

// DoGet opens the fragment's stream on the worker.
func (c *Conn) DoGet(ctx context.Context, ticket []byte) (flight.FlightService_DoGetClient, error) {
	return c.client.DoGet(ctx, &flight.Ticket{Ticket: ticket})
}

// Options configure a Pool.
type Options struct {
	// HealthInterval is how often every member's gRPC health service is
	// asked; default 2s, negative disables checking (members stay healthy).
	HealthInterval time.Duration
	// HealthTimeout bounds one check; default 1s.
	HealthTimeout time.Duration
	// Signer signs the tokens Status sends with StatusAction; nil makes
	// Status report an error for every worker.
	Signer     *fragwire.Signer
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

type member struct {
	conn    *Conn
	healthy bool
	checked time.Time // last health check; zero before the first
}

// Pool is the set of workers a coordinator dispatches to. Membership can
// change at any time (a local worker restarted on a new port, a DNS name
// resolving to new pods); Pick sees the current set. A background loop asks
// every member's gRPC health service; members that fail are skipped by
// Pick and by Healthy until they pass again. New members start healthy and
// are checked at once.
type Pool struct {
	opts    Options
	logger  *slog.Logger
	workers *prometheus.GaugeVec

	mu      sync.Mutex
	members map[string]*member
	order   []string
	next    int
	changed chan struct{}

	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// New returns an empty pool and starts its health checks; Close stops them.
func New(opts Options) *Pool {
	if opts.HealthInterval == 0 {
		opts.HealthInterval = 2 * time.Second
	}
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Pool{
		opts:   opts,
		logger: logger,
		workers: promauto.With(opts.Registerer).NewGaugeVec(prometheus.GaugeOpts{
			Name: "quiver_workers", Help: "Workers in the pool, by health state.",
		}, []string{"state"}),
		members: map[string]*member{},
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1),
		stop:    stop,
		done:    make(chan struct{}),
	}
	p.workers.WithLabelValues("healthy")
	p.workers.WithLabelValues("unhealthy")
	if opts.HealthInterval > 0 {
		go p.checkLoop(ctx)
	} else {
		close(p.done)
	}
	return p
}

// Set makes addrs the pool's members, dialing new ones and closing the rest.
func (p *Pool) Set(addrs []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	want := map[string]bool{}
	var errs []error
	added := false
	for _, a := range addrs {
		want[a] = true
		if _, ok := p.members[a]; ok {
			continue
		}
		c, err := dial(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("dial worker %s: %w", a, err))
			continue
		}
		p.members[a] = &member{conn: c, healthy: true}
		added = true
	}
	removed := false
	for a, m := range p.members {
		if !want[a] {
			// Close the gRPC connection, not the flight client: arrow-go's
			// client.Close nils its stub, and a fragment that picked this
			// worker a moment ago would then panic in DoGet instead of
			// failing with a retriable error.
			_ = m.conn.cc.Close() // a connection being dropped
			delete(p.members, a)
			removed = true
		}
	}
	p.order = p.order[:0]
	for a := range p.members {
		p.order = append(p.order, a)
	}
	sort.Strings(p.order)
	if added || removed {
		p.notifyLocked()
	}
	if added {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

func dial(addr string) (*Conn, error) {
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Batches are decoded with at most one copy (gRPC's proto codec
		// makes two and zeroes a buffer).
		flightwire.New().DialOption(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize)),
		// A restarted worker must be reachable again within seconds, not
		// after gRPC's default two-minute reconnect backoff.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		}))
	if err != nil {
		return nil, err
	}
	return &Conn{Addr: addr, client: flight.NewClientFromConn(cc, nil), cc: cc}, nil
}

// notifyLocked wakes everyone waiting on Changed.
func (p *Pool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
	healthy := 0
	for _, m := range p.members {
		if m.healthy {
			healthy++
		}
	}
	p.workers.WithLabelValues("healthy").Set(float64(healthy))
	p.workers.WithLabelValues("unhealthy").Set(float64(len(p.members) - healthy))
}

// Changed returns a channel that is closed at the next change of
// membership or health.
func (p *Pool) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Pick returns a healthy worker: prefer when it is healthy and not in
// exclude, otherwise the next healthy worker round-robin that is not in
// exclude, otherwise (every healthy worker already failed this fragment,
// and passed a health check since) any healthy worker.
func (p *Pool) Pick(prefer string, exclude map[string]bool) (*Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.members[prefer]; ok && m.healthy && !exclude[prefer] {
		return m.conn, nil
	}
	var fallback *Conn
	for range p.order {
		a := p.order[p.next%len(p.order)]
		p.next++
		m := p.members[a]
		if !m.healthy {
			continue
		}
		if !exclude[a] {
			return m.conn, nil
		}
		if fallback == nil {
			fallback = m.conn
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	return nil, fmt.Errorf("%w: %d workers, none healthy", ErrNoWorkers, len(p.order))
}

// Healthy lists the healthy members, sorted.
func (p *Pool) Healthy() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, a := range p.order {
		if p.members[a].healthy {
			out = append(out, a)
		}
	}
	return out
}

// Ready reports whether a member has answered a health check as
// SERVING. A member counts as healthy for Pick from the moment it joins
// (queries need not wait for the first check), but readiness is only
// claimed once a worker was seen to serve. Without health checks
// (HealthInterval ≤ 0) a healthy member is enough.
func (p *Pool) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.members {
		if m.healthy && (!m.checked.IsZero() || p.opts.HealthInterval <= 0) {
			return true
		}
	}
	return false
}

// Addrs lists the current members.
func (p *Pool) Addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.order...)
}

// Check asks addr's health service now and records the answer; it
// reports whether the worker is healthy. The coordinator calls it after a
// fragment failed there, so a dead worker is skipped at once.
func (p *Pool) Check(ctx context.Context, addr string) bool {
	p.mu.Lock()
	m, ok := p.members[addr]
	p.mu.Unlock()
	if !ok {
		return false
	}
	if p.opts.HealthInterval < 0 {
		return true
	}
	ok = p.probe(ctx, m.conn)
	p.record(addr, m, ok)
	return ok
}

// probe asks c's health service about the whole server ("" service). Only
// SERVING is healthy: a draining worker answers NOT_SERVING, and Pick skips
// it from that check on.
func (p *Pool) probe(ctx context.Context, c *Conn) bool {
	ctx, cancel := context.WithTimeout(ctx, p.opts.HealthTimeout)
	defer cancel()
	res, err := healthpb.NewHealthClient(c.cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// record sets m's health if m is still a member.
func (p *Pool) record(addr string, m *member, healthy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.members[addr] != m {
		return
	}
	m.checked = time.Now()
	if m.healthy == healthy {
		return
	}
	m.healthy = healthy
	if healthy {
		p.logger.Info("worker healthy", "worker", addr)
	} else {
		p.logger.Warn("worker unhealthy", "worker", addr)
	}
	p.notifyLocked()
}

// checkLoop checks every member each interval, and at once when members
// are added, until Close.
func (p *Pool) checkLoop(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(p.opts.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-p.kick:
		}
		p.checkAll(ctx)
	}
}

func (p *Pool) checkAll(ctx context.Context) {
	p.mu.Lock()
	members := make(map[string]*member, len(p.members))
	for a, m := range p.members {
		members[a] = m
	}
	p.mu.Unlock()
	g := new(errgroup.Group)
	g.SetLimit(16)
	for a, m := range members {
		g.Go(func() error {
			p.record(a, m, p.probe(ctx, m.conn))
			return nil
		})
	}
	_ = g.Wait()
}

// Close stops the health checks and closes every connection.
func (p *Pool) Close() error {
	p.stop()
	<-p.done
	return p.Set(nil)
}
