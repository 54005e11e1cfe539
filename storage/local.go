package storage

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
)

// localBackend is a warehouse in a local directory.
type localBackend struct {
	dir string // absolute
}

func newLocalBackend(dir string) *localBackend { return &localBackend{dir: dir} }

// List walks the directory under prefix. Symlinked directories are not
// followed (a link could leave the warehouse or loop); symlinked files are
// listed with the target's size.
func (b *localBackend) List(ctx context.Context, prefix string) ([]Object, error) {
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
func (b *localBackend) ReadRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
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
	defer f.Close()
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
