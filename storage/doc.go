// Package storage is Quiver's warehouse: the Parquet tables under one root,
// a local directory or s3://bucket/prefix.
//
// A Backend (local directory walk, or S3 ListObjectsV2 plus ranged GETs via
// aws-sdk-go-v2) only lists objects and reads byte ranges; everything else
// is layout and is the same for both. Every directory <schema>/<table>/
// holding .parquet files at any depth is a table; hidden segments ("." or
// "_" prefixed, except "_key=value") are skipped as Spark and Hive skip
// them; key=value directories below a table are Hive partitions, typed
// BIGINT, DATE or VARCHAR as DuckDB's hive_types_autocast would type them.
// Warehouse.Table lists one table's prefix once: that listing (key, size,
// ETag per file) is the snapshot a query is pinned to, so files written
// later are not half-seen. It then reads every file's footer (at most 16 at
// a time; one ranged read of the last 64 KiB, a second only for a bigger
// footer) into a schema, row counts and per-row-group min/max statistics.
// Footers are cached by (key, ETag, size) in an LRU, and concurrent readers
// of one footer share a single read, so planning the same table again costs
// a listing and no reads, while a rewritten file is re-read. Open never
// contacts S3, so a server starts while S3 is down; the S3 client retries
// at most three times with short backoff, so an unreachable endpoint fails
// with ErrUnavailable, naming the endpoint, within seconds. The package
// gives Arrow types and never imports DuckDB: mapping them is the engine's
// job.
package storage
