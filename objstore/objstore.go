package objstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
)

// Object is one object of a store as listed.
type Object struct {
	// Key is relative to the store's root and slash-separated:
	// "demo/plays/day=2025-01-01/data_0.parquet".
	Key  string
	Size int64
	// ETag is the S3 ETag (quotes stripped); for local files a stable
	// fingerprint of size, mtime (ns) and inode.
	ETag string
}

// Backend is a store that lists objects and reads byte ranges: all a
// warehouse needs to plan queries.
type Backend interface {
	// List returns all objects whose key starts with prefix ("" = the whole
	// store), sorted by Key. It pages through the store internally.
	List(ctx context.Context, prefix string) ([]Object, error)
	// ReadRange reads n bytes of key starting at off. It returns fewer bytes
	// only when the object ends first.
	ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error)
}

// WriteBackend is a Backend that can also write. Both built-in backends
// (Local, S3) implement it.
//
// Every write is atomic for readers: they see the old object (or none) or
// the complete new one, never a prefix of it.
type WriteBackend interface {
	Backend
	// PutFile stores the contents of the local file src at key. With
	// ifAbsent it fails with ErrExists when key exists (and writes
	// nothing); otherwise it overwrites.
	PutFile(ctx context.Context, key, src string, ifAbsent bool) error
	// Get reads the whole object.
	Get(ctx context.Context, key string) ([]byte, error)
	// Stat describes one object; ErrObjectNotFound when it is absent.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Move makes the object at src visible at dst in one step and removes
	// src (local: link or rename; S3: a server-side copy then a delete).
	// With ifAbsent it fails with ErrExists when dst exists, leaving src.
	Move(ctx context.Context, src, dst string, ifAbsent bool) error
	// DeletePrefix removes every object whose key starts with prefix, a
	// directory ("a/b/"); nothing there is not an error.
	DeletePrefix(ctx context.Context, prefix string) error
}

// PutBytes stores data at key through b, like b.PutFile with the contents
// in memory. The built-in backends take it as it is (one PutObject; a
// synced temporary file renamed or linked into place); any other gets a
// temporary file, which costs little next to a PUT.
func PutBytes(ctx context.Context, b WriteBackend, key string, data []byte, ifAbsent bool) error {
	switch b := b.(type) {
	case *S3:
		return b.put(ctx, key, bytes.NewReader(data), int64(len(data)), ifAbsent)
	case *Local:
		return b.put(ctx, key, bytes.NewReader(data), ifAbsent)
	}
	tmp, err := os.CreateTemp("", "quiver-put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close() // the error above is the one to report
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return b.PutFile(ctx, key, tmp.Name(), ifAbsent)
}
