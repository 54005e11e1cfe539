// Package objstore is the object-store layer under the warehouse: one
// small interface and one file per backend behind it, in the manner of
// Thanos' objstore. A Backend lists objects under a prefix (sorted, paged
// internally) and reads byte ranges, which is all planning needs; a
// WriteBackend adds whole-object writes, reads, stats, deletes and a
// one-step Move, each atomic for readers: they see the old object (or
// none) or the complete new one, never a prefix.
//
// Local (local.go) is a directory: List walks it without following
// symlinked directories, a key can never leave it, an ETag fingerprints
// size, mtime and inode, and writes go to a synced hidden temporary file
// that is renamed (overwrite) or linked (if absent) into place. S3 (s3.go)
// uses aws-sdk-go-v2: ListObjectsV2 and ranged GETs, PutObject or a
// multipart upload with If-None-Match: * for conditional writes, and
// server-side copies for Move. Its client retries at most three times with
// short backoff and short dials, so an unreachable endpoint fails within
// seconds. NewS3 never contacts S3, so a server starts while S3 is down.
// Errors name the operation, the object and the endpoint and wrap this
// package's sentinels (ErrUnavailable, ErrAccessDenied, ErrExists,
// ErrObjectNotFound; fs.ErrNotExist for a range read of a missing object).
//
// The package knows nothing of tables, Parquet or warehouse layout: that is
// package storage, which re-exports Object and the sentinels.
package objstore
