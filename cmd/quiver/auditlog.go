package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// openAuditLog opens the --audit-log file for appending JSON records. The
// returned close reports the file's Close error: on a network or full
// file system that is where a lost audit record shows.
func openAuditLog(path string) (*slog.Logger, func() error, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open audit log: %w", err)
	}
	logger, closeLog := auditLogger(f, path)
	return logger, closeLog, nil
}

// auditLogger writes JSON records to w; close closes w and names path in
// its error.
func auditLogger(w io.WriteCloser, path string) (*slog.Logger, func() error) {
	return slog.New(slog.NewJSONHandler(w, nil)), func() error {
		if err := w.Close(); err != nil {
			return fmt.Errorf("close audit log %s: %w", path, err)
		}
		return nil
	}
}
