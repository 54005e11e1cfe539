package engine

import (
	"context"
	"errors"

	duckdb "github.com/duckdb/duckdb-go/v2"
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
