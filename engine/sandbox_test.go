package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSandbox(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	wh := filepath.Join(root, "wh")
	sibling := filepath.Join(root, "wh2")
	require.NoError(t, os.MkdirAll(wh, 0o755))
	require.NoError(t, os.MkdirAll(sibling, 0o755))

	// Write the fixtures before the sandbox exists.
	setup, err := Open(ctx, Options{})
	require.NoError(t, err)
	for _, f := range []string{filepath.Join(wh, "t.parquet"), filepath.Join(sibling, "t.parquet")} {
		_, err = setup.SQL().ExecContext(ctx, "COPY (SELECT range AS a FROM range(3)) TO "+QuoteString(f)+" (FORMAT parquet)")
		require.NoError(t, err)
	}
	require.NoError(t, setup.Close())

	opts := Options{Sandbox: &Sandbox{AllowedDirectories: []string{wh}}}
	if _, err := FindHTTPFS(extDirForTest()); err == nil {
		opts.LoadHTTPFS, opts.ExtensionDir = true, extDirForTest()
		opts.S3 = &S3Config{AccessKeyID: "a", SecretAccessKey: "b", Region: "us-east-1"}
	}
	db, err := Open(ctx, opts)
	require.NoError(t, err)
	defer db.Close()
	db.SQL().SetMaxIdleConns(0) // every statement opens a fresh connection

	var n int
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+QuoteString(filepath.Join(wh, "t.parquet"))+")").Scan(&n))
	require.Equal(t, 3, n)
	var tz string
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT current_setting('TimeZone')").Scan(&tz))
	require.Equal(t, "UTC", tz)

	refused := []struct {
		name, sql, want string
	}{
		{"etc passwd", "SELECT * FROM read_csv('/etc/passwd')", "Permission Error"},
		{"read_text", "SELECT * FROM read_text('/etc/hostname')", "Permission Error"},
		{"dot dot", "SELECT * FROM read_parquet(" + QuoteString(wh+"/../wh2/t.parquet") + ")", "Permission Error"},
		{"sibling prefix", "SELECT * FROM read_parquet(" + QuoteString(filepath.Join(sibling, "t.parquet")) + ")", "Permission Error"},
		{"glob outside", "SELECT * FROM glob('/etc/*')", "Permission Error"},
		{"enable external access", "SET enable_external_access = true", "locked"},
		{"allowed directories", "SET allowed_directories = ['/']", "locked"},
		{"unlock", "SET lock_configuration = false", "locked"},
		{"attach", "ATTACH '/tmp/quiver-sandbox-test.db'", "Permission Error"},
		{"copy to", "COPY (SELECT 1) TO '/tmp/quiver-sandbox-test.csv'", "Permission Error"},
		{"install", "INSTALL httpfs", ""},
		{"load", "LOAD '/tmp/evil.duckdb_extension'", ""},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.SQL().ExecContext(ctx, tc.sql)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	if opts.S3 != nil {
		// Credential rotation still works with the configuration locked.
		require.NoError(t, db.SetS3(ctx, S3Config{AccessKeyID: "c", SecretAccessKey: "d", Region: "us-east-1"}))
		// So do the scoped secrets of vended credentials: the longest
		// matching scope wins, the worker's own secret reads the rest.
		require.NoError(t, db.SetS3Secret(ctx, "quiver_vended_x", S3Config{AccessKeyID: "e", SecretAccessKey: "f", Scope: "s3://lake/sales"}))
		which := func(path string) string {
			var name string
			require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT name FROM which_secret("+QuoteString(path)+", 's3')").Scan(&name))
			return name
		}
		require.Equal(t, "quiver_vended_x", which("s3://lake/sales/data/1.parquet"))
		require.Equal(t, "quiver_s3", which("s3://lake/hr/1.parquet"))
		require.NoError(t, db.DropSecret(ctx, "quiver_vended_x"))
		require.Equal(t, "quiver_s3", which("s3://lake/sales/data/1.parquet"))
		require.NoError(t, db.DropSecret(ctx, "quiver_vended_x"), "dropping a secret that is not there is no error")
	}
}

func TestSandboxDirectories(t *testing.T) {
	got, err := Sandbox{AllowedDirectories: []string{"/data/wh", "s3://bucket/prefix", "s3://b/p/"}}.directories("/tmp/x")
	require.NoError(t, err)
	require.Equal(t, []string{"/data/wh/", "s3://bucket/prefix/", "s3://b/p/", "/tmp/x/"}, got)
}

func extDirForTest() string {
	if d := os.Getenv("QUIVER_EXTENSION_DIR"); d != "" {
		return d
	}
	abs, _ := filepath.Abs(filepath.Join("..", ".tools", "duckdb-extensions"))
	return abs
}
