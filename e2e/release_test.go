package e2e

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestReleaseBinaryHasNoTestHooks: the binary users run is built without
// the quivertest tag and holds not one QUIVER_TEST_* name, so no
// environment can arm a test hook in production. The binary the other
// tests run, when it is not that one, is the test binary.
func TestReleaseBinaryHasNoTestHooks(t *testing.T) {
	bin := harness.ReleaseBin(t)
	require.False(t, harness.HasTestHooks(t, bin), "%s is built with the quivertest tag", bin)
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.False(t, bytes.Contains(data, []byte("QUIVER_TEST_")), "%s mentions a QUIVER_TEST_ variable", bin)
	if run := harness.QuiverBin(t); run != bin {
		require.True(t, harness.HasTestHooks(t, run), "the tests run %s, which has no test hooks", run)
	}
}
