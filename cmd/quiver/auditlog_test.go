package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenAuditLogAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"earlier\":true}\n"), 0o600))
	logger, closeLog, err := openAuditLog(path)
	require.NoError(t, err)
	logger.Info("audit", "principal", "alice")
	require.NoError(t, closeLog())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[1], `"principal":"alice"`)

	_, _, err = openAuditLog(filepath.Join(t.TempDir(), "missing", "audit.jsonl"))
	require.ErrorContains(t, err, "open audit log")
}

// failingCloser is a file whose Close fails, as one on a full or network
// file system can.
type failingCloser struct{ err error }

func (f failingCloser) Write(p []byte) (int, error) { return len(p), nil }
func (f failingCloser) Close() error                { return f.err }

func TestAuditLogCloseErrorIsReturned(t *testing.T) {
	lost := errors.New("no space left on device")
	_, closeLog := auditLogger(failingCloser{lost}, "/var/log/quiver/audit.jsonl")
	err := closeLog()
	require.ErrorIs(t, err, lost)
	require.ErrorContains(t, err, "close audit log /var/log/quiver/audit.jsonl")
}
