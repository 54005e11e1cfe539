package storage

import "context"

// Object is one file of the warehouse as listed.
type Object struct {
	// Key is relative to the warehouse root and slash-separated:
	// "demo/plays/day=2025-01-01/data_0.parquet".
	Key  string
	Size int64
	// ETag is the S3 ETag (quotes stripped); for local files a stable
	// fingerprint of size, mtime (ns) and inode.
	ETag string
}

// Backend is the store under a warehouse.
type Backend interface {
	// List returns all objects whose key starts with prefix ("" = the whole
	// warehouse), sorted by Key. It pages through the store internally.
	List(ctx context.Context, prefix string) ([]Object, error)
	// ReadRange reads n bytes of key starting at off. It returns fewer bytes
	// only when the object ends first.
	ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error)
}
