package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
)

// Querier runs SQL and streams Arrow; *engine.DB is one.
type Querier interface {
	QueryArrow(ctx context.Context, query string, args ...any) (array.RecordReader, error)
}

// ServerOptions configure a worker's Flight service.
type ServerOptions struct {
	DB     Querier
	Signer *Signer
	// BatchRows is how many rows a streamed batch holds at least (DuckDB
	// produces 2048-row chunks; fewer, larger messages stream faster);
	// default 65536, 1 disables coalescing.
	BatchRows int64
	// Prepare runs before each fragment (e.g. refreshing S3 credentials); nil skips it.
	Prepare    func(ctx context.Context) error
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Server is the worker's Flight service: DoGet of signed fragment tickets.
type Server struct {
	flight.BaseFlightServer
	opts      ServerOptions
	logger    *slog.Logger
	fragments *prometheus.CounterVec
	rows      prometheus.Counter
}

// NewServer returns a worker Flight service.
func NewServer(opts ServerOptions) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := promauto.With(opts.Registerer)
	return &Server{
		opts:   opts,
		logger: logger,
		fragments: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_worker_fragments_total", Help: "Fragments served, by outcome.",
		}, []string{"outcome"}),
		rows: reg.NewCounter(prometheus.CounterOpts{
			Name: "quiver_worker_rows_total", Help: "Rows streamed to the coordinator.",
		}),
	}
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
	rows, err := s.run(ctx, f, stream)
	if err != nil {
		s.fragments.WithLabelValues("error").Inc()
		s.logger.Warn("fragment failed", "queryID", f.QueryID, "err", err)
		return toStatus(err)
	}
	s.fragments.WithLabelValues("ok").Inc()
	s.logger.Debug("fragment served", "queryID", f.QueryID, "rows", rows, "duration", time.Since(start))
	return nil
}

func (s *Server) run(ctx context.Context, f Fragment, stream flight.FlightService_DoGetServer) (int64, error) {
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
	out := &lockedStream{stream: stream}
	if f.Heartbeat > 0 {
		stop := out.heartbeat(time.Duration(f.Heartbeat) * time.Millisecond)
		defer stop()
	}
	rdr, err := s.opts.DB.QueryArrow(ctx, f.SQL, args...)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	w := flight.NewRecordWriter(out, ipc.WithSchema(rdr.Schema()))
	var rows int64
	send := func(rec arrow.RecordBatch) error {
		defer rec.Release()
		// The offset lets the coordinator resume a re-run of this fragment
		// on another worker exactly where this stream broke off.
		meta := BatchMeta{Offset: rows, Rows: rec.NumRows()}
		if err := w.WriteWithAppMetadata(rec, meta.Encode()); err != nil {
			return fmt.Errorf("send batch: %w", err)
		}
		rows += rec.NumRows()
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
			w.Close()
			return rows, err
		}
	}
	if err := rdr.Err(); err != nil {
		co.release()
		w.Close()
		return rows, err
	}
	if rec, err := co.flush(); err != nil || rec != nil {
		if err == nil {
			err = send(rec)
		}
		if err != nil {
			w.Close()
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

// toStatus turns a fragment error into the status the coordinator relays.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	code := engine.Classify(err).Code()
	if errors.Is(err, context.DeadlineExceeded) {
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
