package lakehouse

import (
	"fmt"
	"path"
	"strings"
)

// readerURI is the location DuckDB reads for a file the table metadata
// spells loc: s3:// URLs unchanged (s3a:// and s3n://, Hadoop's spellings
// of the same objects, become s3://), file: URIs and absolute paths as the
// local path. Iceberg writers spell local files both file:///x (pyiceberg)
// and file:/x (Java's HadoopFileIO), sometimes within one table.
func readerURI(loc string) (string, error) {
	scheme, rest, ok := strings.Cut(loc, ":")
	if !ok || strings.HasPrefix(loc, "/") {
		if strings.HasPrefix(loc, "/") {
			return loc, nil
		}
		return "", fmt.Errorf("location %q is neither a URI nor an absolute path: %w", loc, ErrUnsupported)
	}
	switch strings.ToLower(scheme) {
	case "s3", "s3a", "s3n":
		if !strings.HasPrefix(rest, "//") {
			return "", fmt.Errorf("location %q has no bucket: %w", loc, ErrUnsupported)
		}
		return "s3:" + rest, nil
	case "file":
		p := rest
		if after, ok := strings.CutPrefix(p, "//"); ok {
			// file://host/x: only an empty host or localhost is this machine.
			host, tail, _ := strings.Cut(after, "/")
			if host != "" && !strings.EqualFold(host, "localhost") {
				return "", fmt.Errorf("location %q names host %q: %w", loc, host, ErrUnsupported)
			}
			p = "/" + tail
		}
		if !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("location %q is not an absolute path: %w", loc, ErrUnsupported)
		}
		return p, nil
	}
	return "", fmt.Errorf("location %q: the %s:// scheme (Quiver reads s3:// and local files): %w", loc, scheme, ErrUnsupported)
}

// warehouseLocation is a warehouse as workers must be allowed to read it:
// s3://bucket/prefix without a trailing slash, or a clean absolute local
// directory.
func warehouseLocation(loc string) (string, error) {
	u, err := readerURI(loc)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(u, "s3://") {
		return strings.TrimRight(u, "/"), nil
	}
	return path.Clean(u), nil
}
