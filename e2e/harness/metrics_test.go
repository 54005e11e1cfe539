package harness

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSample(t *testing.T) {
	name, labels, v, ok := parseSample(`quiver_fragments_total{outcome="ok",worker="a\"b"} 12`)
	require.True(t, ok)
	require.Equal(t, "quiver_fragments_total", name)
	require.Equal(t, map[string]string{"outcome": "ok", "worker": `a\"b`}, labels)
	require.Equal(t, 12.0, v)
	name, labels, v, ok = parseSample("quiver_fragment_retries_total 3")
	require.True(t, ok)
	require.Equal(t, "quiver_fragment_retries_total", name)
	require.Empty(t, labels)
	require.Equal(t, 3.0, v)
}
