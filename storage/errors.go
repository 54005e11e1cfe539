package storage

import (
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/objstore"
)

// Errors returned by the warehouse. They are wrapped with context (the
// table, the object key, the endpoint), so callers test them with errors.Is.
// The store's own errors are objstore's, re-exported here so that callers
// of the warehouse test them without importing the layer below.
var (
	// ErrTableNotFound is a table whose directory does not exist or holds no
	// visible .parquet file; the message names schema.table.
	ErrTableNotFound = errkind.New(errkind.NotFound, "table not found")
	// ErrCorruptFile is an object that is not a readable Parquet file (bad
	// magic, too short, unparseable footer); the message names the object key.
	ErrCorruptFile = errkind.New(errkind.FailedPrecondition, "corrupt parquet file")
	// ErrSchemaMismatch is a table whose files disagree on their columns or on
	// their Hive partition keys; the message names the two keys compared.
	ErrSchemaMismatch = errkind.New(errkind.FailedPrecondition, "schema mismatch")
	// ErrReadOnly is a write to a warehouse whose backend cannot write.
	ErrReadOnly = errkind.New(errkind.PermissionDenied, "storage backend is read-only")

	// ErrUnavailable is objstore.ErrUnavailable: the store cannot be reached.
	ErrUnavailable = objstore.ErrUnavailable
	// ErrAccessDenied is objstore.ErrAccessDenied: the store refused us.
	ErrAccessDenied = objstore.ErrAccessDenied
	// ErrExists is objstore.ErrExists: a conditional write (PutIfAbsent,
	// Move with ifAbsent) found the key taken.
	ErrExists = objstore.ErrExists
	// ErrObjectNotFound is objstore.ErrObjectNotFound: a Get, Stat or Move
	// of a key that does not exist.
	ErrObjectNotFound = objstore.ErrObjectNotFound
)
