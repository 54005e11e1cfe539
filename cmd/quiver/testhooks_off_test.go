//go:build !quivertest

package main

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/reports"
)

// TestReleaseBinaryHasNoTestHooks: built without the quivertest tag, as
// the release binary is, no QUIVER_TEST_* variable arms anything.
func TestReleaseBinaryHasNoTestHooks(t *testing.T) {
	require.False(t, testHooksBuilt)
	t.Setenv("QUIVER_TEST_CLOCK_FILE", filepath.Join(t.TempDir(), "clock"))
	t.Setenv("QUIVER_TEST_PUBLISH_PAUSE", t.TempDir())
	t.Setenv("QUIVER_TEST_IGNORE_INTERRUPTS", "1")

	var opts reports.Options
	reportTestHooks(&opts, slog.New(slog.DiscardHandler))
	require.Nil(t, opts.Now, "the real clock")
	require.Nil(t, opts.AfterStaging, "no pause after staging")
	n, err := ignoreInterruptsHook()
	require.NoError(t, err)
	require.Zero(t, n, "every cancel is honoured")
}
