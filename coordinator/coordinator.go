package coordinator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/lru"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/workerpool"
)

// Sentinel errors of the coordinator.
var (
	// ErrStalled is a worker that sent nothing, not even a heartbeat, for
	// the stall timeout; its fragment is retried elsewhere.
	ErrStalled = errkind.New(errkind.Unavailable, "worker stalled")
	// ErrPartialsTooLarge is a merge plan whose fragment results exceed
	// Options.MaxPartialsBytes.
	ErrPartialsTooLarge = errkind.New(errkind.Exhausted, "partial results too large")
	// ErrNotResumable is a fragment that failed after sending rows that
	// cannot be skipped in a re-run (its worker sent no row offsets, or
	// the re-run did not reproduce them).
	ErrNotResumable = errkind.New(errkind.Unavailable, "fragment cannot be resumed")
	// ErrNoSpool is a plan with exchanges on a coordinator without
	// Options.Spool.
	ErrNoSpool = errkind.New(errkind.Internal, "no spool for exchanges: the coordinator was built without Options.Spool")
)

// Workers hands out workers for fragments; *workerpool.Pool is one.
type Workers interface {
	// Pick returns a healthy worker, prefer if possible, avoiding exclude
	// if possible; workerpool.ErrNoWorkers when none is healthy.
	Pick(prefer string, exclude map[string]bool) (*workerpool.Conn, error)
	// Changed is closed at the next change of membership or health.
	Changed() <-chan struct{}
	// Check re-checks a worker's health now (after a fragment failed there).
	Check(ctx context.Context, addr string) bool
}

// Options configure a Coordinator.
type Options struct {
	// DB is the coordinator's embedded DuckDB (shadow catalog, merge step).
	DB      *engine.DB
	Workers Workers
	Signer  *fragwire.Signer
	// FragmentTTL is how long a signed fragment ticket stays valid; default 1 minute.
	FragmentTTL time.Duration
	// Attempts is how many times a fragment may be tried; default 3.
	Attempts int
	// StallTimeout: a worker that sends nothing for this long is given up
	// on and its fragment retried; default 30s. Workers send heartbeats
	// at a third of it while they compute.
	StallTimeout time.Duration
	// Grace is how long a fragment waits for a healthy worker when there
	// is none; default 10s.
	Grace time.Duration
	// MaxPartialsBytes bounds the fragment results a merge plan holds;
	// default 1 GiB.
	MaxPartialsBytes int64
	// Parallelism bounds how many fragments of one merge plan, or
	// producers of one query's exchanges, run at once; default 16.
	Parallelism int
	// Spool holds exchange data (the warehouse's _spool/); nil makes
	// Exchange fail with ErrNoSpool.
	Spool Spool
	// Allocator backs decoded batches; default memory.DefaultAllocator.
	Allocator  memory.Allocator
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Coordinator types and runs plans.
type Coordinator struct {
	opts   Options
	logger *slog.Logger
	mem    memory.Allocator
	shadow *shadow
	// merges are merge result schemas by partials schema and merge statement.
	merges    *lru.Cache[string, *arrow.Schema]
	retries   prometheus.Counter
	spilled   prometheus.Counter
	spill     prometheus.Histogram
	bytes     prometheus.Counter
	fragments *prometheus.CounterVec
	exchange  *exchangeMetrics
	spools    spools
}

// New returns a Coordinator.
func New(opts Options) *Coordinator {
	if opts.FragmentTTL == 0 {
		opts.FragmentTTL = time.Minute
	}
	if opts.Attempts == 0 {
		opts.Attempts = 3
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = 30 * time.Second
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.MaxPartialsBytes == 0 {
		opts.MaxPartialsBytes = 1 << 30
	}
	if opts.Parallelism == 0 {
		opts.Parallelism = 16
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := promauto.With(opts.Registerer)
	return &Coordinator{
		opts:   opts,
		logger: logger,
		mem:    mem,
		shadow: newShadow(opts.DB),
		merges: lru.New[string, *arrow.Schema](schemaMemoSize),
		retries: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_fragment_retries_total", Help: "Fragments re-run on another worker.",
		}),
		bytes: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_result_bytes_total", Help: "Result bytes relayed to clients.",
		}),
		spilled: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_fragments_spilled_total",
			Help: "Fragments and exchange producers while which their worker's DuckDB held data spilled to its temp directory.",
		}),
		spill: reg.NewHistogram(prometheus.HistogramOpts{
			Name:    "quiver_fragment_spill_bytes",
			Help:    "The largest size a worker's DuckDB temp directory reached while a fragment or producer that spilled ran there.",
			Buckets: prometheus.ExponentialBuckets(1<<20, 4, 10),
		}),
		fragments: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_fragments_total", Help: "Fragments run, by outcome (ok, error, canceled).",
		}, []string{"outcome"}),
		exchange: newExchangeMetrics(opts.Registerer),
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

// TableSchema returns the Arrow schema of a table as queries return it.
func (c *Coordinator) TableSchema(ctx context.Context, t *storage.Table) (*arrow.Schema, error) {
	s, err := c.shadow.tableSchema(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("type table %s: %w", t.Name, err)
	}
	return s, nil
}

// ParamTypes returns the Arrow types a plan's parameters should be sent as.
func (c *Coordinator) ParamTypes(ctx context.Context, plan *planner.Plan) ([]arrow.DataType, error) {
	if plan.Params == 0 {
		return nil, nil
	}
	t, err := c.shadow.paramTypes(ctx, plan.Tables, plan.Probe)
	if err != nil {
		return nil, fmt.Errorf("type parameters: %w", err)
	}
	return t, nil
}
