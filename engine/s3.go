package engine

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// S3Config is what DuckDB's httpfs needs to read a warehouse in S3.
type S3Config struct {
	// Endpoint is an S3-compatible server URL such as http://127.0.0.1:9000;
	// empty means AWS.
	Endpoint  string
	Region    string
	PathStyle bool
	// Credentials; empty key means httpfs reads anonymously.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Scope limits the secret to URLs under it (e.g. s3://bucket/prefix):
	// DuckDB uses it for nothing else.
	Scope string
}

// SetS3 installs (or replaces) the temporary S3 secret. Temporary secrets live
// only in this process's memory and are never written to disk.
func (db *DB) SetS3(ctx context.Context, c S3Config) error {
	return db.SetS3Secret(ctx, "quiver_s3", c)
}

// SetS3Secret installs (or replaces) the temporary S3 secret name (a plain
// identifier). DuckDB reads each URL with the secret whose Scope is its
// longest prefix.
func (db *DB) SetS3Secret(ctx context.Context, name string, c S3Config) error {
	opts := []string{"TYPE s3"}
	add := func(k, v string) {
		if v != "" {
			opts = append(opts, k+" "+QuoteString(v))
		}
	}
	add("KEY_ID", c.AccessKeyID)
	add("SECRET", c.SecretAccessKey)
	add("SESSION_TOKEN", c.SessionToken)
	add("REGION", c.Region)
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" {
			return fmt.Errorf("s3 endpoint %q: want a URL like http://host:port", c.Endpoint)
		}
		add("ENDPOINT", u.Host)
		opts = append(opts, fmt.Sprintf("USE_SSL %t", u.Scheme == "https"))
	}
	if c.PathStyle {
		opts = append(opts, "URL_STYLE 'path'")
	}
	add("SCOPE", c.Scope)
	stmt := "CREATE OR REPLACE TEMPORARY SECRET " + QuoteIdent(name) + " (" + strings.Join(opts, ", ") + ")"
	if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("create s3 secret for endpoint %q: %w", c.Endpoint, err)
	}
	return nil
}

// DropSecret drops the temporary secret name, if there is one.
func (db *DB) DropSecret(ctx context.Context, name string) error {
	if _, err := db.sql.ExecContext(ctx, "DROP TEMPORARY SECRET IF EXISTS "+QuoteIdent(name)); err != nil {
		return fmt.Errorf("drop secret %s: %w", name, err)
	}
	return nil
}
