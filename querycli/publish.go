package querycli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/publish"
	"github.com/quiver-data/quiver/storage"
)

// PublishOptions say where RunPublish puts a result.
type PublishOptions struct {
	// URI is the object to publish: s3://bucket/key or file:///abs/path.
	URI string
	// Replace publishes over an existing object; without it an existing
	// object fails the command (If-None-Match).
	Replace bool
	// Storage configures S3 access (endpoint, region, addressing).
	Storage storage.Options
	// TempDir holds the result while it is written; "" is os.TempDir.
	TempDir string
}

// IsPublishURI reports whether --out names an object to publish (s3:// or
// file://) rather than a plain local file.
func IsPublishURI(out string) bool {
	return strings.HasPrefix(out, "s3://") || strings.HasPrefix(out, "file://")
}

// RunPublish runs opts.SQL like Run, writes the whole result in
// opts.Format or the format the URI's extension implies (csv, json or
// parquet; see OutputFormat) to a temporary file, and publishes it at p.URI the way report
// jobs do (package publish): a hidden staging object, a
// conditional publish, then a _SUCCESS marker with the row count, size
// and SHA-256. Readers never see a partial object, and a failed or killed
// command leaves nothing at p.URI; its staging object is removed by the
// next RunPublish to the same URI.
func RunPublish(ctx context.Context, opts Options, p PublishOptions) (publish.Result, error) {
	if strings.TrimSpace(opts.SQL) == "" {
		return publish.Result{}, ErrNoSQL
	}
	if !IsPublishURI(p.URI) {
		return publish.Result{}, fmt.Errorf("--out %q: want s3://bucket/key or file:///path", p.URI)
	}
	format, err := OutputFormat(p.URI, opts.Format)
	if err != nil {
		return publish.Result{}, err
	}
	opts.Format = format
	store, key, err := storage.OpenObject(ctx, p.URI, p.Storage)
	if err != nil {
		return publish.Result{}, err
	}
	rdr, release, err := query(ctx, opts)
	if err != nil {
		return publish.Result{}, err
	}
	defer release()

	tmp, err := os.CreateTemp(p.TempDir, "quiver-query-*")
	if err != nil {
		return publish.Result{}, fmt.Errorf("create result file: %w", err)
	}
	defer os.Remove(tmp.Name())
	counted := &output.CountingReader{RecordReader: rdr}
	err = output.RenderWith(ctx, tmp, opts.Format, counted, 0, opts.allocator())
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return publish.Result{}, err
	}
	if _, err := publish.CleanSiblings(ctx, store, key); err != nil {
		return publish.Result{}, err
	}
	return publish.File(ctx, store, key, tmp.Name(), publish.Marker{Rows: counted.Rows, Format: opts.Format},
		publish.Options{Replace: p.Replace})
}
