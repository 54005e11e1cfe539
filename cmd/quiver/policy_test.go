package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/policy"
)

// TestServeRefusesPolicyWithUnknownColumn: serve over demo data does not
// start with a policy that denies a column demo.profiles lacks, and the
// error names the table and the column.
func TestServeRefusesPolicyWithUnknownColumn(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	wh := t.TempDir()
	require.NoError(t, runDemoData(context.Background(), []string{"--scale", "0.001", "--warehouse", wh, "--log-level", "error"}))
	file := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("rules:\n  - match: {sub: anonymous}\n    tables: [\"demo.*\"]\n    deny_columns: {demo.profiles: [emial]}\n"), 0o600))
	err := runServe(context.Background(), []string{"--listen", freeAddr(t), "--http-listen", freeAddr(t), "--warehouse", wh,
		"--worker", deadWorker(t), "--policy-file", file, "--log-level", "error"})
	require.ErrorContains(t, err, `table demo.profiles has no column "emial"`)
	require.ErrorContains(t, err, file)
}

// TestServeRefusesBadRego: serve does not start with a Rego bundle that
// does not compile, and the error names the file and line.
func TestServeRefusesBadRego(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	bundle := filepath.Join(t.TempDir(), "p.rego")
	require.NoError(t, os.WriteFile(bundle, []byte("package trino\nallow if {\n"), 0o600))
	err := runServe(context.Background(), []string{"--listen", freeAddr(t), "--http-listen", freeAddr(t), "--warehouse", t.TempDir(),
		"--worker", deadWorker(t), "--policy-rego", bundle, "--log-level", "error"})
	require.ErrorIs(t, err, policy.ErrInvalid)
	require.ErrorContains(t, err, bundle+":3: rego_parse_error")
}
