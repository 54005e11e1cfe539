package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// Result is an array.RecordReader over every endpoint of a FlightInfo, in
// order. It opens one DoGet stream at a time, so only the batch being
// read is in memory. Release it when done.
type Result struct {
	refs      atomic.Int64
	ctx       context.Context
	conn      *Conn
	info      *flight.FlightInfo
	queryID   string
	endpoints []*flight.FlightEndpoint
	next      int // index of the next endpoint to open
	schema    *arrow.Schema
	cur       *flight.Reader
	rec       arrow.RecordBatch
	ownRec    bool // rec was rebuilt with r.schema and must be released
	err       error
}

var _ array.RecordReader = (*Result)(nil)

// newResult prepares to read info's endpoints. The schema is the
// FlightInfo's, or the first stream's when the server sent none.
func newResult(ctx context.Context, c *Conn, info *flight.FlightInfo) (*Result, error) {
	r := &Result{ctx: ctx, conn: c, info: info, endpoints: info.GetEndpoint(), queryID: queryID(info)}
	r.refs.Store(1)
	if len(info.GetSchema()) > 0 {
		s, err := flight.DeserializeSchema(info.GetSchema(), c.opts.Allocator)
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

// queryID is the "query_id" of a Quiver FlightInfo's app_metadata.
func queryID(info *flight.FlightInfo) string {
	var md struct {
		QueryID string `json:"query_id"`
	}
	if json.Unmarshal(info.GetAppMetadata(), &md) != nil {
		return ""
	}
	return md.QueryID
}

// QueryID is the server's id of the query ("" when it gave none): the
// handle of Progress and CancelQuery.
func (r *Result) QueryID() string { return r.queryID }

// Info is the FlightInfo the result reads.
func (r *Result) Info() *flight.FlightInfo { return r.info }

// open starts the DoGet of the next endpoint.
func (r *Result) open() error {
	i := r.next
	r.next++
	ep := r.endpoints[i]
	fc, t, err := r.clientFor(ep)
	if err != nil {
		return fmt.Errorf("endpoint %d of %d: %w", i+1, len(r.endpoints), err)
	}
	stream, err := fc.DoGet(r.conn.outgoing(r.ctx), ep.GetTicket())
	if err != nil {
		return r.conn.explain(fmt.Errorf("fetch endpoint %d of %d: %w", i+1, len(r.endpoints), err), t)
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
func (r *Result) clientFor(ep *flight.FlightEndpoint) (*flightsql.Client, target, error) {
	locs := ep.GetLocation()
	home := r.conn.home
	if len(locs) == 0 {
		fc, err := r.conn.client(home)
		return fc, home, err
	}
	uris := make([]string, 0, len(locs))
	for _, loc := range locs {
		if loc.GetUri() == flight.LocationReuseConnection {
			fc, err := r.conn.client(home)
			return fc, home, err
		}
		t, err := parseServer(loc.GetUri())
		if err != nil {
			uris = append(uris, loc.GetUri())
			continue
		}
		fc, err := r.conn.client(t)
		return fc, t, err
	}
	return nil, target{}, fmt.Errorf("%w: no usable location in %s", ErrBadServer, strings.Join(uris, ", "))
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

// Retain adds a reference.
func (r *Result) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one closes the open stream.
func (r *Result) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.releaseRec()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

// Schema is the result's schema.
func (r *Result) Schema() *arrow.Schema { return r.schema }

// Next moves to the next batch, opening endpoints as needed.
func (r *Result) Next() bool {
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

func (r *Result) releaseRec() {
	if r.ownRec {
		r.rec.Release()
	}
	r.rec, r.ownRec = nil, false
}

// RecordBatch is the current batch, valid until the next call to Next.
func (r *Result) RecordBatch() arrow.RecordBatch { return r.rec }

// Record is RecordBatch under its deprecated name.
func (r *Result) Record() arrow.RecordBatch { return r.rec }

// Err is the error that ended the stream, nil at its end.
func (r *Result) Err() error { return r.err }
