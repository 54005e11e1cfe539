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
// deadWorker is an address held for the test by a listener that closes
// every connection: no worker can answer there (a port only freed could be
// taken by another test's worker meanwhile).
func deadWorker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return l.Addr().String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// runUntilCanceled runs command (runServe, runWorker) in process with
// args until its /readyz on ops answers and addr accepts connections,
// then cancels it and requires it to return nil. It returns the status
// /readyz answered.
func runUntilCanceled(t *testing.T, command func(context.Context, []string) error, args []string, addr, ops string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- command(ctx, args) }()
	var status int
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return false
		}
		status = resp.StatusCode
		return resp.Body.Close() == nil
	}, 30*time.Second, 20*time.Millisecond)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err, "%s is served", addr)
	require.NoError(t, conn.Close())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
	for _, a := range []string{addr, ops} {
		l, err := net.Listen("tcp", a)
		require.NoError(t, err, "%s is released", a)
		require.NoError(t, l.Close())
	}
	return status
}

// TestServeRunsUntilCanceled runs the whole of serve, with a remote worker
// that is not there: it serves Flight SQL and /readyz (not ready: no
// healthy worker) until its context ends, then drains, stops and releases
// its ports and the audit log.
func TestServeRunsUntilCanceled(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	addr, ops, gone := freeAddr(t), freeAddr(t), deadWorker(t)
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	status := runUntilCanceled(t, runServe, []string{"--listen", addr, "--http-listen", ops, "--warehouse", t.TempDir(),
		"--worker", gone, "--audit-log", audit, "--drain-timeout", "1s", "--log-level", "error"}, addr, ops)
	require.Equal(t, http.StatusServiceUnavailable, status, "no healthy worker")
	require.FileExists(t, audit)
}

// TestWorkerRunsUntilCanceled runs the whole of worker: it serves
// fragments and /readyz until its context ends, then drains and stops.
func TestWorkerRunsUntilCanceled(t *testing.T) {
	t.Setenv("QUIVER_WORKER_SECRET", "0123456789abcdef0123")
	addr, ops := freeAddr(t), freeAddr(t)
	status := runUntilCanceled(t, runWorker, []string{"--listen", addr, "--http-listen", ops, "--warehouse", t.TempDir(),
		"--temp-dir", t.TempDir(), "--memory-limit", "256MB", "--threads", "1", "--log-level", "error"}, addr, ops)
	require.Equal(t, http.StatusOK, status)
}

func TestServeRefusesTwoPolicies(t *testing.T) {
	err := runServe(context.Background(), []string{"--warehouse", t.TempDir(), "--policy-file", "p.yaml", "--policy-rego", "bundle"})
	require.ErrorContains(t, err, "--policy-file and --policy-rego are two policies; give one")
}

func TestServeRefusesCacheDirWithoutSize(t *testing.T) {
	err := runServe(context.Background(), []string{"--warehouse", t.TempDir(), "--result-cache-dir", t.TempDir()})
	require.ErrorContains(t, err, "--result-cache-dir needs --result-cache-size")
}
