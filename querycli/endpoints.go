package querycli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// endpointReader is an array.RecordReader over every endpoint of a
// FlightInfo, in order. It opens one DoGet stream at a time, so only the
// batch being rendered is in memory.
type endpointReader struct {
	refs      atomic.Int64
	ctx       context.Context
	home      *flightsql.Client // the server that planned the query
	dialer    *dialer
	endpoints []*flight.FlightEndpoint
	next      int // index of the next endpoint to open
	schema    *arrow.Schema
	cur       *flight.Reader
	rec       arrow.RecordBatch
	ownRec    bool // rec was rebuilt with r.schema and must be released
	err       error
}

var _ array.RecordReader = (*endpointReader)(nil)

// newEndpointReader prepares to read info's endpoints. The schema is the
// FlightInfo's, or the first stream's when the server sent none.
func newEndpointReader(ctx context.Context, home *flightsql.Client, d *dialer, info *flight.FlightInfo, mem memory.Allocator) (*endpointReader, error) {
	r := &endpointReader{ctx: ctx, home: home, dialer: d, endpoints: info.GetEndpoint()}
	r.refs.Store(1)
	if len(info.GetSchema()) > 0 {
		s, err := flight.DeserializeSchema(info.GetSchema(), mem)
		if err != nil {
			return nil, fmt.Errorf("decode result schema: %w", err)
		}
		r.schema = s
	}
	if r.schema == nil {
		if len(r.endpoints) == 0 {
			r.schema = arrow.NewSchema(nil, nil)
			return r, nil
		}
		if err := r.open(); err != nil {
			return nil, err
		}
		r.schema = r.cur.Schema()
	}
	return r, nil
}

// open starts the DoGet of the next endpoint.
func (r *endpointReader) open() error {
	i := r.next
	r.next++
	ep := r.endpoints[i]
	client, err := r.clientFor(ep)
	if err != nil {
		return fmt.Errorf("endpoint %d of %d: %w", i+1, len(r.endpoints), err)
	}
	stream, err := client.DoGet(r.ctx, ep.GetTicket())
	if err != nil {
		return fmt.Errorf("fetch endpoint %d of %d: %w", i+1, len(r.endpoints), err)
	}
	if r.schema != nil && !sameColumns(r.schema, stream.Schema()) {
		stream.Release()
		return fmt.Errorf("endpoint %d of %d: %w: %s, then %s", i+1, len(r.endpoints), ErrSchemaMismatch, r.schema, stream.Schema())
	}
	r.cur = stream
	return nil
}

// clientFor returns the client for an endpoint: the planning server when
// the endpoint has no location (or asks to reuse the connection), else the
// first location with a scheme we can dial.
func (r *endpointReader) clientFor(ep *flight.FlightEndpoint) (*flightsql.Client, error) {
	locs := ep.GetLocation()
	if len(locs) == 0 {
		return r.home, nil
	}
	uris := make([]string, 0, len(locs))
	for _, loc := range locs {
		if loc.GetUri() == flight.LocationReuseConnection {
			return r.home, nil
		}
		s, err := parseServer(loc.GetUri())
		if err != nil {
			uris = append(uris, loc.GetUri())
			continue
		}
		return r.dialer.dial(s)
	}
	return nil, fmt.Errorf("%w: no usable location in %s", ErrBadServer, strings.Join(uris, ", "))
}

// sameColumns reports whether two schemas have the same column names and
// types; metadata and nullability may differ between endpoints.
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func (r *endpointReader) Retain() { r.refs.Add(1) }

func (r *endpointReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.releaseRec()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *endpointReader) Schema() *arrow.Schema { return r.schema }

func (r *endpointReader) Next() bool {
	r.releaseRec()
	for r.err == nil {
		if r.cur == nil {
			if r.next >= len(r.endpoints) {
				return false
			}
			if r.err = r.open(); r.err != nil {
				return false
			}
		}
		if r.cur.Next() {
			r.rec = r.cur.RecordBatch()
			if !r.rec.Schema().Equal(r.schema) {
				// Same columns, other metadata: present one schema to the
				// sinks, which insist on it.
				r.rec = array.NewRecordBatch(r.schema, r.rec.Columns(), r.rec.NumRows())
				r.ownRec = true
			}
			return true
		}
		if err := r.cur.Err(); err != nil && !errors.Is(err, io.EOF) {
			r.err = fmt.Errorf("read endpoint %d of %d: %w", r.next, len(r.endpoints), err)
		}
		r.cur.Release()
		r.cur = nil
	}
	return false
}

func (r *endpointReader) releaseRec() {
	if r.ownRec {
		r.rec.Release()
	}
	r.rec, r.ownRec = nil, false
}

func (r *endpointReader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record is RecordBatch under its deprecated name.
func (r *endpointReader) Record() arrow.RecordBatch { return r.rec }

func (r *endpointReader) Err() error { return r.err }
