package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// Sandbox confines an embedded DuckDB to the warehouse: once applied, the
// database reads and writes only under AllowedDirectories and its temp
// directory, cannot install or load extensions, and cannot change any
// setting again (lock_configuration).
//
// Apply it after httpfs is loaded and the S3 secret exists: DuckDB's secret
// manager touches its secret directory the first time a secret is created,
// which external access off forbids. Replacing the temporary secret later
// (credential rotation) still works with the configuration locked.
type Sandbox struct {
	// AllowedDirectories are local directories or s3://bucket/prefix/
	// URLs DuckDB may read. Local paths are made absolute; every entry
	// gets a trailing slash so /data/wh does not admit /data/wh2.
	AllowedDirectories []string
}

// directories returns the allowed directories as DuckDB wants them.
func (s Sandbox) directories(tempDir string) ([]string, error) {
	var out []string
	add := func(dir string) error {
		if dir == "" {
			return nil
		}
		if !strings.Contains(dir, "://") {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("sandbox directory %q: %w", dir, err)
			}
			dir = abs
		}
		if !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		out = append(out, dir)
		return nil
	}
	for _, d := range s.AllowedDirectories {
		if err := add(d); err != nil {
			return nil, err
		}
	}
	if err := add(tempDir); err != nil {
		return nil, err
	}
	return out, nil
}

// ApplySandbox applies sb to the database. The order matters: DuckDB only
// accepts allowed_directories while external access is still enabled, and
// nothing can be changed once the configuration is locked. Connections
// opened afterwards skip their per-session settings (the global TimeZone is
// set here instead).
func (db *DB) ApplySandbox(ctx context.Context, sb Sandbox) error {
	var tempDir string
	if err := db.sql.QueryRowContext(ctx, "SELECT current_setting('temp_directory')").Scan(&tempDir); err != nil {
		return fmt.Errorf("sandbox: read temp_directory: %w", err)
	}
	dirs, err := sb.directories(tempDir)
	if err != nil {
		return err
	}
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = QuoteString(d)
	}
	stmts := []string{
		"SET GLOBAL TimeZone = 'UTC'",
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
		"SET GLOBAL allowed_directories = [" + strings.Join(quoted, ", ") + "]",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL allow_community_extensions = false",
		"SET GLOBAL lock_configuration = true",
	}
	for _, stmt := range stmts {
		if stmt == "SET GLOBAL lock_configuration = true" {
			// From here on new connections must not try to SET anything.
			db.locked.Store(true)
		}
		if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sandbox duckdb (%s): %w", stmt, err)
		}
	}
	db.logger.Info("duckdb sandboxed", "allowed_directories", dirs)
	return nil
}
