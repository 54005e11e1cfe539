// Package storage is Quiver's warehouse catalog: the Parquet tables under
// one root, a local directory or s3://bucket/prefix, read through an
// objstore.Backend (package objstore is the layer that talks to the disk
// or to S3; this one is layout, footers and the write API's key rules, the
// same for both).
//
// Every directory <schema>/<table>/ holding .parquet files at any depth is
// a table; hidden segments ("." or "_" prefixed, except "_key=value") are
// skipped as Spark and Hive skip them; key=value directories below a table
// are Hive partitions, typed BIGINT, DATE or VARCHAR as DuckDB's
// hive_types_autocast would type them. Warehouse.Table lists one table's
// prefix once: that listing (key, size, ETag per file) is the snapshot a
// query is pinned to, so files written later are not half-seen. It then
// reads every file's footer (at most 16 at a time; one ranged read of the
// last 64 KiB, a second only for a bigger footer) into a schema, row
// counts and per-row-group min/max statistics. Footers are cached by (key,
// ETag, size) in an LRU, and concurrent readers of one footer share a
// single read, so planning the same table again costs a listing and no
// reads, while a rewritten file is re-read. Open parses the warehouse URI
// into a Location (which also turns keys into the URIs DuckDB reads) and
// never contacts S3. The package gives Arrow types and never imports
// DuckDB: mapping them is the engine's job.
package storage
