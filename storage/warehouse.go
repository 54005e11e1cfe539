package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/quiver-data/quiver/objstore"
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

// Object is one file of the warehouse as listed: an objstore.Object, named
// here so that the warehouse's callers need not import the layer below.
type Object = objstore.Object

// Warehouse is a set of Parquet tables under one root, with a cache of the
// footers it has read.
type Warehouse struct {
	backend  objstore.Backend
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
		b, err := newS3(ctx, loc, opts)
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
		return NewWarehouse(objstore.NewLocal(loc.Dir), loc, opts), nil
	}
}

// newS3 is the S3 store at loc.
func newS3(ctx context.Context, loc Location, opts Options) (*objstore.S3, error) {
	return objstore.NewS3(ctx, objstore.S3Options{
		Bucket: loc.Bucket, Prefix: loc.Prefix,
		Endpoint: opts.S3Endpoint, Region: opts.S3Region, PathStyle: opts.S3PathStyle,
		// Two connections per footer read a Table call makes at once.
		MaxIdleConnsPerHost: 2 * footerConcurrency,
	})
}

// NewWarehouse builds a Warehouse over any objstore.Backend; root says how
// its keys become URIs. Unit tests use it with fake backends; a backend that
// is no objstore.WriteBackend makes the write methods fail with ErrReadOnly.
func NewWarehouse(b objstore.Backend, root Location, opts Options) *Warehouse {
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
