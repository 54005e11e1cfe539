package querycli

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
)

// Errors of the query command. Errors from the server are not among them:
// they are returned wrapped, with their gRPC status intact
// (status.Code(err) still works).
var (
	// ErrFormatConflict means Options.Format contradicts the format the
	// extension of --out names (--format csv --out plays.parquet).
	ErrFormatConflict = errors.New("output format contradicts the file extension")
	// ErrNoSQL means Options.SQL was empty.
	ErrNoSQL = errors.New("no SQL given")
	// ErrBadServer and ErrSchemaMismatch are the client package's.
	ErrBadServer      = client.ErrBadServer
	ErrSchemaMismatch = client.ErrSchemaMismatch
)

// DefaultServer is the address Run connects to when Options.Conn.Server is empty.
const DefaultServer = client.DefaultServer

// Options configures Run.
type Options struct {
	// Conn is where to connect and how to log in.
	Conn client.Options
	// SQL is the query to run.
	SQL string
	// Params are bound to the statement's placeholders ($1, $name).
	Params []client.Param
	// Format is "table" (default), "csv", "json" or "parquet".
	Format string
	// Out receives the result; nil is standard output.
	Out io.Writer
	// MaxRows is how many rows the table format shows; 0 is output.DefaultMaxRows.
	MaxRows int
	// Width is the widest line the table format draws (the terminal's);
	// 0 is 120.
	Width int
}

// allocator is where received batches live.
func (o Options) allocator() memory.Allocator {
	if o.Conn.Allocator == nil {
		return memory.DefaultAllocator
	}
	return o.Conn.Allocator
}

// Run executes opts.SQL on a Flight SQL server, fetches every endpoint of
// the result in order (from the server itself when an endpoint has no
// location, else from the location) and renders them as one stream.
func Run(ctx context.Context, opts Options) error {
	if opts.Format == "" {
		opts.Format = output.FormatTable
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if strings.TrimSpace(opts.SQL) == "" {
		return ErrNoSQL
	}
	if err := output.CheckFormat(opts.Format); err != nil {
		return err
	}
	rdr, release, err := query(ctx, opts)
	if err != nil {
		return err
	}
	defer release()
	return output.RenderOptions(ctx, opts.Out, rdr, output.Options{Format: opts.Format, MaxRows: opts.MaxRows, Width: opts.Width, Allocator: opts.allocator()})
}

// query runs opts.SQL on opts.Conn.Server and returns its result;
// release closes the reader and the connections it used.
func query(ctx context.Context, opts Options) (*client.Result, func(), error) {
	c, err := client.Dial(ctx, opts.Conn)
	if err != nil {
		return nil, nil, err
	}
	rdr, err := c.Query(ctx, opts.SQL, opts.Params...)
	if err != nil {
		_ = c.Close() // the query's error is the one to report
		return nil, nil, err
	}
	return rdr, func() { rdr.Release(); _ = c.Close() }, nil
}
