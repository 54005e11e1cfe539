package main

import (
	"context"
	"testing"

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
