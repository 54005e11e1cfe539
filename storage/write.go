package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Errors of the write API, tested with errors.Is.
var (
	// ErrExists is a conditional write (PutIfAbsent, Publish with ifAbsent)
	// whose key already exists; the message names the object.
	ErrExists = errors.New("object already exists")
	// ErrObjectNotFound is a Get, Stat or Publish of a key that does not
	// exist; the message names the object.
	ErrObjectNotFound = errors.New("object not found")
	// ErrReadOnly is a write to a warehouse whose backend cannot write.
	ErrReadOnly = errors.New("storage backend is read-only")
)

// WriteBackend is a Backend that can also write. Both built-in backends
// implement it; a Backend that does not makes the write methods of its
// Warehouse fail with ErrReadOnly.
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

// writer returns the warehouse's backend as a WriteBackend.
func (w *Warehouse) writer() (WriteBackend, error) {
	wb, ok := w.backend.(WriteBackend)
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
	// The backends take a file so that large objects stream; small ones
	// go through a temporary file too, which costs little next to a PUT.
	if s3b, ok := wb.(*s3Backend); ok {
		return s3b.put(ctx, key, bytes.NewReader(data), int64(len(data)), ifAbsent)
	}
	if lb, ok := wb.(*localBackend); ok {
		return lb.put(ctx, key, bytes.NewReader(data), ifAbsent)
	}
	tmp, err := os.CreateTemp("", "quiver-put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return wb.PutFile(ctx, key, tmp.Name(), ifAbsent)
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
		b, err := newS3Backend(ctx, root, opts)
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
		return NewWarehouse(newLocalBackend(rootDir), root, opts), filepath.ToSlash(rel), nil
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

// ---- local backend ----

func (b *localBackend) path(key string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return "", fmt.Errorf("object %s: key leaves the warehouse", key)
	}
	return filepath.Join(b.dir, filepath.FromSlash(key)), nil
}

// PutFile copies src into a synced temporary file next to key, then
// renames (overwrite) or links (ifAbsent) it into place.
func (b *localBackend) PutFile(ctx context.Context, key, src string, ifAbsent bool) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer f.Close()
	return b.put(ctx, key, f, ifAbsent)
}

func (b *localBackend) put(ctx context.Context, key string, r io.Reader, ifAbsent bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dst, err := b.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, localErr(err))
	}
	// Hidden by the layout rules ("." prefix) while it is being written.
	tmp, err := os.CreateTemp(dir, ".quiver-tmp-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, localErr(err))
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a rename or link this is a no-op or drops the extra name
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", key, localErr(err))
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: sync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := b.place(key, tmpName, dst, ifAbsent); err != nil {
		return err
	}
	return syncDir(dir)
}

// place makes tmp visible as dst: link(2) fails with EEXIST when dst
// exists, rename(2) replaces it atomically.
func (b *localBackend) place(key, tmp, dst string, ifAbsent bool) error {
	if ifAbsent {
		if err := os.Link(tmp, dst); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("put %s: %w", key, ErrExists)
			}
			return fmt.Errorf("put %s: %w", key, localErr(err))
		}
		return nil
	}
	if info, err := os.Lstat(dst); err == nil && info.IsDir() {
		return fmt.Errorf("put %s: a directory is in the way", key)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("put %s: %w", key, localErr(err))
	}
	return nil
}

// Get reads the whole file.
func (b *localBackend) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("get %s: %w", key, ErrObjectNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", key, localErr(err))
	}
	return data, nil
}

// Stat describes a regular file.
func (b *localBackend) Stat(ctx context.Context, key string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	p, err := b.path(key)
	if err != nil {
		return Object{}, err
	}
	info, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return Object{}, fmt.Errorf("stat %s: %w", key, ErrObjectNotFound)
		}
		return Object{}, fmt.Errorf("stat %s: %w", key, localErr(err))
	}
	if !info.Mode().IsRegular() {
		return Object{}, fmt.Errorf("stat %s: not a file: %w", key, ErrObjectNotFound)
	}
	return Object{Key: key, Size: info.Size(), ETag: fileETag(info)}, nil
}

// Delete removes the file; absent is fine.
func (b *localBackend) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, localErr(err))
	}
	return nil
}

// Move links (ifAbsent) or renames src to dst; both must be on the same
// filesystem, which keys of one warehouse are.
func (b *localBackend) Move(ctx context.Context, src, dst string, ifAbsent bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sp, err := b.path(src)
	if err != nil {
		return err
	}
	dp, err := b.path(dst)
	if err != nil {
		return err
	}
	if _, err := os.Stat(sp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s: %w", src, ErrObjectNotFound)
		}
		return fmt.Errorf("move %s: %w", src, localErr(err))
	}
	if err := os.MkdirAll(filepath.Dir(dp), 0o755); err != nil {
		return fmt.Errorf("move %s: %w", dst, localErr(err))
	}
	if err := b.place(dst, sp, dp, ifAbsent); err != nil {
		return err
	}
	if ifAbsent {
		if err := os.Remove(sp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s: remove source: %w", src, localErr(err))
		}
	}
	if err := syncDir(filepath.Dir(dp)); err != nil {
		return err
	}
	if filepath.Dir(sp) != filepath.Dir(dp) {
		return syncDir(filepath.Dir(sp))
	}
	return nil
}

