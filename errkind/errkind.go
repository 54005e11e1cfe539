package errkind

import (
	"context"
	"errors"
)

// Kind is what an error means for the caller.
type Kind int

// The kinds of error. Unknown is an error nobody classified; servers report
// it as Internal.
const (
	Unknown Kind = iota
	// Invalid is a request that is wrong: syntax, types, arguments, input.
	Invalid
	// NotFound names a table, statement, ticket or report that does not
	// exist (or that the caller may not know exists).
	NotFound
	// AlreadyExists is an output that is already there.
	AlreadyExists
	// PermissionDenied is a request the caller's principal may not make.
	PermissionDenied
	// Unauthenticated is a request without valid credentials.
	Unauthenticated
	// Unavailable is the system's failure, not the request's: a worker,
	// the object store or the server itself cannot take it now.
	Unavailable
	// Canceled is a request that was cancelled.
	Canceled
	// DeadlineExceeded is a request that ran out of time.
	DeadlineExceeded
	// Exhausted is a memory, size or count limit that was hit.
	Exhausted
	// FailedPrecondition is data not in the state the request needs: a
	// corrupt file, files whose schemas differ.
	FailedPrecondition
	// Internal is a bug or an unexpected state.
	Internal
	// Unimplemented is a feature of the data or the request Quiver does
	// not support (yet): an Iceberg table feature it cannot read right.
	Unimplemented
)

func (k Kind) String() string {
	names := [...]string{"Unknown", "Invalid", "NotFound", "AlreadyExists", "PermissionDenied",
		"Unauthenticated", "Unavailable", "Canceled", "DeadlineExceeded", "Exhausted", "FailedPrecondition", "Internal", "Unimplemented"}
	if k < 0 || int(k) >= len(names) {
		return "Kind(?)"
	}
	return names[k]
}

// kinded is an error that knows its kind.
type kinded interface {
	error
	Kind() Kind
}

// sentinel is an error declared with New.
type sentinel struct {
	kind Kind
	msg  string
}

func (e *sentinel) Error() string { return e.msg }

// Kind is the sentinel's kind.
func (e *sentinel) Kind() Kind { return e.kind }

// New returns a sentinel error of kind k: compare with errors.Is, wrap
// with fmt.Errorf("%w: …"), and its kind follows it.
func New(k Kind, msg string) error { return &sentinel{kind: k, msg: msg} }

// Of is the kind of err: that of the first error along its chain (a
// wrapper before what it wraps, multiple wrapped errors in order) that has
// one — a sentinel from New, any error with a Kind() Kind method, or
// context.Canceled and context.DeadlineExceeded. Nil and unclassified
// errors are Unknown.
func Of(err error) Kind {
	for err != nil {
		if k, ok := err.(kinded); ok {
			return k.Kind()
		}
		switch err {
		case context.Canceled:
			return Canceled
		case context.DeadlineExceeded:
			return DeadlineExceeded
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if k := Of(e); k != Unknown {
					return k
				}
			}
			return Unknown
		default:
			return Unknown
		}
	}
	return Unknown
}

// Retryable reports whether another attempt at the same work might
// succeed; the coordinator's fragment retries and the report scheduler
// both ask it. Yes when the failure was the system's (Unavailable: a
// worker or store unreachable, a stream reset, a full queue), when the
// work was cut short (Canceled, DeadlineExceeded) by something other than
// the caller — who checks its own context first — and when nobody
// classified the error (Unknown: a transport failure no package named).
// No when the request was at fault (Invalid, NotFound, AlreadyExists,
// PermissionDenied, Unauthenticated, FailedPrecondition, Unimplemented: it fails the same
// way again), for a limit (Exhausted: the same work needs the same
// memory), for a bug (Internal), and for errors marked Permanent.
func Retryable(err error) bool {
	var p permanentError
	if errors.As(err, &p) {
		return false
	}
	switch Of(err) {
	case Unavailable, Canceled, DeadlineExceeded, Unknown:
		return true
	}
	return false
}

// Permanent marks err as one another attempt cannot fix whatever its kind
// (a client gone, rows already sent that cannot be taken back).
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }
