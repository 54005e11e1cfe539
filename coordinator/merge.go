package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/workerpool"
)

// partial is one fragment's whole result.
type partial struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	bytes  int64
}

func (p *partial) release() {
	if p == nil {
		return
	}
	for _, r := range p.recs {
		r.Release()
	}
	p.recs = nil
}

// budget is the partials byte limit of one query, shared by its fragments.
type budget struct {
	limit int64
	used  atomic.Int64
}

func (b *budget) take(n int64) error {
	if used := b.used.Add(n); used > b.limit {
		return permanent(fmt.Errorf("%w: fragment results of this query passed %s, the limit (--max-partials-bytes); "+
			"aggregate more, add a LIMIT, or raise the limit", ErrPartialsTooLarge, humanBytes(b.limit)))
	}
	return nil
}

// Merge runs a plan with a merge step: every fragment in parallel, each
// result kept whole until its fragment completes (a fragment retried on
// another worker starts over, so no row is counted twice), then
// plan.Merge.SQL over their union, registered as planner.PartialsTable in
// the coordinator's DuckDB. The merge result is written to out as Flight
// messages, batches compressed with job.Codec (the partials come
// uncompressed: the coordinator decodes them). The merge statement takes
// no bind parameters: the fragments carry them.
func (c *Coordinator) Merge(ctx context.Context, job Job, plan *planner.Plan, out flight.DataStreamWriter) error {
	if plan.Merge == nil {
		return errors.New("merge: plan has no merge step")
	}
	if len(plan.Fragments) == 0 {
		return errors.New("merge: plan has no fragments")
	}
	b := &budget{limit: c.opts.MaxPartialsBytes}
	partials := job.Uncompressed()
	parts, err := fanOut(ctx, c.opts.Parallelism, len(plan.Fragments), func(ctx context.Context, i int) (*partial, error) {
		var p *partial
		ref := fragmentRef{FragmentJob: FragmentJob{Job: partials, Index: i, Fragment: plan.Fragments[i]}}
		err := c.run(ctx, ref, func(ctx context.Context, w *workerpool.Conn, ticket []byte) error {
			var err error
			p, err = c.collect(ctx, w, ticket, b)
			return err
		})
		return p, err
	})
	defer func() {
		for _, p := range parts {
			p.release()
		}
	}()
	if err != nil {
		return err
	}
	schema := parts[0].schema
	var recs []arrow.RecordBatch
	for i, p := range parts {
		if !p.schema.Equal(schema) {
			return fmt.Errorf("merge: fragment %d returned %s, fragment 0 returned %s", i, p.schema, schema)
		}
		recs = append(recs, p.recs...)
	}
	union, err := array.NewRecordReader(schema, recs)
	if err != nil {
		return fmt.Errorf("merge: union of fragment results: %w", err)
	}
	defer union.Release()
	rdr, err := c.opts.DB.QueryArrowOverTables(ctx, map[string]array.RecordReader{planner.PartialsTable: union}, plan.Merge.SQL)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	defer rdr.Release()
	if err := c.write(ctx, rdr, job.Codec, out); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	c.logger.Debug("merge done", "queryID", job.QueryID, "fragments", len(parts), "partialBytes", b.used.Load())
	return nil
}

// collect reads one attempt's whole result, charging its bytes to b; a
// failed attempt gives its bytes back.
func (c *Coordinator) collect(ctx context.Context, w *workerpool.Conn, ticket []byte, b *budget) (p *partial, err error) {
	ws, stop, err := c.open(ctx, w, ticket)
	if err != nil {
		return nil, err
	}
	defer stop()
	cs := &chargedStream{workerStream: ws, budget: b}
	defer func() {
		if err != nil {
			b.used.Add(-cs.bytes)
			p.release()
			p = nil
		}
	}()
	rdr, err := flight.NewRecordReader(cs, ipc.WithAllocator(c.mem))
	if err != nil {
		return nil, cs.cause(err)
	}
	defer rdr.Release()
	p = &partial{schema: rdr.Schema()}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		p.recs = append(p.recs, rec)
	}
	if err := rdr.Err(); err != nil {
		return p, cs.cause(err)
	}
	p.bytes = cs.bytes
	for _, rec := range p.recs {
		countsOf(ctx).rows.Add(rec.NumRows())
	}
	return p, nil
}

// chargedStream charges every message's size to a budget.
type chargedStream struct {
	*workerStream
	budget *budget
	bytes  int64
	err    error
}

func (s *chargedStream) Recv() (*flight.FlightData, error) {
	fd, err := s.workerStream.Recv()
	if err != nil {
		s.err = err
		return nil, err
	}
	n := int64(len(fd.DataBody) + len(fd.DataHeader))
	s.bytes += n
	if err := s.budget.take(n); err != nil {
		s.err = err
		return nil, err
	}
	return fd, nil
}

// cause returns the stream's own error rather than the IPC reader's
// wrapping of it, so its status code and kind survive.
func (s *chargedStream) cause(err error) error {
	if s.err != nil {
		return s.err
	}
	return permanent(fmt.Errorf("decode fragment result: %w", err))
}

func arrowSize(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		for _, buf := range col.Data().Buffers() {
			if buf != nil {
				n += int64(buf.Len())
			}
		}
	}
	return n
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// write streams rdr to out, batches compressed with codec, reporting rows
// to the context's trace.
func (c *Coordinator) write(ctx context.Context, rdr array.RecordReader, codec flightwire.Compression, out flight.DataStreamWriter) error {
	w := flight.NewRecordWriter(out, append(codec.WriterOptions(), ipc.WithSchema(rdr.Schema()), ipc.WithAllocator(c.mem))...)
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if err := traceOf(ctx).rows(rec.NumRows()); err != nil {
			_ = w.Close() // the error above is the one to report
			return err
		}
		if err := w.Write(rec); err != nil {
			_ = w.Close() // the error above is the one to report
			return fmt.Errorf("send batch: %w", err)
		}
		c.bytes.Add(float64(arrowSize(rec)))
	}
	if err := rdr.Err(); err != nil {
		_ = w.Close() // the error above is the one to report
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("finish stream: %w", err)
	}
	return nil
}

// Local runs a local plan's statement on the coordinator's DuckDB over
// tables (system tables' rows, by planner.LocalTableName).
func (c *Coordinator) Local(ctx context.Context, sql string, tables map[string]array.RecordReader, args []any, out flight.DataStreamWriter) error {
	rdr, err := c.opts.DB.QueryArrowOverTables(ctx, tables, sql, args...)
	if err != nil {
		return fmt.Errorf("system query: %w", err)
	}
	defer rdr.Release()
	return c.write(ctx, rdr, flightwire.Uncompressed, out)
}
