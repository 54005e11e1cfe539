package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/worker"
)

// Workers hands out a worker for a fragment; *worker.Pool is one.
type Workers interface {
	Pick(exclude map[string]bool) (*worker.Conn, error)
}

// Options configure a Coordinator.
type Options struct {
	// DB is the coordinator's embedded DuckDB (shadow catalog).
	DB      *engine.DB
	Workers Workers
	Signer  *worker.Signer
	// FragmentTTL is how long a signed fragment ticket stays valid; default 1 minute.
	FragmentTTL time.Duration
	// Attempts is how many workers a fragment may be tried on; default 3.
	Attempts   int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Coordinator types and runs plans.
type Coordinator struct {
	opts    Options
	logger  *slog.Logger
	shadow  *shadow
	retries prometheus.Counter
	bytes   prometheus.Counter
}

// New returns a Coordinator.
func New(opts Options) *Coordinator {
	if opts.FragmentTTL == 0 {
		opts.FragmentTTL = time.Minute
	}
	if opts.Attempts == 0 {
		opts.Attempts = 3
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := promauto.With(opts.Registerer)
	return &Coordinator{
		opts:   opts,
		logger: logger,
		shadow: newShadow(opts.DB),
		retries: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_fragment_retries_total", Help: "Fragments re-run on another worker.",
		}),
		bytes: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_result_bytes_total", Help: "Result bytes relayed to clients.",
		}),
	}
}

// Schema returns the result schema of a plan run with args.
func (c *Coordinator) Schema(ctx context.Context, plan *planner.Plan, args []any) (*arrow.Schema, error) {
	if args == nil && plan.Params > 0 {
		// Not bound yet: type the statement with NULLs; DuckDB infers the
		// parameter types from their use.
		args = make([]any, plan.Params)
	}
	s, err := c.shadow.schema(ctx, plan.Tables, plan.Probe, args)
	if err != nil {
		return nil, fmt.Errorf("type query: %w", err)
	}
	return s, nil
}

// Stream runs one fragment on a worker and passes every Flight message it
// produces to send, in order. Before the first message, an unreachable
// worker is replaced by another one.
func (c *Coordinator) Stream(ctx context.Context, queryID string, frag planner.Fragment, args []worker.Arg, send func(*flight.FlightData) error) error {
	ticket, err := c.opts.Signer.Sign(worker.Fragment{
		QueryID: queryID, SQL: frag.SQL, Args: args,
		Expires: time.Now().Add(c.opts.FragmentTTL).UnixMilli(),
	})
	if err != nil {
		return err
	}
	failed := map[string]bool{}
	var lastErr error
	for attempt := 0; attempt < c.opts.Attempts; attempt++ {
		w, err := c.opts.Workers.Pick(failed)
		if err != nil {
			if lastErr != nil {
				return fmt.Errorf("%w (last worker error: %v)", err, lastErr)
			}
			return err
		}
		sent, err := c.relay(ctx, w, ticket, send)
		if err == nil {
			return nil
		}
		if sent > 0 || !retriable(err) || ctx.Err() != nil {
			return err
		}
		c.logger.Warn("fragment failed on worker; trying another", "queryID", queryID, "worker", w.Addr, "err", err)
		c.retries.Inc()
		failed[w.Addr] = true
		lastErr = err
	}
	return fmt.Errorf("%w: fragment failed on %d workers: %w", worker.ErrNoWorkers, len(failed), lastErr)
}

func (c *Coordinator) relay(ctx context.Context, w *worker.Conn, ticket []byte, send func(*flight.FlightData) error) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.DoGet(ctx, ticket)
	if err != nil {
		return 0, fmt.Errorf("worker %s: %w", w.Addr, err)
	}
	sent := 0
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return sent, nil
		}
		if err != nil {
			return sent, workerError(w.Addr, err)
		}
		if err := send(msg); err != nil {
			return sent + 1, fmt.Errorf("send to client: %w", err)
		}
		c.bytes.Add(float64(len(msg.DataBody) + len(msg.DataHeader)))
		sent++
	}
}

// workerError keeps the worker's status code and says which worker failed.
func workerError(addr string, err error) error {
	if st, ok := status.FromError(err); ok {
		return status.Errorf(st.Code(), "worker %s: %s", addr, st.Message())
	}
	return fmt.Errorf("worker %s: %w", addr, err)
}

// retriable reports whether another worker might succeed.
func retriable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Unauthenticated, codes.Aborted:
		return true
	}
	return false
}

// TableSchema returns the Arrow schema of a table as queries return it.
func (c *Coordinator) TableSchema(ctx context.Context, t *storage.Table) (*arrow.Schema, error) {
	s, err := c.shadow.tableSchema(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("type table %s: %w", t.Name, err)
	}
	return s, nil
}
