package flightserver

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/admission"
	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/workerpool"
)

// Sentinel errors of the service.
var (
	// ErrTicketUnknown is a ticket that was never issued or has expired.
	ErrTicketUnknown = errors.New("unknown or expired ticket")
	// ErrTicketForeign is a live ticket redeemed by a principal other than
	// the one it was issued to.
	ErrTicketForeign = errors.New("ticket belongs to another principal")
	// ErrStatementUnknown is a prepared statement handle that is not open.
	ErrStatementUnknown = errors.New("unknown prepared statement")
	// ErrBadParameters is a parameter batch that cannot be bound.
	ErrBadParameters = errors.New("invalid parameters")
)

// toStatus maps an error to the gRPC status a client sees. Errors that
// already carry a status (relayed from a worker) keep its code. The
// message is the client's to read (clientMessage).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	msg := clientMessage(err)
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		p := st.Proto()
		p.Message = msg
		return status.FromProto(p).Err()
	}
	code := codes.Internal
	switch {
	// Identity (package auth): bad or missing credentials.
	case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrMalformedHeader),
		errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrBadPassword):
		code = codes.Unauthenticated
	case errors.Is(err, ErrTicketForeign), errors.Is(err, ErrNotAdmin):
		code = codes.PermissionDenied
	// A query's own end: cancelled, timed out, over a limit, refused.
	case errors.Is(err, ErrQueryCancelled):
		code = codes.Canceled
	case errors.Is(err, ErrQueryTimeout), errors.Is(err, ErrSendTimeout), errors.Is(err, ErrAbandoned):
		code = codes.DeadlineExceeded
	case errors.Is(err, ErrResultTooLarge):
		code = codes.ResourceExhausted
	case errors.Is(err, ErrDraining), errors.Is(err, admission.ErrQueueFull), errors.Is(err, admission.ErrQueueTimeout):
		code = codes.Unavailable
	case errors.Is(err, ErrSQLTooLong), errors.Is(err, ErrBadCompression):
		code = codes.InvalidArgument
	case errors.Is(err, ErrQueryUnknown):
		code = codes.NotFound
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	// Sandbox (planner): files, settings, internal catalog, non-read-only
	// statements. Before ErrUnsupported, which refused statements also wrap.
	case errors.Is(err, planner.ErrRefused), errors.Is(err, planner.ErrNotGranted):
		code = codes.PermissionDenied
	case errors.Is(err, planner.ErrSyntax), errors.Is(err, ErrBadParameters):
		code = codes.InvalidArgument
	case errors.Is(err, planner.ErrUnsupported):
		code = codes.InvalidArgument
	case errors.Is(err, planner.ErrTableNotFound), errors.Is(err, storage.ErrTableNotFound),
		errors.Is(err, ErrTicketUnknown), errors.Is(err, ErrStatementUnknown):
		code = codes.NotFound
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, workerpool.ErrNoWorkers),
		errors.Is(err, coordinator.ErrStalled), errors.Is(err, coordinator.ErrNotResumable):
		code = codes.Unavailable
	case errors.Is(err, coordinator.ErrPartialsTooLarge):
		code = codes.ResourceExhausted
	case errors.Is(err, storage.ErrAccessDenied):
		code = codes.PermissionDenied
	case errors.Is(err, storage.ErrCorruptFile), errors.Is(err, storage.ErrSchemaMismatch):
		code = codes.FailedPrecondition
	case errors.Is(err, fragwire.ErrSchemaMismatch):
		code = codes.Internal
	default:
		code = engine.Classify(err).Code()
	}
	return status.Error(code, msg)
}

// statementError is an error of one client statement whose message is
// already in the client's terms: it quotes the statement as the client
// sent it, never the planner's rewrites of it (see planner.ErrorText).
type statementError struct {
	msg string
	err error
}

func (e *statementError) Error() string { return e.msg }
func (e *statementError) Unwrap() error { return e.err }

// inStatement puts err, an error of the client statement sql planned as
// plan (nil when planning failed), in the client's terms. Query history
// and the client then read the same message.
func inStatement(sql string, plan *planner.Plan, err error) error {
	var se *statementError
	if err == nil || errors.As(err, &se) {
		return err
	}
	return &statementError{msg: planner.NewErrorText(sql, plan, err).Message(errText(err)), err: err}
}

// inQuery is inStatement for the statement behind a query ticket.
func inQuery(q *query, err error) error {
	if q.plan == nil {
		return inStatement("", nil, err)
	}
	return inStatement(q.plan.SQL, q.plan, err)
}

// clientMessage is what a client reads of err: the message of a statement
// error as it is, any other scrubbed of context lines (they quote SQL the
// client did not write) and of the warehouse's paths.
func clientMessage(err error) string {
	var se *statementError
	if errors.As(err, &se) {
		return err.Error()
	}
	return planner.ErrorText{}.Message(errText(err))
}

// errText is err's message; for a status (a worker's), its description
// without gRPC's "rpc error: code = … desc = " in front.
func errText(err error) string {
	return status.Convert(err).Message()
}