// DeletePrefix removes the directory tree at prefix. Every segment is
// checked with Lstat first, as List does: a symlink or a file on the way
// means there are no objects under prefix, and nothing outside the
// warehouse is ever removed.
func (b *localBackend) DeletePrefix(ctx context.Context, prefix string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := strings.TrimSuffix(prefix, "/")
	if _, err := b.path(dir); err != nil {
		return err
	}
	p := b.dir
	for _, seg := range strings.Split(dir, "/") {
		p = filepath.Join(p, seg)
		info, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.IsDir()) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", prefix, localErr(err))
		}
	}
	// A writer still at work below (a canceled query's worker finishing
	// its COPY) can add entries while RemoveAll empties a directory, which
	// then fails with ENOTEMPTY: go again a few times.
	var err error
	for try := 1; ; try++ {
		if err = os.RemoveAll(p); err == nil || !errors.Is(err, syscall.ENOTEMPTY) || try == localDeleteTries {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("delete %s: %w", prefix, ctx.Err())
		case <-time.After(time.Duration(try) * 20 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", prefix, localErr(err))
	}
	return nil
}

// localDeleteTries bounds the RemoveAll calls of one DeletePrefix.
const localDeleteTries = 5

// syncDir makes a rename or link in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ---- S3 backend ----

// Sizes of S3 uploads and copies.
const (
	// s3MultipartThreshold is the file size above which PutFile uploads
	// in parts.
	s3MultipartThreshold = 64 << 20
	// s3PartSize is the smallest part PutFile uploads (S3's minimum is 5 MiB).
	s3PartSize = 16 << 20
	// s3MaxCopySize is the largest object one CopyObject copies.
	s3MaxCopySize = 5 << 30
	// s3CopyPartSize is the part size of a multipart copy.
	s3CopyPartSize = 1 << 30
)

// PutFile streams the file: one PutObject up to s3MultipartThreshold, a
// multipart upload (parts read from the file, never all in memory) above.
func (b *s3Backend) PutFile(ctx context.Context, key, src string, ifAbsent bool) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	size := info.Size()
	if size <= b.multipartThreshold() {
		return b.put(ctx, key, f, size, ifAbsent)
	}
	// S3 allows 10,000 parts: grow the part size for huge files.
	partSize := max(s3PartSize, (size+9999)/10000)
	return b.multipart(ctx, key, ifAbsent, func(ctx context.Context, uploadID string) ([]types.CompletedPart, error) {
		var parts []types.CompletedPart
		for off, n := int64(0), int32(1); off < size; off, n = off+partSize, n+1 {
			length := min(partSize, size-off)
			out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:        aws.String(b.bucket),
				Key:           aws.String(b.root + key),
				UploadId:      aws.String(uploadID),
				PartNumber:    aws.Int32(n),
				Body:          io.NewSectionReader(f, off, length),
				ContentLength: aws.Int64(length),
			})
			if err != nil {
				return nil, b.wrapWrite(ctx, "upload part of", b.uri(key), err)
			}
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		}
		return parts, nil
	})
}

// multipartThreshold is the size above which PutFile uploads in parts.
func (b *s3Backend) multipartThreshold() int64 {
	if b.partThreshold > 0 {
		return b.partThreshold
	}
	return s3MultipartThreshold
}

func (b *s3Backend) put(ctx context.Context, key string, body io.ReadSeeker, size int64, ifAbsent bool) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.root + key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := b.client.PutObject(ctx, in); err != nil {
		return b.wrapWrite(ctx, "put", b.uri(key), err)
	}
	return nil
}

func (b *s3Backend) uri(key string) string { return "s3://" + b.bucket + "/" + b.root + key }

// Get is a GetObject of the whole object.
func (b *s3Backend) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		return nil, b.wrapWrite(ctx, "get", b.uri(key), err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, b.wrap(ctx, "get", b.uri(key), err)
	}
	return data, nil
}

