package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// warehouseFlags are the flags that say where the data is and how DuckDB reaches it.
type warehouseFlags struct {
	warehouse    string
	s3Endpoint   string
	s3Region     string
	s3PathStyle  string
	extensionDir string
	// dataLocations are more places DuckDB reads (Iceberg tables' data).
	dataLocations listFlag
}

func (w *warehouseFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.warehouse, "warehouse", "./warehouse", "warehouse: a local directory or s3://bucket/prefix")
	fs.StringVar(&w.s3Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL, e.g. http://127.0.0.1:9000 (default: AWS)")
	fs.StringVar(&w.s3Region, "s3-region", "", "S3 region (default: from the AWS environment, else us-east-1)")
	fs.StringVar(&w.s3PathStyle, "s3-path-style", "auto", "path-style S3 addressing: true, false, or auto (true when --s3-endpoint is set)")
	fs.Var(&w.dataLocations, "data-location", "another location DuckDB may read besides the warehouse, e.g. an Iceberg catalog's s3://bucket/prefix (repeatable; `quiver serve` passes its Iceberg catalogs' to local workers)")
	fs.StringVar(&w.extensionDir, "extension-dir", "", "DuckDB extension directory holding httpfs (default: .tools/duckdb-extensions next to the binary, then /opt/quiver/extensions)")
}

func (w *warehouseFlags) isS3() bool { return strings.HasPrefix(w.warehouse, "s3://") }

// readsS3 reports whether DuckDB reads anything in S3: the warehouse or
// another data location.
func (w *warehouseFlags) readsS3() bool {
	return w.isS3() || slices.ContainsFunc(w.dataLocations, func(l string) bool { return strings.HasPrefix(l, "s3://") })
}

// secretScope limits the S3 secret to the warehouse when it is the only
// S3 location DuckDB reads; with others the secret serves every bucket.
func (w *warehouseFlags) secretScope() string {
	for _, l := range w.dataLocations {
		if strings.HasPrefix(l, "s3://") {
			return ""
		}
	}
	return strings.TrimSuffix(w.warehouse, "/")
}

func (w *warehouseFlags) pathStyle() *bool {
	switch w.s3PathStyle {
	case "true":
		return aws.Bool(true)
	case "false":
		return aws.Bool(false)
	}
	return nil
}

func (w *warehouseFlags) region() string {
	if w.s3Region != "" {
		return w.s3Region
	}
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(env); r != "" {
			return r
		}
	}
	return "us-east-1"
}

// storageOptions are the options storage.Open takes.
func (w *warehouseFlags) storageOptions() storage.Options {
	return storage.Options{S3Endpoint: w.s3Endpoint, S3Region: w.region(), S3PathStyle: w.pathStyle()}
}

// extDir resolves the extension directory: the flag (or QUIVER_EXTENSION_DIR),
// else the set-up's folder next to the binary, else the container image's.
func (w *warehouseFlags) extDir() string {
	if w.extensionDir != "" {
		return w.extensionDir
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Join(filepath.Dir(exe), "..", ".tools", "duckdb-extensions")
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	return "/opt/quiver/extensions"
}

// openEngine opens a DuckDB that can read the warehouse: httpfs and the S3
// secret for s3:// warehouses, kept fresh from the AWS default chain.
//
// A sandbox in opts is applied last, after the secret exists.
func (w *warehouseFlags) openEngine(ctx context.Context, opts engine.Options) (*engine.DB, *engine.S3Secret, error) {
	opts.ExtensionDir = w.extDir()
	opts.LoadHTTPFS = w.readsS3()
	sandbox := opts.Sandbox
	opts.Sandbox = nil
	db, err := engine.Open(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	applySandbox := func() error {
		if sandbox == nil {
			return nil
		}
		return db.ApplySandbox(ctx, *sandbox)
	}
	if !w.readsS3() {
		if err := applySandbox(); err != nil {
			_ = db.Close() // the error above is the one to report
			return nil, nil, err
		}
		return db, nil, nil
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(w.region()))
	if err != nil {
		_ = db.Close() // the error above is the one to report
		return nil, nil, err
	}
	style := w.pathStyle()
	secret := engine.NewS3Secret(db, engine.S3Config{
		Scope:     w.secretScope(),
		Endpoint:  w.s3Endpoint,
		Region:    w.region(),
		PathStyle: (style == nil && w.s3Endpoint != "") || (style != nil && *style),
	}, awsCfg.Credentials)
	if err := secret.Ensure(ctx); err != nil {
		_ = db.Close() // the error above is the one to report
		return nil, nil, err
	}
	if err := applySandbox(); err != nil {
		_ = db.Close() // the error above is the one to report
		return nil, nil, err
	}
	return db, secret, nil
}

// sandbox confines a worker's DuckDB to the warehouse and the other data
// locations (and its temp directory).
func (w *warehouseFlags) sandbox() *engine.Sandbox {
	return &engine.Sandbox{AllowedDirectories: append([]string{w.warehouse}, w.dataLocations...)}
}
