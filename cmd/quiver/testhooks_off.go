//go:build !quivertest

package main

import (
	"log/slog"

	"github.com/quiver-data/quiver/reports"
)

// testHooksBuilt reports whether this binary has the test hooks
// (testhooks_on.go): the release binary has none.
const testHooksBuilt = false

// reportTestHooks leaves the report scheduler alone: the release binary
// has no test hooks.
func reportTestHooks(*reports.Options, *slog.Logger) {}

// ignoreInterruptsHook is 0: the release binary's workers honour every
// cancel.
func ignoreInterruptsHook() (int, error) { return 0, nil }
