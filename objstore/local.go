package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Local is a store in a local directory: a key is a slash-separated path
// below it.
type Local struct {
	dir string // absolute
}

// NewLocal is the store in dir, an absolute directory.
func NewLocal(dir string) *Local { return &Local{dir: dir} }

// List walks the directory under prefix. Symlinked directories are not
// followed (a link could leave the warehouse or loop); symlinked files are
// listed with the target's size.
func (b *Local) List(ctx context.Context, prefix string) ([]Object, error) {
	start := b.dir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir := prefix[:i]
		if !filepath.IsLocal(filepath.FromSlash(dir)) {
			return nil, fmt.Errorf("list %s: prefix %q leaves the warehouse", b.dir, prefix)
		}
		start = b.dir
		for _, seg := range strings.Split(dir, "/") {
			start = filepath.Join(start, seg)
			info, err := os.Lstat(start)
			if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.IsDir()) {
				// Absent, a file, or a symlink the full walk would not
				// follow either: like S3, the prefix lists nothing.
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", path.Join(b.dir, prefix), localErr(err))
			}
		}
	}
	var objs []Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll // removed since the check above
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(b.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := os.Stat(p) // follows a symlinked file to its target
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted mid-walk, or a dangling link
			}
			return err
		}
		if !info.Mode().IsRegular() {
			return nil // symlinked directories, sockets, devices
		}
		objs = append(objs, Object{Key: key, Size: info.Size(), ETag: fileETag(info)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", path.Join(b.dir, prefix), localErr(err))
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

// ReadRange reads n bytes of key at off.
func (b *Local) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return nil, fmt.Errorf("read %s: key leaves the warehouse", key)
	}
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("read %s: invalid range %d+%d", key, off, n)
	}
	f, err := os.Open(filepath.Join(b.dir, filepath.FromSlash(key)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, localErr(err))
	}
	defer func() { _ = f.Close() }() // read only
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s at %d: %w", key, off, localErr(err))
	}
	return buf[:got], nil
}

// localErr marks permission errors as ErrAccessDenied.
func localErr(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %w", err, ErrAccessDenied)
	}
	return err
}

func (b *Local) path(key string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return "", fmt.Errorf("object %s: key leaves the warehouse", key)
	}
	return filepath.Join(b.dir, filepath.FromSlash(key)), nil
}

// PutFile copies src into a synced temporary file next to key, then
// renames (overwrite) or links (ifAbsent) it into place.
func (b *Local) PutFile(ctx context.Context, key, src string, ifAbsent bool) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer func() { _ = f.Close() }() // read only
	return b.put(ctx, key, f, ifAbsent)
}

func (b *Local) put(ctx context.Context, key string, r io.Reader, ifAbsent bool) error {
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
		_ = tmp.Close() // the error above is the one to report
		return fmt.Errorf("put %s: %w", key, localErr(err))
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close() // the error above is the one to report
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close() // the error above is the one to report
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
func (b *Local) place(key, tmp, dst string, ifAbsent bool) error {
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
func (b *Local) Get(ctx context.Context, key string) ([]byte, error) {
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
func (b *Local) Stat(ctx context.Context, key string) (Object, error) {
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
func (b *Local) Delete(ctx context.Context, key string) error {
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
func (b *Local) Move(ctx context.Context, src, dst string, ifAbsent bool) error {
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
func (b *Local) DeletePrefix(ctx context.Context, prefix string) error {
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
	defer func() { _ = d.Close() }() // a directory opened to sync it
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
