package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/quiver-data/quiver/errkind"
)

// Sentinel errors; both mean "retry later" (gRPC UNAVAILABLE).
var (
	// ErrQueueFull is a query that found every slot busy and the queue full.
	ErrQueueFull = errkind.New(errkind.Unavailable, "admission queue full")
	// ErrQueueTimeout is a query that waited Options.MaxWait in the queue.
	ErrQueueTimeout = errkind.New(errkind.Unavailable, "admission queue wait exceeded")
)

// Options configure a Controller.
type Options struct {
	// MaxRunning is how many queries run at once; default 32.
	MaxRunning int
	// MaxQueued is how many queries may wait for a slot; 0 queues none
	// (a query that finds no free slot is refused at once).
	MaxQueued int
	// PerUser caps the running queries of one principal; 0 means MaxRunning.
	// A user at the cap waits in the queue without holding up other users.
	PerUser int
	// MaxWait is the longest a query waits in the queue; default 1 minute.
	MaxWait    time.Duration
	Registerer prometheus.Registerer
}

// Controller admits queries.
type Controller struct {
	opts    Options
	mu      sync.Mutex
	running int
	perUser map[string]int
	queue   []*waiter

	runningGauge prometheus.Gauge
	queuedGauge  prometheus.Gauge
	refused      *prometheus.CounterVec
	waited       prometheus.Histogram
}

type waiter struct {
	user     string
	ready    chan struct{}
	admitted bool
}

// New returns a Controller.
func New(opts Options) *Controller {
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = 32
	}
	if opts.PerUser <= 0 || opts.PerUser > opts.MaxRunning {
		opts.PerUser = opts.MaxRunning
	}
	if opts.MaxQueued < 0 {
		opts.MaxQueued = 0
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = time.Minute
	}
	reg := promauto.With(opts.Registerer)
	return &Controller{
		opts:    opts,
		perUser: map[string]int{},
		runningGauge: reg.NewGauge(prometheus.GaugeOpts{
			Name: "quiver_queries_running", Help: "Queries holding an admission slot.",
		}),
		queuedGauge: reg.NewGauge(prometheus.GaugeOpts{
			Name: "quiver_queries_queued", Help: "Queries waiting for an admission slot (queue depth).",
		}),
		refused: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_admission_refused_total", Help: "Queries refused by admission control, by reason (queue_full, queue_timeout).",
		}, []string{"reason"}),
		waited: reg.NewHistogram(prometheus.HistogramOpts{
			Name: "quiver_admission_wait_seconds", Help: "Time queries waited for an admission slot.",
			Buckets: []float64{.001, .01, .1, .5, 1, 5, 15, 60},
		}),
	}
}

// Stats is a snapshot of the controller.
type Stats struct {
	Running, Queued int
}

// Stats returns how many queries run and wait now.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Running: c.running, Queued: len(c.queue)}
}

// Acquire waits for a slot for user and returns the function that gives it
// back (call it exactly once) and how long it waited. It fails with
// ErrQueueFull, ErrQueueTimeout or ctx's error.
func (c *Controller) Acquire(ctx context.Context, user string) (release func(), waited time.Duration, err error) {
	start := time.Now()
	w := &waiter{user: user, ready: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	c.dispatch()
	if !w.admitted && len(c.queue) > c.opts.MaxQueued {
		c.remove(w)
		c.mu.Unlock()
		c.refused.WithLabelValues("queue_full").Inc()
		return nil, 0, fmt.Errorf("%w: %d queries running and %d waiting (the maximum); retry later",
			ErrQueueFull, c.opts.MaxRunning, c.opts.MaxQueued)
	}
	c.mu.Unlock()

	timer := time.NewTimer(c.opts.MaxWait)
	defer timer.Stop()
	select {
	case <-w.ready:
	case <-timer.C:
		err = fmt.Errorf("%w: waited %s for one of %d slots; retry later", ErrQueueTimeout, c.opts.MaxWait, c.opts.MaxRunning)
	case <-ctx.Done():
		err = fmt.Errorf("waiting for an admission slot: %w", context.Cause(ctx))
	}
	if err != nil {
		c.mu.Lock()
		admitted := w.admitted
		if !admitted {
			c.remove(w)
		}
		c.mu.Unlock()
		if !admitted {
			if errors.Is(err, ErrQueueTimeout) {
				c.refused.WithLabelValues("queue_timeout").Inc()
			}
			return nil, time.Since(start), err
		}
		// Admitted in the same instant: keep the slot.
	}
	waited = time.Since(start)
	c.waited.Observe(waited.Seconds())
	var once sync.Once
	return func() { once.Do(func() { c.release(user) }) }, waited, nil
}

func (c *Controller) release(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running--
	if c.perUser[user]--; c.perUser[user] <= 0 {
		delete(c.perUser, user)
	}
	c.dispatch()
}

// dispatch admits queued waiters in order while slots are free, skipping
// users at their cap. Callers hold mu.
func (c *Controller) dispatch() {
	for i := 0; i < len(c.queue) && c.running < c.opts.MaxRunning; {
		w := c.queue[i]
		if c.perUser[w.user] >= c.opts.PerUser {
			i++
			continue
		}
		c.queue = append(c.queue[:i], c.queue[i+1:]...)
		c.running++
		c.perUser[w.user]++
		w.admitted = true
		close(w.ready)
	}
	c.runningGauge.Set(float64(c.running))
	c.queuedGauge.Set(float64(len(c.queue)))
}

func (c *Controller) remove(w *waiter) {
	for i, q := range c.queue {
		if q == w {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			break
		}
	}
	c.queuedGauge.Set(float64(len(c.queue)))
}
