package engine

import (
	"errors"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/quiver-data/quiver/errkind"
)

// Classify says what an error from DuckDB means (errkind's terms): the
// kind of its chain when it has one (context.Canceled and
// DeadlineExceeded included), otherwise the kind of DuckDB's error type.
// Anything else is Internal.
func Classify(err error) errkind.Kind {
	if k := errkind.Of(err); k != errkind.Unknown {
		return k
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return errkind.Internal
	}
	switch de.Type {
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeBinder,
		duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeOutOfRange,
		duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeDivideByZero, duckdb.ErrorTypeInvalidType,
		duckdb.ErrorTypeParameterNotResolved, duckdb.ErrorTypeParameterNotAllowed,
		duckdb.ErrorTypeNotImplemented, duckdb.ErrorTypeExpression, duckdb.ErrorTypeDecimal,
		duckdb.ErrorTypeConstraint:
		return errkind.Invalid
	case duckdb.ErrorTypeCatalog:
		return errkind.NotFound
	case duckdb.ErrorTypeHTTP, duckdb.ErrorTypeIO, duckdb.ErrorTypeNetwork, duckdb.ErrorTypeConnection:
		return errkind.Unavailable
	case duckdb.ErrorTypeInterrupt:
		return errkind.Canceled
	case duckdb.ErrorTypeOutOfMemory:
		return errkind.Exhausted
	case duckdb.ErrorTypePermission, duckdb.ErrorTypeMissingExtension, duckdb.ErrorTypeAutoLoad:
		return errkind.PermissionDenied
	}
	return errkind.Internal
}
