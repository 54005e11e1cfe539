package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Result is a query result held as Arrow record batches. Release it when
// done.
type Result struct {
	Schema  *arrow.Schema
	Records []arrow.RecordBatch
}

// NumRows is the total row count over all batches.
func (r *Result) NumRows() int64 {
	var n int64
	for _, rec := range r.Records {
		n += rec.NumRows()
	}
	return n
}

// Release releases every batch.
func (r *Result) Release() {
	if r == nil {
		return
	}
	for _, rec := range r.Records {
		rec.Release()
	}
	r.Records = nil
}

// Table views the result as an arrow.Table (the caller releases it).
func (r *Result) Table() arrow.Table {
	return array.NewTableFromRecords(r.Schema, r.Records)
}

// appendReader drains rdr into r, retaining each batch, and checks that every
// stream has the same schema.
func (r *Result) appendReader(rdr array.RecordReader) error {
	if r.Schema == nil {
		r.Schema = rdr.Schema()
	} else if !r.Schema.Equal(rdr.Schema()) {
		return fmt.Errorf("stream schema %s differs from first stream's %s", rdr.Schema(), r.Schema)
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		r.Records = append(r.Records, rec)
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ReadAll drains a record reader into a Result.
func ReadAll(rdr array.RecordReader) (*Result, error) {
	res := &Result{}
	if err := res.appendReader(rdr); err != nil {
		res.Release()
		return nil, err
	}
	return res, nil
}

// MaxRecvMsgSize is the largest Flight message the test clients accept:
// gRPC's default of 4 MiB is less than one 64K-row batch of a wide table.
const MaxRecvMsgSize = 256 << 20

// DialFlightSQL opens an insecure Flight SQL client to addr (host:port).
func DialFlightSQL(addr string, mem memory.Allocator) (*flightsql.Client, error) {
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvMsgSize)))
	if err != nil {
		return nil, fmt.Errorf("dial flight sql %s: %w", addr, err)
	}
	if mem != nil {
		cl.Alloc = mem
	}
	return cl, nil
}

// FetchAll runs DoGet for every endpoint of info, in order, and concatenates
// the streams. An endpoint with no location (or the reuse-connection
// location) is fetched from cl; otherwise from its first location.
func FetchAll(ctx context.Context, cl *flightsql.Client, info *flight.FlightInfo) (*Result, error) {
	res := &Result{}
	for i, ep := range info.GetEndpoint() {
		if err := fetchEndpoint(ctx, cl, ep, res); err != nil {
			res.Release()
			return nil, fmt.Errorf("endpoint %d of %d: %w", i+1, len(info.GetEndpoint()), err)
		}
	}
	if res.Schema == nil {
		// No endpoint produced a stream: the schema comes from the info.
		schema, err := flight.DeserializeSchema(info.GetSchema(), cl.Alloc)
		if err != nil {
			return nil, fmt.Errorf("decode flight info schema: %w", err)
		}
		res.Schema = schema
	}
	return res, nil
}

func fetchEndpoint(ctx context.Context, cl *flightsql.Client, ep *flight.FlightEndpoint, res *Result) error {
	target := cl
	if locs := ep.GetLocation(); len(locs) > 0 && locs[0].GetUri() != flight.LocationReuseConnection {
		addr, err := locationAddr(locs[0].GetUri())
		if err != nil {
			return err
		}
		other, err := DialFlightSQL(addr, cl.Alloc)
		if err != nil {
			return err
		}
		defer func() { _ = other.Close() }()
		target = other
	}
	rdr, err := target.DoGet(ctx, ep.GetTicket())
	if err != nil {
		return fmt.Errorf("do get: %w", err)
	}
	defer rdr.Release()
	return res.appendReader(rdr)
}

// locationAddr turns grpc://host:port or grpc+tcp://host:port into host:port.
func locationAddr(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("parse location %q: %w", uri, err)
	}
	switch u.Scheme {
	case "grpc", "grpc+tcp":
		return u.Host, nil
	default:
		return "", fmt.Errorf("location %q: unsupported scheme %q", uri, u.Scheme)
	}
}

// RunFlightSQL executes query with a Flight SQL client (GetFlightInfo, then
// DoGet of every endpoint).
func RunFlightSQL(ctx context.Context, cl *flightsql.Client, query string) (*Result, error) {
	info, err := cl.Execute(ctx, query)
	if err != nil {
		return nil, err
	}
	return FetchAll(ctx, cl, info)
}
