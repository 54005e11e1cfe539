package flightserver

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/planner"
)

// Sentinel errors of the service.
var (
	// ErrTicketUnknown is a ticket that was never issued or has expired.
	ErrTicketUnknown = errkind.New(errkind.NotFound, "unknown or expired ticket")
	// ErrTicketForeign is a live ticket redeemed by a principal other than
	// the one it was issued to.
	ErrTicketForeign = errkind.New(errkind.PermissionDenied, "ticket belongs to another principal")
	// ErrStatementUnknown is a prepared statement handle that is not open.
	ErrStatementUnknown = errkind.New(errkind.NotFound, "unknown prepared statement")
	// ErrBadParameters is a parameter batch that cannot be bound.
	ErrBadParameters = errkind.New(errkind.Invalid, "invalid parameters")
	// ErrTicketMisdirected is a worker's fragment ticket (direct routing)
	// redeemed at the Quiver server instead of at its endpoint's location.
	ErrTicketMisdirected = errkind.New(errkind.Invalid, "this is a worker fragment ticket (direct routing)")
	// ErrTicketMalformed is a ticket this server could not have issued.
	ErrTicketMalformed = errkind.New(errkind.Invalid, "unknown ticket: it is neither a Quiver query ticket nor a Flight SQL command")
)

// toStatus maps an error to the gRPC status a client sees; the gRPC server
// applies it to every call (NewGRPCServer), so handlers return plain
// errors. Errors that already carry a status (relayed from a worker) keep
// its code; every other code comes from the error's kind (errkind.Of: the
// sentinels of every package declare theirs), DuckDB's own errors from
// their type (engine.Classify), through flightwire.Code, the one table.
// The message is the client's to read (clientMessage).
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
	// Classify gives every error its kind: errkind.Of, then DuckDB's types.
	return status.Error(flightwire.Code(engine.Classify(err)), msg)
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
