//go:build quivertest

// This file is built only into the test binary (`make build-test`:
// go build -tags=duckdb_arrow,quivertest -o bin/quiver-test ./cmd/quiver),
// the one the end-to-end tests run. Like etcd's gofail failpoints, the test
// hooks exist there and nowhere else: the release binary is built without
// the tag and gets the no-ops of testhooks_off.go, so no environment
// variable can arm them in production.

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quiver-data/quiver/reports"
)

// testHooksBuilt reports whether this binary has the test hooks.
const testHooksBuilt = true

// The hooks' environment variables.
const (
	// envTestClock names a file holding an RFC 3339 time: the report
	// scheduler's clock reads it on every call instead of the real time.
	envTestClock = "QUIVER_TEST_CLOCK_FILE"
	// envTestPublishPause names a directory: after report R's staging
	// write, while <dir>/R.pause exists, the server writes its PID to
	// <dir>/R.paused and waits (until the .pause file is removed or the
	// server stops), so a test can hold a run mid-publish or SIGKILL it
	// there.
	envTestPublishPause = "QUIVER_TEST_PUBLISH_PAUSE"
	// envTestIgnoreInterrupts is a number N: the worker ignores the
	// cancel of its first N fragments, so tests can see a worker whose
	// interrupt does not take recycle itself.
	envTestIgnoreInterrupts = "QUIVER_TEST_IGNORE_INTERRUPTS"
)

// reportTestHooks arms the report scheduler's hooks the environment of
// `quiver serve` asks for: a clock read from a file, a pause after staging.
func reportTestHooks(opts *reports.Options, logger *slog.Logger) {
	if file := os.Getenv(envTestClock); file != "" {
		logger.Warn("report scheduler uses a test clock", "file", file)
		opts.Now = fileClock(file, logger)
	}
	if dir := os.Getenv(envTestPublishPause); dir != "" {
		logger.Warn("report publishes may pause after staging (test hook)", "dir", dir)
		opts.AfterStaging = func(ctx context.Context, report string) error {
			return pausePoint(ctx, dir, report)
		}
	}
}

// ignoreInterruptsHook is how many fragments' cancels `quiver worker`
// ignores: QUIVER_TEST_IGNORE_INTERRUPTS, 0 when unset.
func ignoreInterruptsHook() (int, error) {
	v := os.Getenv(envTestIgnoreInterrupts)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a number of fragments", envTestIgnoreInterrupts, v)
	}
	return n, nil
}

// pausePoint is the QUIVER_TEST_PUBLISH_PAUSE hook for one report.
func pausePoint(ctx context.Context, dir, report string) error {
	arm := filepath.Join(dir, report+".pause")
	if _, err := os.Stat(arm); err != nil {
		return nil
	}
	paused := filepath.Join(dir, report+".paused")
	if err := os.WriteFile(paused, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(paused)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := os.Stat(arm); err != nil {
				return nil
			}
		}
	}
}

// fileClock reads the time from file on every call (test hook). A file
// that cannot be read or parsed keeps the last time read, or the real time
// before the first, logged: falling back to the real time mid-test would
// make the scheduler catch up on months of runs.
func fileClock(file string, logger *slog.Logger) func() time.Time {
	var (
		mu   sync.Mutex
		last time.Time
	)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		raw, err := os.ReadFile(file)
		if err == nil {
			var t time.Time
			if t, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(raw))); err == nil {
				last = t
				return t
			}
		}
		if last.IsZero() {
			logger.Error("test clock unreadable; using the real time", "file", file, "err", err)
			return time.Now()
		}
		logger.Warn("test clock unreadable; keeping its last time", "file", file, "err", err, "time", last)
		return last
	}
}
