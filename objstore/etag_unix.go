//go:build unix

package objstore

import (
	"fmt"
	"io/fs"
	"syscall"
)

// fileETag fingerprints a local file by size, mtime and inode: a rewrite in
// place or a rename over it changes at least one of them.
func fileETag(info fs.FileInfo) string {
	var ino uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	return fmt.Sprintf("%x-%x-%x", info.Size(), info.ModTime().UnixNano(), ino)
}
