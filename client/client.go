package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// DefaultServer is the address Dial connects to when Options.Server is empty.
const DefaultServer = "127.0.0.1:8815"

// Errors of the client itself; errors from the server keep their gRPC status.
var (
	// ErrBadServer means a server address or endpoint location could not be
	// understood.
	ErrBadServer = errors.New("bad server address")
	// ErrBadOptions means the connection options contradict each other or
	// name files that cannot be used.
	ErrBadOptions = errors.New("bad connection options")
	// ErrSchemaMismatch means two endpoints of one result streamed
	// different schemas.
	ErrSchemaMismatch = errors.New("endpoints returned different schemas")
	// ErrBadParameter means a --param could not be bound to the statement.
	ErrBadParameter = errors.New("bad parameter")
)

// maxRecvMsg bounds one received message: workers send batches of up to a
// few MiB, and grpc-go refuses more than 4 MiB by default.
const maxRecvMsg = 256 << 20

// Options configures Dial.
type Options struct {
	// Server is "host:port" (plaintext), "grpc://host:port",
	// "grpc+tcp://host:port" or "grpc+tls://host:port"; "" is DefaultServer.
	Server string
	// Token, when set, is sent as "authorization: Bearer <token>".
	Token string
	// Username and Password log in once through the Flight handshake; the
	// server's bearer token is then sent with every call. Not with Token.
	Username, Password string
	// TLSCA is a PEM file of the CAs that sign the server's certificate
	// (default: the system's roots). TLSCert and TLSKey are PEM files of a
	// client certificate for mutual TLS; both or neither.
	TLSCA, TLSCert, TLSKey string
	// Allocator holds received batches; nil is memory.DefaultAllocator.
	Allocator memory.Allocator
}

// Conn is a connection to one server, with the connections to the
// locations its results name. It is safe for concurrent use.
type Conn struct {
	opts   Options
	home   target
	tls    *tls.Config // nil for plaintext locations only; used for grpc+tls ones
	auth   string      // the authorization header value, "" for none
	mu     sync.Mutex
	flight map[target]*flightsql.Client
}

// target is a parsed address: where to dial and whether to use TLS.
type target struct {
	addr string
	tls  bool
}

// Dial connects to opts.Server. With a username it logs in at once, so a
// wrong password or an unreachable server is reported here; otherwise the
// connection is made by the first call.
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	if opts.Server == "" {
		opts.Server = DefaultServer
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	home, err := parseServer(opts.Server)
	if err != nil {
		return nil, err
	}
	if opts.Token != "" && opts.Username != "" {
		return nil, fmt.Errorf("%w: give a token or a username and password, not both", ErrBadOptions)
	}
	if opts.Password != "" && opts.Username == "" {
		return nil, fmt.Errorf("%w: a password needs a username", ErrBadOptions)
	}
	tlsConf, err := tlsConfig(opts)
	if err != nil {
		return nil, err
	}
	if !home.tls && (opts.TLSCA != "" || opts.TLSCert != "") {
		return nil, fmt.Errorf("%w: TLS options given for the plaintext address %s (use grpc+tls://%s)", ErrBadOptions, opts.Server, home.addr)
	}
	c := &Conn{opts: opts, home: home, tls: tlsConf, flight: map[target]*flightsql.Client{}}
	if opts.Token != "" {
		c.auth = "Bearer " + opts.Token
	}
	if opts.Username != "" {
		if err := c.login(ctx); err != nil {
			_ = c.Close() // the login's error is the one to report
			return nil, err
		}
	}
	return c, nil
}

// tlsConfig is the TLS configuration of opts: system roots or TLSCA, and
// the client certificate when given.
func tlsConfig(opts Options) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLSCA != "" {
		pem, err := os.ReadFile(opts.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("%w: read TLS CA: %w", ErrBadOptions, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: TLS CA %s holds no PEM certificate", ErrBadOptions, opts.TLSCA)
		}
		conf.RootCAs = pool
	}
	switch {
	case opts.TLSCert != "" && opts.TLSKey != "":
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("%w: load client certificate: %w", ErrBadOptions, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	case opts.TLSCert != "" || opts.TLSKey != "":
		return nil, fmt.Errorf("%w: a client certificate needs both --tls-cert and --tls-key", ErrBadOptions)
	}
	return conf, nil
}

// login runs the Basic→Bearer handshake and keeps the token it returns.
func (c *Conn) login(ctx context.Context) error {
	fc, err := c.client(c.home)
	if err != nil {
		return err
	}
	authed, err := fc.Client.AuthenticateBasicToken(ctx, c.opts.Username, c.opts.Password)
	if err != nil && strings.Contains(err.Error(), "no authorization header on the response") {
		// arrow-go's words for a handshake answered without a token.
		return fmt.Errorf("%w: log in to %s as %s: the server returned no token; it does not check passwords (no --users-file), so connect without --username",
			ErrBadOptions, c.opts.Server, c.opts.Username)
	}
	if err != nil {
		return c.explain(fmt.Errorf("log in to %s as %s: %w", c.opts.Server, c.opts.Username, err), c.home)
	}
	md, _ := metadata.FromOutgoingContext(authed)
	if v := md.Get("authorization"); len(v) > 0 {
		c.auth = v[len(v)-1]
	}
	return nil
}

// Server is the address the connection was dialed with.
func (c *Conn) Server() string { return c.opts.Server }

// Close closes every connection the Conn opened.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for t, fc := range c.flight {
		if err := fc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close connection to %s: %w", t.addr, err))
		}
		delete(c.flight, t)
	}
	return errors.Join(errs...)
}

// outgoing adds the authorization header to ctx.
func (c *Conn) outgoing(ctx context.Context) context.Context {
	if c.auth == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", c.auth)
}

// client returns the Flight SQL client for t, dialing it the first time.
func (c *Conn) client(t target) (*flightsql.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fc, ok := c.flight[t]; ok {
		return fc, nil
	}
	creds := insecure.NewCredentials()
	if t.tls {
		creds = credentials.NewTLS(c.tls.Clone())
	}
	fc, err := flightsql.NewClient(t.addr, nil, nil, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", t.addr, err)
	}
	fc.Alloc = c.opts.Allocator
	c.flight[t] = fc
	return fc, nil
}

// parseServer accepts "host:port" (plaintext, as grpc://) and the grpc,
// grpc+tcp and grpc+tls URIs Flight uses for locations — the forms the
// Python client's connect(uri) accepts too.
func parseServer(s string) (target, error) {
	if !strings.Contains(s, "://") {
		if host, port, err := net.SplitHostPort(s); err != nil || host == "" || port == "" {
			return target{}, fmt.Errorf("%w: %q (want host:port, grpc://host:port or grpc+tls://host:port)", ErrBadServer, s)
		}
		return target{addr: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("%w: %q: %w", ErrBadServer, s, err)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return target{}, fmt.Errorf("%w: %q has no host:port", ErrBadServer, s)
	}
	switch u.Scheme {
	case "grpc", "grpc+tcp":
		return target{addr: u.Host}, nil
	case "grpc+tls":
		return target{addr: u.Host, tls: true}, nil
	default:
		return target{}, fmt.Errorf("%w: %q: unsupported scheme %q", ErrBadServer, s, u.Scheme)
	}
}
