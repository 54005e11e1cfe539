package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// DefaultFooterCacheSize is the number of footers a warehouse keeps when
// Options.FooterCacheSize is zero.
const DefaultFooterCacheSize = 100_000

// Options configure a Warehouse. The zero value is usable.
type Options struct {
	// S3Endpoint is the URL of an S3-compatible server, e.g.
	// "http://127.0.0.1:9000"; empty means AWS.
	S3Endpoint string
	// S3Region defaults to the environment's region, then "us-east-1".
	S3Region string
	// S3PathStyle forces path-style (true) or virtual-host (false)
	// addressing; nil means path style iff S3Endpoint is set.
	S3PathStyle *bool
	// FooterCacheSize is the maximum number of cached footers; 0 means
	// DefaultFooterCacheSize.
	FooterCacheSize int
	// Logger receives debug logs of listings and footer reads; nil discards.
	Logger *slog.Logger
	// Registerer receives the storage metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Warehouse is a set of Parquet tables under one root, with a cache of the
// footers it has read.
type Warehouse struct {
	backend  Backend
	root     Location
	endpoint string
	logger   *slog.Logger
	metrics  *metrics
	footers  *footerCache
	flights  singleflight.Group
}

// Open parses uri ("s3://bucket/prefix", "/abs/dir", "./rel/dir",
// "file:///abs") and returns a Warehouse over it. It never contacts S3, so a
// server can start while S3 is down; a missing local directory is an error
// naming it.
func Open(ctx context.Context, uri string, opts Options) (*Warehouse, error) {
	loc, err := parseLocation(uri)
	if err != nil {
		return nil, err
	}
	switch loc.Scheme {
	case "s3":
		b, err := newS3Backend(ctx, loc, opts)
		if err != nil {
			return nil, fmt.Errorf("open warehouse %s: %w", loc, err)
		}
		return NewWarehouse(b, loc, opts), nil
	default:
		info, err := os.Stat(loc.Dir)
		if err != nil {
			return nil, fmt.Errorf("open warehouse %s: %w", loc.Dir, err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("open warehouse %s: not a directory", loc.Dir)
		}
		return NewWarehouse(newLocalBackend(loc.Dir), loc, opts), nil
	}
}

// NewWarehouse builds a Warehouse over any Backend; root says how its keys
// become URIs. Unit tests use it with fake backends.
func NewWarehouse(b Backend, root Location, opts Options) *Warehouse {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	size := opts.FooterCacheSize
	if size <= 0 {
		size = DefaultFooterCacheSize
	}
	w := &Warehouse{
		backend: b,
		root:    root,
		logger:  logger,
		metrics: newMetrics(opts.Registerer),
		footers: newFooterCache(size),
	}
	if root.Scheme == "s3" {
		w.endpoint = opts.S3Endpoint
	}
	return w
}

// String is the warehouse URI, for messages.
func (w *Warehouse) String() string { return w.root.String() }

// Location is where the warehouse lives.
func (w *Warehouse) Location() Location { return w.root }

// URI is what DuckDB reads for key: "s3://bucket/prefix/key" or the absolute
// local path.
func (w *Warehouse) URI(key string) string { return w.root.uri(key) }

// Endpoint is the S3 endpoint URL, for messages; "" for a local warehouse or
// the default AWS endpoint.
func (w *Warehouse) Endpoint() string { return w.endpoint }
