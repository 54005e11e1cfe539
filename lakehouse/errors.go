package lakehouse

import "github.com/quiver-data/quiver/errkind"

// Errors returned by the catalogs. They are wrapped with context (the
// catalog, the table, the column, the snapshot), so callers test them with
// errors.Is. A catalog, namespace or table that does not exist wraps
// storage.ErrTableNotFound instead, as the Parquet warehouse's do.
var (
	// ErrUnsupported is an Iceberg table feature Quiver cannot read right
	// with a plain Parquet read: nested or v3-only column types, deletion
	// vectors, default values, non-Parquet or encrypted files. The message
	// names the table and the feature.
	ErrUnsupported = errkind.New(errkind.Unimplemented, "unsupported Iceberg feature")
	// ErrSnapshotNotFound is a snapshot id or a timestamp that picks no
	// snapshot of the table; the message lists the snapshots there are.
	ErrSnapshotNotFound = errkind.New(errkind.NotFound, "snapshot not found")
	// ErrUnavailable is a catalog (or the storage behind its metadata) that
	// cannot be reached or refuses Quiver's credentials.
	ErrUnavailable = errkind.New(errkind.Unavailable, "iceberg catalog unavailable")
	// ErrConfig is a catalog Spec that cannot work: no name, a name used
	// twice, an unknown URI scheme, a missing sqlite file.
	ErrConfig = errkind.New(errkind.Invalid, "invalid iceberg catalog configuration")
)
