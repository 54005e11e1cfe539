package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestServeRefusesPublicListenWithoutAuth(t *testing.T) {
	err := runServe(context.Background(), []string{"--listen", "0.0.0.0:0", "--warehouse", t.TempDir()})
	require.ErrorContains(t, err, "not a loopback address")
	require.ErrorContains(t, err, "--insecure-no-auth")
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8815": true, "[::1]:1": true, "localhost:1": true,
		"0.0.0.0:8815": false, ":8815": false, "10.0.0.1:1": false, "nonsense": false,
	} {
		require.Equal(t, want, isLoopback(addr), addr)
	}
}

func TestServeNeedsHTTPFSForS3(t *testing.T) {
	err := runServe(context.Background(), []string{"--warehouse", "s3://b/p", "--extension-dir", t.TempDir()})
	require.ErrorContains(t, err, "duckdb-extension-httpfs==1.5.5")
}

// freeAddr is a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// TestServeRunsUntilCanceled runs the whole of serve in process, with a
// remote worker that is not there: it serves Flight SQL and /readyz (not
// ready: no healthy worker) until its context ends, then drains, stops
// and releases its ports and the audit log, returning nil.
func TestServeRunsUntilCanceled(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	addr, ops, gone := freeAddr(t), freeAddr(t), freeAddr(t)
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--listen", addr, "--http-listen", ops, "--warehouse", t.TempDir(),
			"--worker", gone, "--audit-log", audit, "--drain-timeout", "1s", "--log-level", "error"})
	}()
	var status int
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return false
		}
		status = resp.StatusCode
		return resp.Body.Close() == nil
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusServiceUnavailable, status, "no healthy worker")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err, "Flight SQL is served")
	require.NoError(t, conn.Close())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	require.FileExists(t, audit)
	for _, a := range []string{addr, ops} {
		l, err := net.Listen("tcp", a)
		require.NoError(t, err, "%s is released", a)
		require.NoError(t, l.Close())
	}
}

// TestWorkerRunsUntilCanceled runs the whole of worker in process: it
// serves fragments and /healthz until its context ends, then drains and
// stops, returning nil.
func TestWorkerRunsUntilCanceled(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	addr, ops := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runWorker(ctx, []string{"--listen", addr, "--http-listen", ops, "--warehouse", t.TempDir(),
			"--temp-dir", t.TempDir(), "--memory-limit", "256MB", "--threads", "1", "--log-level", "error"})
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return false
		}
		return resp.Body.Close() == nil && resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err, "fragments are served")
	require.NoError(t, conn.Close())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop")
	}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the port is released")
	require.NoError(t, l.Close())
}
