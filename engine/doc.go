// Package engine owns every embedded DuckDB in Quiver: the coordinator's
// (parser, schema probe, later the merge step) and each worker's (fragment
// execution). It opens a database with the settings Quiver relies on (UTC
// session time zone, extension autoinstall and autoload off), loads the
// httpfs extension from the directory the set-up provisioned (never from the
// network), installs S3 credentials as a temporary secret, and exposes DuckDB's
// Arrow interface so results leave DuckDB as Arrow record batches without
// being copied row by row. Results are DuckDB streaming results (stream.go):
// the blocking parts of a plan run before the first batch, the rest while
// the batches are read, so a large result is never held in memory whole and
// its first batch leaves as soon as it exists.
//
// It also maps Arrow types to DuckDB type names, the one place where the two
// type systems meet (storage describes tables in Arrow types, DuckDB needs
// DDL).
package engine
