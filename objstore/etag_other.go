//go:build !unix

package objstore

import (
	"fmt"
	"io/fs"
)

// fileETag fingerprints a local file by size and mtime (no inode here).
func fileETag(info fs.FileInfo) string {
	return fmt.Sprintf("%x-%x-0", info.Size(), info.ModTime().UnixNano())
}
