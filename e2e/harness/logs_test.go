package harness

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLogs(t *testing.T) {
	out := "QUIVER_WORKER_LISTENING 127.0.0.1:1\n" +
		`{"msg":"local worker started","worker":0,"addr":"127.0.0.1:1","pid":42}` + "\n" +
		"not json\n" +
		`{"msg":"fragment dispatched","queryID":"q","fragment":1,"worker":"127.0.0.1:1"}` + "\n"
	recs := ParseLogs(out)
	require.Len(t, recs, 2)
	require.Equal(t, "local worker started", recs[0].Msg())
	pid, ok := recs[0].Int("pid")
	require.True(t, ok)
	require.Equal(t, int64(42), pid)
	require.Equal(t, "1", recs[1].Str("fragment"))
}
