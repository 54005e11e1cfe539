// Package lakehouse is Quiver's view of Iceberg catalogs: it lists their
// namespaces and tables and pins a snapshot of one table as a
// storage.Table the planner reads like a Parquet table, with the Iceberg
// parts filled in.
//
// A catalog is a REST catalog or a local SQL catalog in a sqlite file,
// opened with iceberg-go; a table is named "<catalog>.<namespace>" and its
// name, each part matched exactly or else case-insensitively. Table costs
// one catalog round trip (LoadTable), which tells the current metadata;
// the snapshot it pins is then planned by iceberg-go from its manifests
// with no row filter, and the plan — the data files sorted by path, each
// with its size, record count, manifest bounds and null counts (as one
// storage row group, decoded for the pinned schema's types) and the delete
// files that apply to it — is cached by (table UUID, snapshot, schema):
// a snapshot never changes, so a second call reads no manifest and a new
// commit is seen by the next call. iceberg-go applies the sequence-number
// rules for deletes; position delete files, which it attaches to every
// data file of their partition, are narrowed here to the files their
// referenced_data_file or file_path bounds allow. Locations are spelled
// for DuckDB: s3:// URLs, and file: URIs (both file:///x and file:/x
// occur) as local paths; Path keeps the metadata's spelling, which
// position deletes use.
//
// Whatever a plain Parquet read by field id would get wrong is refused
// with ErrUnsupported (errkind.Unimplemented) naming the table and the
// feature: nested, uuid and v3-only column types, initial defaults, name
// mappings (files without field ids), non-Parquet and encrypted files,
// and deletion vectors past maxDeletionVectorRuns. Deletion vectors
// (v3) are read while planning (dv.go) into the runs of positions they
// delete. A catalog that cannot
// be reached is errkind.Unavailable (and is retried on the next use); a
// missing catalog, namespace or table wraps storage.ErrTableNotFound, a
// missing snapshot ErrSnapshotNotFound.
package lakehouse