// Stat is a HeadObject.
func (b *s3Backend) Stat(ctx context.Context, key string) (Object, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		return Object{}, b.wrapWrite(ctx, "stat", b.uri(key), err)
	}
	return Object{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

// Delete is a DeleteObject, which S3 answers with success for absent keys.
func (b *s3Backend) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		err = b.wrapWrite(ctx, "delete", b.uri(key), err)
		if errors.Is(err, ErrObjectNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// s3DeleteBatch is the most keys one DeleteObjects call takes.
const s3DeleteBatch = 1000

// deleteBatch is how many keys DeletePrefix deletes per call.
func (b *s3Backend) deleteBatch() int {
	if b.delBatch > 0 {
		return b.delBatch
	}
	return s3DeleteBatch
}

// DeletePrefix lists prefix and deletes what it found, s3DeleteBatch keys
// per DeleteObjects call (S3's limit).
func (b *s3Backend) DeletePrefix(ctx context.Context, prefix string) error {
	objs, err := b.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("delete %s: %w", b.uri(prefix), err)
	}
	n := b.deleteBatch()
	for start := 0; start < len(objs); start += n {
		batch := objs[start:min(start+n, len(objs))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, o := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(b.root + o.Key)}
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(b.bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return b.wrapWrite(ctx, "delete objects under", b.uri(prefix), err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete objects under %s: %d of %d not deleted, first %s: %s %s",
				b.uri(prefix), len(out.Errors), len(batch), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
	}
	return nil
}

// Move publishes src at dst with a server-side copy, then deletes src.
// The copy is what readers see, and it is atomic. Unconditionally it is a
// CopyObject; with ifAbsent it is a multipart upload whose parts are
// UploadPartCopy of src and whose CompleteMultipartUpload carries
// If-None-Match: *, because that is where S3 and MinIO both honour the
// condition (MinIO ignores it on CopyObject). Sources over 5 GiB take
// the multipart path too, in 1 GiB parts.
func (b *s3Backend) Move(ctx context.Context, src, dst string, ifAbsent bool) error {
	srcObj, err := b.Stat(ctx, src)
	if err != nil {
		return fmt.Errorf("move %s: %w", b.uri(src), err)
	}
	if !ifAbsent && srcObj.Size <= s3MaxCopySize {
		_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:     aws.String(b.bucket),
			Key:        aws.String(b.root + dst),
			CopySource: aws.String(copySource(b.bucket, b.root+src)),
		})
		if err != nil {
			return b.wrapWrite(ctx, "copy "+b.uri(src)+" to", b.uri(dst), err)
		}
		return b.Delete(ctx, src)
	}
	if err := b.multipart(ctx, dst, ifAbsent, func(ctx context.Context, uploadID string) ([]types.CompletedPart, error) {
		var parts []types.CompletedPart
		for off, n := int64(0), int32(1); off < srcObj.Size || n == 1; off, n = off+s3CopyPartSize, n+1 {
			end := min(off+s3CopyPartSize, srcObj.Size) - 1
			in := &s3.UploadPartCopyInput{
				Bucket:     aws.String(b.bucket),
				Key:        aws.String(b.root + dst),
				UploadId:   aws.String(uploadID),
				PartNumber: aws.Int32(n),
				CopySource: aws.String(copySource(b.bucket, b.root+src)),
			}
			if srcObj.Size > 0 {
				in.CopySourceRange = aws.String(fmt.Sprintf("bytes=%d-%d", off, end))
			}
			out, err := b.client.UploadPartCopy(ctx, in)
			if err != nil {
				return nil, b.wrapWrite(ctx, "copy part of "+b.uri(src)+" to", b.uri(dst), err)
			}
			parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
			if srcObj.Size == 0 {
				break
			}
		}
		return parts, nil
	}); err != nil {
		return err
	}
	return b.Delete(ctx, src)
}

// multipart runs one multipart upload to key: upload adds the parts, then
// CompleteMultipartUpload (with If-None-Match: * when ifAbsent) makes the
// object visible at once. A failure aborts the upload.
func (b *s3Backend) multipart(ctx context.Context, key string, ifAbsent bool,
	upload func(ctx context.Context, uploadID string) ([]types.CompletedPart, error)) error {
	created, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.root + key),
	})
	if err != nil {
		return b.wrapWrite(ctx, "start upload of", b.uri(key), err)
	}
	abort := func() {
		// A fresh context: the upload's may be what ended.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = b.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(b.bucket), Key: aws.String(b.root + key), UploadId: created.UploadId,
		})
	}
	parts, err := upload(ctx, aws.ToString(created.UploadId))
	if err != nil {
		abort()
		return err
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(b.bucket),
		Key:             aws.String(b.root + key),
		UploadId:        created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := b.client.CompleteMultipartUpload(ctx, in); err != nil {
		abort()
		return b.wrapWrite(ctx, "complete upload of", b.uri(key), err)
	}
	return nil
}

// copySource is CopyObject's "bucket/key" with every key segment
// URL-escaped, as S3 requires.
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return bucket + "/" + strings.Join(segs, "/")
}

// wrapWrite is wrap plus the write API's sentinels: 412 Precondition
// Failed (and 409 ConditionalRequestConflict, a concurrent conditional
// write that lost) become ErrExists, a missing object ErrObjectNotFound.
func (b *s3Backend) wrapWrite(ctx context.Context, op, uri string, err error) error {
	if ctx.Err() == nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			switch api.ErrorCode() {
			case "PreconditionFailed", "ConditionalRequestConflict":
				return fmt.Errorf("%s %s: %w", op, uri, ErrExists)
			case "NoSuchKey", "NotFound":
				return fmt.Errorf("%s %s: %w", op, uri, ErrObjectNotFound)
			}
		}
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) {
			switch resp.HTTPStatusCode() {
			case 412:
				return fmt.Errorf("%s %s: %w", op, uri, ErrExists)
			case 404:
				if api == nil || api.ErrorCode() != "NoSuchBucket" {
					return fmt.Errorf("%s %s: %w", op, uri, ErrObjectNotFound)
				}
			}
		}
	}
	return b.wrap(ctx, op, uri, err)
}
