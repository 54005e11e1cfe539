package storage

import "github.com/quiver-data/quiver/errkind"

// Errors returned by the warehouse. They are wrapped with context (the
// table, the object key, the endpoint), so callers test them with errors.Is.
var (
	// ErrTableNotFound is a table whose directory does not exist or holds no
	// visible .parquet file; the message names schema.table.
	ErrTableNotFound = errkind.New(errkind.NotFound, "table not found")
	// ErrCorruptFile is an object that is not a readable Parquet file (bad
	// magic, too short, unparseable footer); the message names the object key.
	ErrCorruptFile = errkind.New(errkind.FailedPrecondition, "corrupt parquet file")
	// ErrUnavailable is a store that cannot be reached (DNS failure, refused
	// connection, timeout, 5xx after retries); the message names the endpoint.
	ErrUnavailable = errkind.New(errkind.Unavailable, "storage unavailable")
	// ErrAccessDenied is a store that refused our credentials or permissions.
	ErrAccessDenied = errkind.New(errkind.PermissionDenied, "storage access denied")
	// ErrSchemaMismatch is a table whose files disagree on their columns or on
	// their Hive partition keys; the message names the two keys compared.
	ErrSchemaMismatch = errkind.New(errkind.FailedPrecondition, "schema mismatch")
)
