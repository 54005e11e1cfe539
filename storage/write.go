package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/quiver-data/quiver/objstore"
)

// writer returns the warehouse's backend as an objstore.WriteBackend.
func (w *Warehouse) writer() (objstore.WriteBackend, error) {
	wb, ok := w.backend.(objstore.WriteBackend)
	if !ok {
		return nil, fmt.Errorf("write to %s: %w", w, ErrReadOnly)
	}
	return wb, nil
}

// Put stores data at key, replacing any object there. Readers never see a
// partial object: locally a temporary file in the same directory is synced
// and renamed over key; on S3 it is one PutObject.
func (w *Warehouse) Put(ctx context.Context, key string, data []byte) error {
	return w.putBytes(ctx, key, data, false)
}

// PutIfAbsent stores data at key unless key exists, in which case it fails
// with ErrExists and leaves the existing object alone. Locally it is a
// link(2) of a synced temporary file; on S3 a PutObject with If-None-Match: *.
func (w *Warehouse) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	return w.putBytes(ctx, key, data, true)
}

func (w *Warehouse) putBytes(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	wb, err := w.writer()
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	return objstore.PutBytes(ctx, wb, key, data, ifAbsent)
}

// PutFile stores the local file src at key without reading it into memory;
// with ifAbsent it behaves like PutIfAbsent.
func (w *Warehouse) PutFile(ctx context.Context, key, src string, ifAbsent bool) error {
	wb, err := w.writer()
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	return wb.PutFile(ctx, key, src, ifAbsent)
}

// Get reads the whole object at key; ErrObjectNotFound when it is absent.
func (w *Warehouse) Get(ctx context.Context, key string) ([]byte, error) {
	wb, err := w.writer()
	if err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return wb.Get(ctx, key)
}

// Stat describes the object at key; ErrObjectNotFound when it is absent.
func (w *Warehouse) Stat(ctx context.Context, key string) (Object, error) {
	wb, err := w.writer()
	if err != nil {
		return Object{}, err
	}
	if err := checkKey(key); err != nil {
		return Object{}, err
	}
	return wb.Stat(ctx, key)
}

// Delete removes key; deleting a missing key succeeds.
func (w *Warehouse) Delete(ctx context.Context, key string) error {
	wb, err := w.writer()
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	return wb.Delete(ctx, key)
}

// DeletePrefix removes every object below the directory prefix ("_spool/q1/",
// with the slash), and the directory itself locally; deleting a prefix
// nothing is under succeeds. Locally it is os.RemoveAll of the directory
// (a symlink on the way is not followed: like List, it sees nothing
// there); on S3 a listing and DeleteObjects of up to 1000 keys per call.
// Objects written under prefix while it runs may survive.
func (w *Warehouse) DeletePrefix(ctx context.Context, prefix string) error {
	wb, err := w.writer()
	if err != nil {
		return err
	}
	dir, ok := strings.CutSuffix(prefix, "/")
	if !ok {
		return fmt.Errorf("delete prefix %q: want a directory, ending in /", prefix)
	}
	if err := checkKey(dir); err != nil {
		return fmt.Errorf("delete prefix: %w", err)
	}
	return wb.DeletePrefix(ctx, prefix)
}

// Move publishes the object at src under dst in one step and removes src.
// With ifAbsent an existing dst fails with ErrExists and src stays. On S3
// the copy is server-side (CopyObject, so at most 5 GiB) with
// If-None-Match: * when ifAbsent.
func (w *Warehouse) Move(ctx context.Context, src, dst string, ifAbsent bool) error {
	wb, err := w.writer()
	if err != nil {
		return err
	}
	for _, k := range []string{src, dst} {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	return wb.Move(ctx, src, dst, ifAbsent)
}

// List lists every object under prefix, hidden ones included (staging
// keys, markers, _system/); layout discovery is Tables and Table.
func (w *Warehouse) List(ctx context.Context, prefix string) ([]Object, error) {
	return w.list(ctx, prefix)
}

// checkKey rejects keys that cannot name an object: empty, absolute, with
// empty or dot segments.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("object key %q: want a relative path to a file", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("object key %q: empty, . or .. segment", key)
		}
	}
	return nil
}

// OpenObject opens the store holding the object at uri ("s3://bucket/k",
// "file:///abs/k" or a local path) and returns it with the object's key in
// it: the bucket for S3, the filesystem root for local paths. Writes
// through it follow the same atomicity rules as the warehouse's.
func OpenObject(ctx context.Context, uri string, opts Options) (*Warehouse, string, error) {
	loc, err := parseLocation(uri)
	if err != nil {
		return nil, "", fmt.Errorf("object uri: %w", err)
	}
	switch loc.Scheme {
	case "s3":
		if loc.Prefix == "" {
			return nil, "", fmt.Errorf("object uri %q: no key after the bucket", uri)
		}
		root := Location{Scheme: "s3", Bucket: loc.Bucket}
		b, err := newS3(ctx, root, opts)
		if err != nil {
			return nil, "", fmt.Errorf("open %s: %w", uri, err)
		}
		if strings.HasSuffix(uri, "/") {
			return nil, "", fmt.Errorf("object uri %q: names a directory, want a file", uri)
		}
		return NewWarehouse(b, root, opts), loc.Prefix, nil
	default:
		if strings.HasSuffix(uri, "/") {
			return nil, "", fmt.Errorf("object uri %q: names a directory, want a file", uri)
		}
		vol := filepath.VolumeName(loc.Dir)
		rootDir := vol + string(filepath.Separator)
		rel, err := filepath.Rel(rootDir, loc.Dir)
		if err != nil || rel == "." {
			return nil, "", fmt.Errorf("object uri %q: want a file path", uri)
		}
		root := Location{Scheme: "file", Dir: rootDir}
		return NewWarehouse(objstore.NewLocal(rootDir), root, opts), filepath.ToSlash(rel), nil
	}
}

// KeyOf returns the key of uri inside the warehouse, and false when uri is
// not below the warehouse root.
func (w *Warehouse) KeyOf(uri string) (string, bool) {
	loc, err := parseLocation(uri)
	if err != nil || loc.Scheme != w.root.Scheme {
		return "", false
	}
	if loc.Scheme == "s3" {
		if loc.Bucket != w.root.Bucket {
			return "", false
		}
		if w.root.Prefix == "" {
			return loc.Prefix, loc.Prefix != ""
		}
		key, ok := strings.CutPrefix(loc.Prefix, w.root.Prefix+"/")
		return key, ok && key != ""
	}
	rel, err := filepath.Rel(w.root.Dir, loc.Dir)
	if err != nil || !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}
