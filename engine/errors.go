package engine

import (
	"context"
	"errors"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"google.golang.org/grpc/codes"
)

// Kind says what a DuckDB error means for the caller, independent of the
// protocol it will be reported in.
type Kind int

// The kinds of DuckDB errors.
const (
	KindInternal    Kind = iota // a bug or an unexpected state
	KindInvalid                 // the query is wrong: syntax, binding, types, input
	KindNotFound                // a catalog object does not exist
	KindUnavailable             // storage or network could not be reached
	KindCanceled                // interrupted
	KindExhausted               // out of memory
	KindPermission              // refused by configuration
)

// Classify maps an error from DuckDB to a Kind.
func Classify(err error) Kind {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return KindInternal
	}
	switch de.Type {
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeBinder,
		duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeOutOfRange,
		duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeDivideByZero, duckdb.ErrorTypeInvalidType,
		duckdb.ErrorTypeParameterNotResolved, duckdb.ErrorTypeParameterNotAllowed,
		duckdb.ErrorTypeNotImplemented, duckdb.ErrorTypeExpression, duckdb.ErrorTypeDecimal,
		duckdb.ErrorTypeConstraint:
		return KindInvalid
	case duckdb.ErrorTypeCatalog:
		return KindNotFound
	case duckdb.ErrorTypeHTTP, duckdb.ErrorTypeIO, duckdb.ErrorTypeNetwork, duckdb.ErrorTypeConnection:
		return KindUnavailable
	case duckdb.ErrorTypeInterrupt:
		return KindCanceled
	case duckdb.ErrorTypeOutOfMemory:
		return KindExhausted
	case duckdb.ErrorTypePermission, duckdb.ErrorTypeMissingExtension, duckdb.ErrorTypeAutoLoad:
		return KindPermission
	}
	return KindInternal
}

// Code is the gRPC status code an error of this kind is reported with, by
// the workers and by the coordinator alike.
func (k Kind) Code() codes.Code {
	switch k {
	case KindInvalid:
		return codes.InvalidArgument
	case KindNotFound:
		return codes.NotFound
	case KindUnavailable:
		return codes.Unavailable
	case KindCanceled:
		return codes.Canceled
	case KindExhausted:
		return codes.ResourceExhausted
	case KindPermission:
		return codes.PermissionDenied
	}
	return codes.Internal
}
