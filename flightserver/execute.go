package flightserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// Execute runs sql with args as the principal ctx carries, exactly as a
// Flight SQL client's query runs: admission control, the sandbox, policy,
// the planner, workers, limits, history. The reader streams the result
// endpoint by endpoint; release it to end the query. Report jobs use it.
func (s *Server) Execute(ctx context.Context, sql string, args []any) (array.RecordReader, error) {
	info, err := s.flightInfo(ctx, sql, args, nil, RoutingProxy)
	if err != nil {
		return nil, err
	}
	schema, err := flight.DeserializeSchema(info.Schema, s.mem)
	if err != nil {
		return nil, fmt.Errorf("result schema: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &execReader{srv: s, ctx: ctx, cancel: cancel, schema: schema, endpoints: info.Endpoint}
	r.refs.Store(1)
	return r, nil
}

// execReader reads a query's endpoints in order, each redeemed in-process
// through a pipe of Flight messages.
type execReader struct {
	srv       *Server
	ctx       context.Context
	cancel    context.CancelFunc
	schema    *arrow.Schema
	endpoints []*flight.FlightEndpoint
	next      int
	cur       *flight.Reader
	pipe      *pipeStream
	rec       arrow.RecordBatch
	err       error
	refs      atomic.Int64
}

func (r *execReader) Schema() *arrow.Schema { return r.schema }

func (r *execReader) Retain() { r.refs.Add(1) }

func (r *execReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.closeCurrent()
	r.cancel()
}

func (r *execReader) closeCurrent() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.pipe != nil {
		if err := r.pipe.abandon(); err != nil && r.err == nil && !errors.Is(err, errPipeClosed) {
			r.err = err
		}
		r.pipe = nil
	}
}

func (r *execReader) Err() error { return r.err }

// Record is the deprecated name of RecordBatch.
func (r *execReader) Record() arrow.RecordBatch { return r.rec }

func (r *execReader) RecordBatch() arrow.RecordBatch { return r.rec }

func (r *execReader) Next() bool {
	for r.err == nil {
		if r.cur == nil {
			if r.next == len(r.endpoints) {
				return false
			}
			id, ok := decodeTicket(r.endpoints[r.next].GetTicket().GetTicket())
			if !ok {
				r.err = errors.New("execute: endpoint without a query ticket")
				return false
			}
			r.next++
			r.pipe = newPipeStream(r.ctx)
			go func(p *pipeStream) {
				err := r.srv.doGetQuery(p.ctx, id, p)
				p.finish(err)
			}(r.pipe)
			rdr, err := flight.NewRecordReader(r.pipe, ipc.WithAllocator(r.srv.mem))
			if err != nil {
				r.closeCurrent()
				if r.err == nil {
					r.err = fmt.Errorf("execute: open result stream: %w", err)
				}
				return false
			}
			r.cur = rdr
		}
		if r.cur.Next() {
			r.rec = r.cur.RecordBatch()
			return true
		}
		if err := r.cur.Err(); err != nil && !errors.Is(err, io.EOF) {
			r.err = err
		}
		r.closeCurrent()
	}
	return false
}

var errPipeClosed = errors.New("reader closed")

// pipeStream carries one endpoint's messages from doGetQuery to a reader.
type pipeStream struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	msgs   chan *flight.FlightData
	err    error // the producer's, set before msgs is closed
}

func newPipeStream(ctx context.Context) *pipeStream {
	ctx, cancel := context.WithCancelCause(ctx)
	return &pipeStream{ctx: ctx, cancel: cancel, msgs: make(chan *flight.FlightData, 4)}
}

// Send implements flight.DataStreamWriter. Flight's record writer reuses
// its message and buffers once Send returns, so the pipe keeps a copy.
func (p *pipeStream) Send(fd *flight.FlightData) error {
	select {
	case p.msgs <- cloneData(fd):
		return nil
	case <-p.ctx.Done():
		return context.Cause(p.ctx)
	}
}

// cloneData copies a message whose buffers its writer will reuse.
func cloneData(fd *flight.FlightData) *flight.FlightData {
	return &flight.FlightData{
		FlightDescriptor: fd.FlightDescriptor,
		DataHeader:       bytes.Clone(fd.DataHeader),
		DataBody:         bytes.Clone(fd.DataBody),
		AppMetadata:      bytes.Clone(fd.AppMetadata),
	}
}

// finish ends the stream with the producer's error.
func (p *pipeStream) finish(err error) {
	p.err = err
	close(p.msgs)
}

// abandon stops the producer, waits for it and returns its error.
func (p *pipeStream) abandon() error {
	p.cancel(errPipeClosed)
	for range p.msgs {
	}
	return p.err
}

// Recv implements flight.DataStreamReader.
func (p *pipeStream) Recv() (*flight.FlightData, error) {
	fd, ok := <-p.msgs
	if !ok {
		if p.err != nil {
			return nil, p.err
		}
		return nil, io.EOF
	}
	return fd, nil
}
