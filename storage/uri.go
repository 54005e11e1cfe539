package storage

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Location is where a warehouse lives.
type Location struct {
	// Scheme is "s3" or "file".
	Scheme string
	// Bucket and Prefix locate an S3 warehouse; Prefix has no leading or
	// trailing slash and may be empty.
	Bucket, Prefix string
	// Dir is the absolute directory of a local warehouse.
	Dir string
}

// String is the location as a URI: "s3://bucket/prefix" or the local directory.
func (l Location) String() string {
	if l.Scheme == "s3" {
		if l.Prefix == "" {
			return "s3://" + l.Bucket
		}
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return l.Dir
}

// uri is what DuckDB reads for key: an s3:// URL or an absolute local path.
func (l Location) uri(key string) string {
	if l.Scheme == "s3" {
		if l.Prefix == "" {
			return "s3://" + l.Bucket + "/" + key
		}
		return "s3://" + l.Bucket + "/" + l.Prefix + "/" + key
	}
	return filepath.Join(l.Dir, filepath.FromSlash(key))
}

// parseLocation parses "s3://bucket/prefix", "file:///abs", "/abs/dir" or
// "./rel/dir"; relative directories are made absolute.
func parseLocation(uri string) (Location, error) {
	if strings.TrimSpace(uri) == "" {
		return Location{}, fmt.Errorf("parse warehouse uri: empty")
	}
	switch {
	case strings.HasPrefix(uri, "s3://"):
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("parse warehouse uri %q: no bucket", uri)
		}
		return Location{Scheme: "s3", Bucket: bucket, Prefix: strings.Trim(prefix, "/")}, nil
	case strings.HasPrefix(uri, "file://"):
		u, err := url.Parse(uri)
		if err != nil {
			return Location{}, fmt.Errorf("parse warehouse uri %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return Location{}, fmt.Errorf("parse warehouse uri %q: file uris cannot name a host", uri)
		}
		if !filepath.IsAbs(filepath.FromSlash(u.Path)) {
			return Location{}, fmt.Errorf("parse warehouse uri %q: file uris need an absolute path", uri)
		}
		return Location{Scheme: "file", Dir: filepath.Clean(filepath.FromSlash(u.Path))}, nil
	case strings.Contains(uri, "://"):
		scheme, _, _ := strings.Cut(uri, "://")
		return Location{}, fmt.Errorf("parse warehouse uri %q: unsupported scheme %q (want s3:// or a local directory)", uri, scheme)
	}
	dir, err := filepath.Abs(uri)
	if err != nil {
		return Location{}, fmt.Errorf("parse warehouse uri %q: %w", uri, err)
	}
	return Location{Scheme: "file", Dir: dir}, nil
}
