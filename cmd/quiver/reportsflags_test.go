package main

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReportsFlagsRegister(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var r reportsFlags
	r.register(fs)
	t.Setenv("QUIVER_REPORTS_POLL", "250ms")
	require.NoError(t, parseFlags(fs, []string{"--reports-file", "r.yaml", "--reports-catch-up=false"}))
	require.Equal(t, "r.yaml", r.file)
	require.False(t, r.catchUp)
	require.Equal(t, 250*time.Millisecond, r.poll)
}
