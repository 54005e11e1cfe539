//go:build quivertest

package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/reports"
)

// TestTestHooksArmedFromEnvironment: the test binary arms each hook from
// its variable (testhooks_off_test.go checks the release binary does not).
func TestTestHooksArmedFromEnvironment(t *testing.T) {
	require.True(t, testHooksBuilt)
	logger := slog.New(slog.DiscardHandler)

	t.Setenv(envTestClock, "")
	t.Setenv(envTestPublishPause, "")
	t.Setenv(envTestIgnoreInterrupts, "")
	var opts reports.Options
	reportTestHooks(&opts, logger)
	require.Nil(t, opts.Now, "unset: the real clock")
	require.Nil(t, opts.AfterStaging)
	n, err := ignoreInterruptsHook()
	require.NoError(t, err)
	require.Zero(t, n)

	t.Setenv(envTestClock, filepath.Join(t.TempDir(), "clock"))
	t.Setenv(envTestPublishPause, t.TempDir())
	t.Setenv(envTestIgnoreInterrupts, "2")
	reportTestHooks(&opts, logger)
	require.NotNil(t, opts.Now)
	require.NotNil(t, opts.AfterStaging)
	n, err = ignoreInterruptsHook()
	require.NoError(t, err)
	require.Equal(t, 2, n)

	t.Setenv(envTestIgnoreInterrupts, "some")
	_, err = ignoreInterruptsHook()
	require.ErrorContains(t, err, `QUIVER_TEST_IGNORE_INTERRUPTS="some": want a number of fragments`)
}

func TestFileClock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clock")
	now := fileClock(file, slog.New(slog.DiscardHandler))
	require.WithinDuration(t, time.Now(), now(), time.Minute, "a missing file falls back to the real time")
	require.NoError(t, os.WriteFile(file, []byte("2025-01-02T10:00:00Z\n"), 0o600))
	require.Equal(t, time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC), now().UTC())
	require.NoError(t, os.WriteFile(file, []byte("2025-01-02T10:01:30+01:00"), 0o600))
	require.Equal(t, time.Date(2025, 1, 2, 9, 1, 30, 0, time.UTC), now().UTC(), "read on every call")
}

func TestPausePoint(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	require.NoError(t, pausePoint(ctx, dir, "daily"), "not armed: returns at once")

	arm := filepath.Join(dir, "daily.pause")
	require.NoError(t, os.WriteFile(arm, nil, 0o600))
	done := make(chan error, 1)
	go func() { done <- pausePoint(ctx, dir, "daily") }()
	var pid []byte
	require.Eventually(t, func() bool {
		var err error
		pid, err = os.ReadFile(filepath.Join(dir, "daily.paused"))
		return err == nil && len(pid) > 0
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, strconv.Itoa(os.Getpid()), string(pid))
	select {
	case <-done:
		t.Fatal("returned while armed")
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, os.Remove(arm))
	require.NoError(t, <-done)
	require.NoFileExists(t, filepath.Join(dir, "daily.paused"))

	// A stopping server ends the pause with its context's error.
	require.NoError(t, os.WriteFile(arm, nil, 0o600))
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- pausePoint(cctx, dir, "daily") }()
	require.Eventually(t, func() bool { _, err := os.Stat(filepath.Join(dir, "daily.paused")); return err == nil }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}
