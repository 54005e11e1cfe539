package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
)

// Querier runs SQL and streams Arrow; *engine.DB is one.
type Querier interface {
	QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error)
}

// ServerOptions configure a worker's Flight service.
type ServerOptions struct {
	DB     Querier
	Signer *fragwire.Signer
	// BatchRows is how many rows a streamed batch holds at least (DuckDB
	// produces 2048-row chunks; fewer, larger messages stream faster);
	// default 65536, 1 disables coalescing.
	BatchRows int64
	// Prepare runs before each fragment (e.g. refreshing S3 credentials); nil skips it.
	Prepare func(ctx context.Context) error
	// Vended installs the S3 credentials a fragment carries for the
	// Iceberg tables it reads; nil (a worker that reads no S3) ignores them.
	Vended *Vended
	// Info is reported by StatusAction and names the limits in
	// out-of-memory errors.
	Info Info
	// TempDir is DuckDB's temp directory, whose size while a fragment
	// runs is the spill its stream's trailer reports; "" reports none.
	TempDir string
	// InterruptGrace is how long a fragment whose caller has gone may take
	// to return before the interrupt is deemed not to have taken and
	// OnStuck is called; default 10s, negative never gives up.
	InterruptGrace time.Duration
	// OnStuck is called (once per stuck fragment, from a goroutine the
	// fragment waits for, so it must not block) when an interrupt did not
	// take. The worker command exits non-zero there; nil only logs.
	OnStuck func(queryID string)
	// IgnoreInterrupts is a test hook: the first IgnoreInterrupts
	// fragments run in DuckDB as if their context could not be canceled,
	// which is what an interrupt that does not take looks like from here.
	IgnoreInterrupts int
	Logger           *slog.Logger
	Registerer       prometheus.Registerer
}

// Server is the worker's Flight service: DoGet of signed fragment tickets.
type Server struct {
	flight.BaseFlightServer
	opts       ServerOptions
	logger     *slog.Logger
	fragments  *prometheus.CounterVec
	rows       prometheus.Counter
	stuck      prometheus.Counter
	oomRetries prometheus.Counter
	// rerun is held by a fragment run again after running out of memory
	// until its statement has returned: two that ran out together and
	// waited for each other go on one after the other, not into the same
	// collision again.
	rerun      chan struct{}
	mismatches prometheus.Counter
	track      *tracker
	// ignore counts down the IgnoreInterrupts test hook.
	ignore atomic.Int64
}

// NewServer returns a worker Flight service.
func NewServer(opts ServerOptions) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.InterruptGrace == 0 {
		opts.InterruptGrace = 10 * time.Second
	}
	reg := promauto.With(opts.Registerer)
	s := &Server{
		opts:   opts,
		logger: logger,
		track:  newTracker(),
		rerun:  make(chan struct{}, 1),
		fragments: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_worker_fragments_total", Help: "Fragments served, by outcome.",
		}, []string{"outcome"}),
		rows: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_worker_rows_total", Help: "Rows streamed to the coordinator.",
		}),
		stuck: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_worker_interrupts_stuck_total", Help: "Canceled fragments still running after the interrupt grace period.",
		}),
	}
	s.oomRetries = reg.NewCounter(prometheus.CounterOpts{
		Name: "quiver_worker_oom_retries_total", Help: "Fragments run again after running out of memory while other fragments shared the worker.",
	})
	s.mismatches = reg.NewCounter(prometheus.CounterOpts{
		Name: "quiver_schema_mismatch_total", Help: "Fragments stopped before their first batch because their schema differed from the one announced to the client.",
	})
	reg.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quiver_worker_fragments_running", Help: "Fragments executing or streaming now.",
	}, func() float64 { return float64(s.track.count()) })
	if opts.IgnoreInterrupts > 0 {
		s.ignore.Store(int64(opts.IgnoreInterrupts))
		logger.Warn("test hook: the interrupts of the first fragments will be ignored", "fragments", opts.IgnoreInterrupts)
	}
	return s
}

// DoGet runs one fragment and streams its result.
func (s *Server) DoGet(tkt *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	ctx := stream.Context()
	start := time.Now()
	f, err := s.opts.Signer.Verify(tkt.GetTicket())
	if err != nil {
		s.fragments.WithLabelValues("refused").Inc()
		return status.Error(codes.Unauthenticated, err.Error())
	}
	r, err := s.track.start(f.QueryID)
	if err != nil {
		s.fragments.WithLabelValues("draining").Inc()
		return status.Error(codes.Unavailable, "worker draining: it is shutting down and takes no new fragments; run this one on another worker")
	}
	stopWatch := s.watchInterrupt(ctx, r)
	cpu := processCPU()
	spill := watchSpill(s.opts.TempDir)
	rows, err := s.run(ctx, f, stream, r)
	spilled := spill.end()
	stopWatch()
	s.track.finish(r)
	if err != nil {
		if ctx.Err() != nil {
			s.fragments.WithLabelValues("canceled").Inc()
			s.logger.Info("fragment canceled", "queryID", f.QueryID, "rows", rows, "duration", time.Since(start), "err", err)
		} else {
			s.fragments.WithLabelValues("error").Inc()
			s.logger.Warn("fragment failed", "queryID", f.QueryID, "err", err)
		}
		return s.toStatus(err, f)
	}
	s.fragments.WithLabelValues("ok").Inc()
	stream.SetTrailer(metadata.Join(cpuTrailer(cpu), metadata.Pairs(fragwire.SpillTrailer, strconv.FormatInt(spilled, 10))))
	s.logger.Debug("fragment served", "queryID", f.QueryID, "rows", rows, "duration", time.Since(start))
	return nil
}

