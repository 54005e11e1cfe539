package flightwire

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/errkind"
)

// Code is the gRPC code an error of kind k is reported with: the one
// table, used by the client-facing server and the workers alike.
// Unclassified errors are Internal.
func Code(k errkind.Kind) codes.Code {
	switch k {
	case errkind.Invalid:
		return codes.InvalidArgument
	case errkind.NotFound:
		return codes.NotFound
	case errkind.AlreadyExists:
		return codes.AlreadyExists
	case errkind.PermissionDenied:
		return codes.PermissionDenied
	case errkind.Unauthenticated:
		return codes.Unauthenticated
	case errkind.Unavailable:
		return codes.Unavailable
	case errkind.Canceled:
		return codes.Canceled
	case errkind.DeadlineExceeded:
		return codes.DeadlineExceeded
	case errkind.Exhausted:
		return codes.ResourceExhausted
	case errkind.FailedPrecondition:
		return codes.FailedPrecondition
	case errkind.Unimplemented:
		return codes.Unimplemented
	}
	return codes.Internal
}

// KindOf is the kind of a gRPC status another process sent: Code read
// backwards, with the codes Code never produces folded into the nearest
// kind (Aborted is Unavailable, OutOfRange Invalid).
// A stream reset by a dying peer or proxy arrives as Internal with
// "RST_STREAM" in its message — gRPC gives it no code of its own — and is
// Unavailable: the peer went away, the request was not at fault.
func KindOf(st *status.Status) errkind.Kind {
	switch st.Code() {
	case codes.OK:
		return errkind.Unknown
	case codes.InvalidArgument, codes.OutOfRange:
		return errkind.Invalid
	case codes.Unimplemented:
		return errkind.Unimplemented
	case codes.NotFound:
		return errkind.NotFound
	case codes.AlreadyExists:
		return errkind.AlreadyExists
	case codes.PermissionDenied:
		return errkind.PermissionDenied
	case codes.Unauthenticated:
		return errkind.Unauthenticated
	case codes.Unavailable, codes.Aborted:
		return errkind.Unavailable
	case codes.Canceled:
		return errkind.Canceled
	case codes.DeadlineExceeded:
		return errkind.DeadlineExceeded
	case codes.ResourceExhausted:
		return errkind.Exhausted
	case codes.FailedPrecondition:
		return errkind.FailedPrecondition
	case codes.Internal:
		if strings.Contains(st.Message(), "RST_STREAM") {
			return errkind.Unavailable
		}
	}
	return errkind.Internal
}

// RemoteError is an error another process answered with (a worker's
// status, relayed by the coordinator). It keeps the status — a server
// relaying it answers with the same code — and has the status's kind, so
// packages that never import gRPC can tell what it means.
type RemoteError struct {
	// Peer names who answered, e.g. "worker 10.0.0.7:8816".
	Peer string
	st   *status.Status
}

// Remote is err as peer's answer when it carries a gRPC status, and nil
// for any other error (nil included), which the caller wraps its own way.
func Remote(peer string, err error) *RemoteError {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return nil
	}
	return &RemoteError{Peer: peer, st: st}
}

func (e *RemoteError) Error() string { return e.Peer + ": " + e.st.Message() }

// Kind is the kind of the status (KindOf).
func (e *RemoteError) Kind() errkind.Kind { return KindOf(e.st) }

// GRPCStatus is the status with the peer named in its message, so relaying
// it keeps the code and says who failed.
func (e *RemoteError) GRPCStatus() *status.Status {
	p := e.st.Proto()
	p.Message = e.Error()
	return status.FromProto(p)
}
