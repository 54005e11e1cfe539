package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/workerpool"
)

// fragmentRef names one fragment of one query and how to run it.
type fragmentRef struct {
	FragmentJob
	// schema, for a stream the client fetches directly, is the announced
	// schema (IPC-serialized) the worker must stream.
	schema []byte
	// statement is the client's SQL, for a stream it fetches directly.
	statement string
	// render, when set, makes the statement of attempt n (1, 2, …) in
	// place of Fragment.SQL: an exchange producer writes each attempt
	// into a directory of its own.
	render func(attempt int) string
	// producer is set for an exchange producer, of exchange exchange.
	producer bool
	exchange int
}

// permanent marks a failure another attempt would not fix (the client
// went away, rows that cannot be skipped were sent).
func permanent(err error) error { return errkind.Permanent(err) }

// retriable reports whether another attempt, maybe on another worker, might
// succeed (errkind.Retryable): a worker unreachable, stalled, reset or
// draining. Query errors (InvalidArgument, NotFound, PermissionDenied, …)
// never are; a Canceled from a worker is the worker's doing, since the
// query's own context is checked first.
func retriable(err error) bool { return errkind.Retryable(err) }

// pick returns a worker for the fragment: its group's worker when that is
// healthy, another healthy one otherwise. With no healthy worker it waits
// up to Grace for one to appear.
func (c *Coordinator) pick(ctx context.Context, prefer string, exclude map[string]bool) (*workerpool.Conn, error) {
	var deadline <-chan time.Time
	for {
		changed := c.opts.Workers.Changed()
		w, err := c.opts.Workers.Pick(prefer, exclude)
		if err == nil {
			return w, nil
		}
		if !errors.Is(err, workerpool.ErrNoWorkers) {
			return nil, err
		}
		if deadline == nil {
			t := time.NewTimer(c.opts.Grace)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-changed:
		case <-deadline:
			return nil, fmt.Errorf("%w (waited %s for one, --worker-grace)", err, c.opts.Grace)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// sign makes the worker ticket of a fragment.
func (c *Coordinator) sign(ref fragmentRef, ttl time.Duration, heartbeat time.Duration) ([]byte, error) {
	return c.opts.Signer.Sign(fragwire.Fragment{
		QueryID: ref.QueryID, SQL: ref.Fragment.SQL, Args: ref.Args,
		Expires:     time.Now().Add(ttl).UnixMilli(),
		Heartbeat:   heartbeat.Milliseconds(),
		Compression: ref.Codec,
		Schema:      ref.schema,
		Statement:   ref.statement,
		Credentials: ref.Credentials,
	})
}

// run tries a fragment on workers until attempt succeeds, fails in a way
// another worker would not fix, or Attempts are used up. A worker that
// failed is health-checked at once, so a dead one is skipped by every
// query from then on.
func (c *Coordinator) run(ctx context.Context, ref fragmentRef, attempt func(ctx context.Context, w *workerpool.Conn, ticket []byte) error) (err error) {
	defer func() {
		switch {
		case err == nil:
			c.fragments.WithLabelValues("ok").Inc()
		case ctx.Err() != nil:
			c.fragments.WithLabelValues("canceled").Inc()
		default:
			c.fragments.WithLabelValues("error").Inc()
		}
	}()
	trace := traceOf(ctx)
	failed := map[string]bool{}
	var lastErr error
	for n := 1; n <= c.opts.Attempts; n++ {
		w, err := c.pick(ctx, ref.Fragment.Group, failed)
		if err != nil {
			if lastErr != nil {
				return fmt.Errorf("%w (last worker error: %v)", err, lastErr)
			}
			return err
		}
		if ref.render != nil {
			ref.Fragment.SQL = ref.render(n)
		}
		// Heartbeats a third of the stall timeout apart leave room for two
		// to be late.
		ticket, err := c.sign(ref, c.opts.FragmentTTL, c.opts.StallTimeout/3)
		if err != nil {
			return err
		}
		c.logger.Info("fragment dispatched", "queryID", ref.QueryID, "fragment", ref.Index, "worker", w.Addr, "attempt", n, "producer", ref.producer)
		trace.worker(w.Addr)
		counts := &fragmentCounts{}
		start := time.Now()
		err = attempt(withCounts(ctx, counts), w, ticket)
		if err == nil {
			trace.fragmentDone()
			if n := counts.spill.Load(); n > 0 {
				c.spilled.Inc()
				c.spill.Observe(float64(n))
			}
			exchange := -1
			if ref.producer {
				exchange = ref.exchange
			}
			trace.fragment(FragmentStats{
				Exchange: exchange, Index: ref.Index, Worker: w.Addr, Attempts: n, Wall: time.Since(start),
				CPUStart: time.Duration(counts.cpuStart.Load()), CPUEnd: time.Duration(counts.cpuEnd.Load()),
				CPU:  time.Duration(counts.cpuEnd.Load() - counts.cpuStart.Load()),
				Rows: counts.rows.Load(), Bytes: counts.bytes.Load(), Spill: counts.spill.Load(),
			})
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !retriable(err) {
			return err
		}
		failed[w.Addr] = true
		lastErr = err
		healthy := c.opts.Workers.Check(ctx, w.Addr)
		if n < c.opts.Attempts {
			c.retries.Inc()
			trace.retry()
			c.logger.Info("fragment retried", "queryID", ref.QueryID, "fragment", ref.Index, "worker", w.Addr,
				"workerHealthy", healthy, "attempt", n, "err", err.Error())
		}
	}
	return fmt.Errorf("%w: fragment %d failed %d times: %w", workerpool.ErrNoWorkers, ref.Index, c.opts.Attempts, lastErr)
}
