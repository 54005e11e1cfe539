package querycli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/quiver-data/quiver/output"
)

// Errors of the query command. Errors from the server are not among them:
// they are returned wrapped, with their gRPC status intact
// (status.Code(err) still works).
var (
	// ErrFormatConflict means Options.Format contradicts the format the
	// extension of --out names (--format csv --out plays.parquet).
	ErrFormatConflict = errors.New("output format contradicts the file extension")
	// ErrBadServer means a server address or endpoint location could not be
	// understood.
	ErrBadServer = errors.New("bad server address")
	// ErrNoSQL means Options.SQL was empty.
	ErrNoSQL = errors.New("no SQL given")
	// ErrSchemaMismatch means two endpoints of one result streamed
	// different schemas.
	ErrSchemaMismatch = errors.New("endpoints returned different schemas")
)

// DefaultServer is the address Run connects to when Options.Server is empty.
const DefaultServer = "127.0.0.1:8815"

// Options configures Run.
type Options struct {
	// Server is "host:port" (plaintext), "grpc://host:port",
	// "grpc+tcp://host:port" or "grpc+tls://host:port"; "" is DefaultServer.
	Server string
	// SQL is the query to run.
	SQL string
	// Format is "table" (default), "csv", "json" or "parquet".
	Format string
	// Out receives the result; nil is standard output.
	Out io.Writer
	// Token, when set, is sent as "authorization: Bearer <token>".
	Token string
	// MaxRows is how many rows the table format shows; 0 is output.DefaultMaxRows.
	MaxRows int
	// Allocator holds the received batches; nil is memory.DefaultAllocator.
	Allocator memory.Allocator
}

// Run executes opts.SQL on a Flight SQL server, fetches every endpoint of
// the result in order (from the server itself when an endpoint has no
// location, else from the location) and renders them as one stream.
func Run(ctx context.Context, opts Options) error {
	if opts.Server == "" {
		opts.Server = DefaultServer
	}
	if opts.Format == "" {
		opts.Format = output.FormatTable
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
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
	return output.RenderWith(ctx, opts.Out, opts.Format, rdr, opts.MaxRows, opts.Allocator)
}

// execute runs opts.SQL on target and returns a reader over every
// endpoint of the result.
// query runs opts.SQL on opts.Server (with opts.Token) and returns its
// result; release closes the reader and the connections it used.
func query(ctx context.Context, opts Options) (*endpointReader, func(), error) {
	target, err := parseServer(opts.Server)
	if err != nil {
		return nil, nil, err
	}
	if opts.Token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+opts.Token)
	}
	d := &dialer{mem: opts.Allocator, clients: map[server]*flightsql.Client{}}
	rdr, err := execute(ctx, d, target, opts)
	if err != nil {
		d.close()
		return nil, nil, err
	}
	return rdr, func() { rdr.Release(); d.close() }, nil
}

func execute(ctx context.Context, d *dialer, target server, opts Options) (*endpointReader, error) {
	client, err := d.dial(target)
	if err != nil {
		return nil, err
	}
	info, err := client.Execute(ctx, opts.SQL)
	if err != nil {
		return nil, fmt.Errorf("execute query on %s: %w", opts.Server, err)
	}
	return newEndpointReader(ctx, client, d, info, opts.Allocator)
}

// server is a parsed address: where to dial and whether to use TLS.
type server struct {
	addr string
	tls  bool
}

// parseServer accepts "host:port" (plaintext, as grpc://) and the grpc,
// grpc+tcp and grpc+tls URIs Flight uses for locations — the forms the
// Python client's connect(uri) accepts too.
func parseServer(s string) (server, error) {
	if !strings.Contains(s, "://") {
		if host, port, err := net.SplitHostPort(s); err != nil || host == "" || port == "" {
			return server{}, fmt.Errorf("%w: %q (want host:port, grpc://host:port or grpc+tls://host:port)", ErrBadServer, s)
		}
		return server{addr: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return server{}, fmt.Errorf("%w: %q: %w", ErrBadServer, s, err)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return server{}, fmt.Errorf("%w: %q has no host:port", ErrBadServer, s)
	}
	switch u.Scheme {
	case "grpc", "grpc+tcp":
		return server{addr: u.Host}, nil
	case "grpc+tls":
		return server{addr: u.Host, tls: true}, nil
	default:
		return server{}, fmt.Errorf("%w: %q: unsupported scheme %q", ErrBadServer, s, u.Scheme)
	}
}

// dialer opens one Flight SQL client per server and closes them all at the
// end, so endpoints on the same location share a connection.
type dialer struct {
	mem     memory.Allocator
	clients map[server]*flightsql.Client
}

func (d *dialer) dial(s server) (*flightsql.Client, error) {
	if c, ok := d.clients[s]; ok {
		return c, nil
	}
	creds := insecure.NewCredentials()
	if s.tls {
		creds = credentials.NewClientTLSFromCert(nil, "") // system roots
	}
	// Workers send batches of up to a few MiB; grpc-go refuses more than 4 MiB by default.
	c, err := flightsql.NewClient(s.addr, nil, nil, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.addr, err)
	}
	c.Alloc = d.mem
	d.clients[s] = c
	return c, nil
}

func (d *dialer) close() {
	for _, c := range d.clients {
		_ = c.Close() // nothing useful to do about a failed close
	}
}
