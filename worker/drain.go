package worker

import (
	"context"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The gRPC health service's methods, as interceptors see them.
const (
	healthCheck = "/grpc.health.v1.Health/Check"
	healthWatch = "/grpc.health.v1.Health/Watch"
)

// Drain stops the worker taking fragments: from now on DoGet refuses new
// tickets with UNAVAILABLE ("worker draining") and the gRPC health service
// answers NOT_SERVING (with the interceptors of GRPCOptions installed), so
// coordinators stop picking this worker and retry elsewhere. Running
// fragments go on; WaitIdle waits for them.
func (s *Server) Drain() { s.track.drain() }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.track.isDraining() }

// Running is how many fragments run now.
func (s *Server) Running() int { return s.track.count() }

// WaitIdle blocks until no fragment runs, or ctx ends (then it says how
// many still run).
func (s *Server) WaitIdle(ctx context.Context) error { return s.track.waitIdle(ctx) }

// GRPCOptions are the server options that make the standard gRPC health
// service (registered by flightserver.NewGRPCServer) report NOT_SERVING for
// the whole server ("" service) once the worker drains. Check and Watch are
// both covered; per-service names pass through untouched.
func (s *Server) GRPCOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.healthUnary),
		grpc.ChainStreamInterceptor(s.healthStream),
	}
}

func (s *Server) healthUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if info.FullMethod == healthCheck && s.Draining() {
		if r, ok := req.(*healthpb.HealthCheckRequest); ok && r.GetService() == "" {
			return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
		}
	}
	return h(ctx, req)
}

// healthStream answers Watch of the "" service itself: SERVING until the
// drain starts, then NOT_SERVING, until the watcher leaves.
func (s *Server) healthStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod != healthWatch {
		return h(srv, ss)
	}
	req := new(healthpb.HealthCheckRequest)
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	if req.GetService() != "" {
		return h(srv, &replayStream{ServerStream: ss, req: req})
	}
	sent := healthpb.HealthCheckResponse_SERVICE_UNKNOWN
	for {
		draining, changed := s.track.state()
		st := healthpb.HealthCheckResponse_SERVING
		if draining {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		if st != sent {
			if err := ss.SendMsg(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			sent = st
		}
		select {
		case <-ss.Context().Done():
			return nil
		case <-changed:
		}
	}
}

// replayStream hands the already-read request to the real handler.
type replayStream struct {
	grpc.ServerStream
	req *healthpb.HealthCheckRequest
}

func (r *replayStream) RecvMsg(m any) error {
	if r.req == nil {
		return r.ServerStream.RecvMsg(m)
	}
	dst, ok := m.(*healthpb.HealthCheckRequest)
	if !ok {
		return r.ServerStream.RecvMsg(m)
	}
	dst.Service = r.req.GetService()
	r.req = nil
	return nil
}
