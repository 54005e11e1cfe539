package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/workerpool"
)

// exchangeMetrics count what exchanges wrote into the spool.
type exchangeMetrics struct {
	producers *prometheus.CounterVec
	rows      prometheus.Counter
	files     prometheus.Counter
	bytes     prometheus.Counter
	swept     prometheus.Counter
}

func newExchangeMetrics(reg prometheus.Registerer) *exchangeMetrics {
	f := promauto.With(reg)
	return &exchangeMetrics{
		producers: f.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_exchange_producers_total", Help: "Exchange producers run, by outcome (ok, error, canceled).",
		}, []string{"outcome"}),
		rows: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_exchange_rows_total", Help: "Rows exchange producers wrote into the spool.",
		}),
		files: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_exchange_files_total", Help: "Parquet files exchange producers wrote into the spool.",
		}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_exchange_bytes_total", Help: "Bytes of the Parquet files exchange producers wrote into the spool.",
		}),
		swept: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_spool_swept_total", Help: "Spool directories of queries no coordinator released, deleted by the sweeper.",
		}),
	}
}

// Exchange runs the producers of every exchange of a round of a plan
// (planner.Plan.Next), at most Options.Parallelism at once, and returns
// where their rows went: parts[x][p] are the files (URIs as DuckDB reads
// them, sorted) of part p of the round's exchange x, for Plan.Bind; a part
// no row hashed to has none.
//
// Each producer's SELECT becomes a COPY into the spool partitioned by
// planner.PartitionColumn (engine.CopyPartitioned), and each attempt of it
// writes a directory of its own: a producer whose worker fails is run
// again elsewhere, like any fragment, and only the attempt that succeeded
// is read. The files stay until Release, which the caller owes the query
// however Exchange ended; the first error cancels the other producers.
// A query's later rounds (round.First > 0) add to the spool its first
// round created. job.Codec is not used: producers send the coordinator
// lists of files, not the client's batches.
func (c *Coordinator) Exchange(ctx context.Context, job Job, round *planner.Round) ([][][]string, error) {
	queryID := job.QueryID
	producerJob := job.Uncompressed()
	if round == nil || len(round.Exchanges) == 0 {
		return nil, nil
	}
	if c.opts.Spool == nil {
		return nil, fmt.Errorf("exchange: %w", ErrNoSpool)
	}
	if err := checkQueryID(queryID); err != nil {
		return nil, err
	}
	parts := round.Parts
	if parts <= 0 {
		return nil, errors.New("exchange: the round has no parts to write")
	}
	type producer struct{ x, p int }
	var producers []producer
	for x, ex := range round.Exchanges {
		if len(ex.Producers) == 0 {
			return nil, fmt.Errorf("exchange %d (%s): no producers", round.First+x, ex.Table)
		}
		for p := range ex.Producers {
			producers = append(producers, producer{x, p})
		}
	}
	switch added := c.spools.add(queryID, time.Now()); {
	case !added && round.First == 0:
		return nil, fmt.Errorf("exchange: query %s has run its exchanges already; Release it first", queryID)
	case added:
		if err := c.writeMarker(ctx, queryID); err != nil {
			c.spools.remove(queryID)
			return nil, err
		}
	}
	codec := c.spoolCodec()
	start := time.Now()
	written, err := fanOut(ctx, c.opts.Parallelism, len(producers), func(ctx context.Context, i int) ([]engine.CopiedFile, error) {
		pr := producers[i]
		return c.produce(ctx, FragmentJob{Job: producerJob, Index: pr.p, Fragment: round.Exchanges[pr.x].Producers[pr.p]}, round.First+pr.x, parts, codec)
	})
	if err != nil {
		return nil, err
	}
	out := make([][][]string, len(round.Exchanges))
	type totals struct{ rows, files, bytes int64 }
	sums := make([]totals, len(round.Exchanges))
	for x := range out {
		out[x] = make([][]string, parts)
		for p := range out[x] {
			out[x][p] = []string{}
		}
	}
	for i, files := range written {
		x := producers[i].x
		for _, f := range files {
			k, _ := strconv.Atoi(f.Partition[planner.PartitionColumn]) // checked by produce
			out[x][k] = append(out[x][k], f.URI)
			sums[x].rows += f.Rows
			sums[x].files++
			sums[x].bytes += f.Bytes
		}
	}
	for x, ex := range round.Exchanges {
		for p := range out[x] {
			sort.Strings(out[x][p])
		}
		c.exchange.rows.Add(float64(sums[x].rows))
		c.exchange.files.Add(float64(sums[x].files))
		c.exchange.bytes.Add(float64(sums[x].bytes))
		traceOf(ctx).spooled(sums[x].rows, sums[x].bytes)
		c.logger.Info("exchange written", "queryID", queryID, "exchange", round.First+x, "table", ex.Table, "keys", ex.Keys,
			"producers", len(ex.Producers), "parts", parts, "rows", sums[x].rows, "files", sums[x].files,
			"bytes", sums[x].bytes, "codec", string(codec), "duration", time.Since(start))
	}
	return out, nil
}

