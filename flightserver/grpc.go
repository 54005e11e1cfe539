package flightserver

import (
	"context"
	"log/slog"
	"net"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/flightwire"
)

// GRPCOptions configure the gRPC server that carries a Flight service.
type GRPCOptions struct {
	// LoopbackOnly refuses every peer that is not on this machine; the
	// default when no authentication is configured.
	LoopbackOnly bool
	Logger       *slog.Logger
	// Extra server options (TLS credentials, message sizes…).
	ServerOptions []grpc.ServerOption
	// Health is the health service to register; nil registers a new one
	// reporting SERVING. Pass one to flip it to NOT_SERVING while draining.
	Health *health.Server
}

// NewGRPCServer returns a gRPC server with svc registered, panic recovery,
// the standard health service and, if asked, a loopback-only guard. Flight
// data messages go through flightwire's codec, which decodes them with at
// most one copy. When svc is Quiver's Flight SQL service (FlightService),
// every error any of its handlers or interceptors returns becomes its gRPC
// status here, once (toStatus); other services (a worker's) answer with
// the statuses they make themselves.
func NewGRPCServer(svc flight.FlightServer, opts GRPCOptions) *grpc.Server {
	logger := opts.Logger
	if logger == nil {
		logger = discardLogger()
	}
	g := &guard{loopbackOnly: opts.LoopbackOnly, logger: logger}
	if _, ok := svc.(*service); ok {
		g.status = toStatus
	}
	sopts := append([]grpc.ServerOption{
		flightwire.New().ServerOption(),
		grpc.ChainUnaryInterceptor(g.unary),
		grpc.ChainStreamInterceptor(g.stream),
		grpc.MaxRecvMsgSize(64 << 20),
	}, opts.ServerOptions...)
	gs := grpc.NewServer(sopts...)
	flight.RegisterFlightServiceServer(gs, svc)
	hs := opts.Health
	if hs == nil {
		hs = health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(gs, hs)
	return gs
}

// guard recovers panics, enforces the loopback-only rule and turns the
// errors of every call into gRPC statuses.
type guard struct {
	loopbackOnly bool
	logger       *slog.Logger
	// status maps a call's error; nil leaves it as it is.
	status func(error) error
}

func (g *guard) mapErr(err error) error {
	if g.status == nil {
		return err
	}
	return g.status(err)
}

func (g *guard) check(ctx context.Context) error {
	if !g.loopbackOnly {
		return nil
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.PermissionDenied, "no authentication is configured and the peer address is unknown")
	}
	if localAddr(p.Addr) {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "no authentication is configured, so this server only accepts connections from this machine (peer %s)", p.Addr)
}

// localAddr reports whether a peer address is on this machine: loopback
// TCP or a Unix socket.
func localAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

func (g *guard) recovered(method string, r any) error {
	g.logger.Error("panic in rpc", "method", method, "panic", r, "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "internal error in %s; the server logged the details", method)
}

func (g *guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = g.recovered(info.FullMethod, r)
		}
	}()
	if err := g.check(ctx); err != nil {
		return nil, err
	}
	resp, err = h(ctx, req)
	return resp, g.mapErr(err)
}

func (g *guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = g.recovered(info.FullMethod, r)
		}
	}()
	if err := g.check(ss.Context()); err != nil {
		return err
	}
	return g.mapErr(h(srv, ss))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