func (s *Server) run(ctx context.Context, f fragwire.Fragment, stream flight.FlightService_DoGetServer, r *fragmentRun) (int64, error) {
	args := make([]any, len(f.Args))
	for i, a := range f.Args {
		v, err := a.Decode()
		if err != nil {
			return 0, fmt.Errorf("fragment argument %d: %w", i+1, err)
		}
		args[i] = v
	}
	if s.opts.Prepare != nil {
		if err := s.opts.Prepare(ctx); err != nil {
			return 0, err
		}
	}
	if s.opts.Vended != nil && len(f.Credentials) > 0 {
		if err := s.opts.Vended.Apply(ctx, f.Credentials); err != nil {
			return 0, err
		}
	}
	out := &lockedStream{stream: stream}
	if f.Heartbeat > 0 {
		stop := out.heartbeat(time.Duration(f.Heartbeat) * time.Millisecond)
		defer stop()
	}
	qctx := ctx
	if s.ignore.Add(-1) >= 0 {
		// Test hook: DuckDB never hears of the cancel.
		qctx = context.WithoutCancel(ctx)
		s.logger.Warn("test hook: ignoring the interrupt of this fragment", "queryID", f.QueryID)
	}
	rdr, err := s.query(ctx, qctx, r, f.SQL, args)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	if err := s.checkSchema(f, rdr.Schema()); err != nil {
		return 0, err
	}
	w := flight.NewRecordWriter(out, append(f.Compression.WriterOptions(), ipc.WithSchema(rdr.Schema()))...)
	var rows int64
	send := func(rec arrow.RecordBatch) error {
		defer rec.Release()
		// The offset lets the coordinator resume a re-run of this fragment
		// on another worker exactly where this stream broke off.
		meta := fragwire.BatchMeta{Offset: rows, Rows: rec.NumRows()}
		if err := w.WriteWithAppMetadata(rec, meta.Encode()); err != nil {
			return fmt.Errorf("send batch: %w", err)
		}
		rows += rec.NumRows()
		r.rows.Store(rows)
		s.rows.Add(float64(rec.NumRows()))
		return nil
	}
	co := newCoalescer(rdr.Schema(), s.opts.BatchRows)
	for rdr.Next() {
		rec, err := co.add(rdr.RecordBatch())
		if err == nil && rec != nil {
			err = send(rec)
		}
		if err != nil {
			co.release()
			_ = w.Close() // the error above is the one to report
			return rows, err
		}
	}
	if err := rdr.Err(); err != nil {
		co.release()
		_ = w.Close() // the error above is the one to report
		return rows, err
	}
	if rec, err := co.flush(); err != nil || rec != nil {
		if err == nil {
			err = send(rec)
		}
		if err != nil {
			_ = w.Close() // the error above is the one to report
			return rows, err
		}
	}
	// Close writes the schema when there were no batches, so an empty
	// result still tells the client its columns.
	if err := w.Close(); err != nil {
		return rows, fmt.Errorf("finish stream: %w", err)
	}
	return rows, nil
}

// checkSchema holds a directly fetched fragment to the schema its client
// was announced, carried in the signed ticket.
func (s *Server) checkSchema(f fragwire.Fragment, got *arrow.Schema) error {
	if len(f.Schema) == 0 {
		return nil
	}
	want, err := flight.DeserializeSchema(f.Schema, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("fragment ticket schema: %w", err)
	}
	if err := fragwire.CheckSchema(want, got); err != nil {
		s.mismatches.Inc()
		s.logger.Error("fragment schema differs from the announced schema", "queryID", f.QueryID, "sql", f.SQL, "err", err)
		return status.Error(codes.Internal, err.Error())
	}
	return nil
}

// toStatus turns a fragment error into the status the coordinator relays,
// or, for a ticket the client redeems directly, the client reads: then
// the message quotes the client's statement (planner.ErrorText), as the
// coordinator's would.
func (s *Server) toStatus(err error, f fragwire.Fragment) error {
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err
	}
	kind := engine.Classify(err)
	code := flightwire.Code(kind)
	msg := err.Error()
	if kind == errkind.Exhausted {
		msg = s.outOfMemory(err)
	}
	if f.Statement != "" {
		msg = planner.ErrorText{SQL: f.Statement, Rendered: []string{f.SQL}}.Message(msg)
	}
	return status.Error(code, msg)
}

// outOfMemory names the limits a fragment hit. DuckDB's own message ends
// with advice to SET settings the sandbox has locked; only its first line,
// which says what could not be allocated, is kept.
func (s *Server) outOfMemory(err error) string {
	first := firstLine(err)
	limit, spill := s.opts.Info.MemoryLimit, s.opts.Info.MaxTempSize
	if limit == "" {
		limit = "DuckDB's default"
	}
	if spill == "" {
		spill = "DuckDB's default"
	}
	return fmt.Sprintf("fragment exceeded the worker's memory: memory_limit is %s and spilling to disk is capped at %s (max_temp_directory_size); "+
		"the query needs less memory (fewer groups, a narrower sort, a filter) or workers with a larger --memory-limit / --max-temp-size: %s",
		limit, spill, first)
}

// firstLine is the first line of err's message.
func firstLine(err error) string {
	first, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(first)
}