// produce runs producer job.Index of exchange x until one attempt wrote
// its parts and returns that attempt's files, each checked to lie in the
// attempt's directory and to belong to a part 0 … parts-1.
func (c *Coordinator) produce(ctx context.Context, job FragmentJob, x, parts int, codec engine.ParquetCodec) (files []engine.CopiedFile, err error) {
	queryID, p, frag := job.QueryID, job.Index, job.Fragment
	defer func() {
		switch {
		case err == nil:
			c.exchange.producers.WithLabelValues("ok").Inc()
		case ctx.Err() != nil:
			c.exchange.producers.WithLabelValues("canceled").Inc()
		default:
			c.exchange.producers.WithLabelValues("error").Inc()
		}
	}()
	// target is the directory of the attempt running now: run renders an
	// attempt's statement and then runs it, one attempt after the other.
	var target string
	ref := fragmentRef{FragmentJob: job, producer: true, exchange: x, render: func(n int) string {
		target = c.opts.Spool.URI(attemptKey(queryID, x, p, n))
		return engine.CopyPartitioned(frag.SQL, target, planner.PartitionColumn, codec)
	}}
	err = c.run(ctx, ref, func(ctx context.Context, w *workerpool.Conn, ticket []byte) error {
		got, err := c.copied(ctx, w, ticket)
		if err != nil {
			return err
		}
		for _, f := range got {
			if !strings.HasPrefix(f.URI, target+"/") {
				return permanent(fmt.Errorf("exchange %d producer %d: worker %s wrote %s, outside the attempt's directory %s", x, p, w.Addr, f.URI, target))
			}
			v := f.Partition[planner.PartitionColumn]
			if k, err := strconv.Atoi(v); err != nil || k < 0 || k >= parts {
				return permanent(fmt.Errorf("exchange %d producer %d: rows with %s = %q, want 0 to %d", x, p, planner.PartitionColumn, v, parts-1))
			}
		}
		files = got
		counts := countsOf(ctx)
		counts.rows.Store(0)
		counts.bytes.Store(0)
		for _, f := range got {
			counts.rows.Add(f.Rows)
			counts.bytes.Add(f.Bytes)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("exchange %d producer %d: %w", x, p, err)
	}
	return files, nil
}

// copied reads one attempt's result: the files its COPY wrote.
func (c *Coordinator) copied(ctx context.Context, w *workerpool.Conn, ticket []byte) ([]engine.CopiedFile, error) {
	ws, stop, err := c.open(ctx, w, ticket)
	if err != nil {
		return nil, err
	}
	defer stop()
	rs := &recordedStream{workerStream: ws}
	rdr, err := flight.NewRecordReader(rs, ipc.WithAllocator(c.mem))
	if err != nil {
		return nil, rs.cause(err)
	}
	defer rdr.Release()
	files, err := engine.CopiedFiles(rdr)
	if err != nil {
		return nil, rs.cause(err)
	}
	return files, nil
}

// recordedStream keeps the worker stream's own error, so its status code
// and kind survive the IPC reader's wrapping.
type recordedStream struct {
	*workerStream
	err error
}

func (s *recordedStream) Recv() (*flight.FlightData, error) {
	fd, err := s.workerStream.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return fd, err
}

func (s *recordedStream) cause(err error) error {
	if s.err != nil {
		return s.err
	}
	return permanent(fmt.Errorf("read producer result: %w", err))
}

// spoolCodec compresses spool files on S3 only. Locally they are written,
// read once (from the page cache, most likely) and deleted, and
// compressing costs CPU on the write that dominates an exchange (0.25–0.39
// s uncompressed against 0.32–0.39 s snappy for 6M rows, engine's
// ParquetCodec); on S3 every byte is uploaded and downloaded once, and
// snappy makes 2.4 times fewer of them (40 MB against 96 MB). Snappy
// rather than lz4_raw: the same size and speed within noise, and DuckDB's
// default.
func (c *Coordinator) spoolCodec() engine.ParquetCodec {
	if strings.HasPrefix(c.opts.Spool.URI(spoolDir), "s3://") {
		return engine.ParquetSnappy
	}
	return engine.ParquetUncompressed
}
