package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LogRecord is one JSON log line of a quiver process (slog's JSON handler:
// "time", "level", "msg" and the record's attributes).
type LogRecord map[string]any

// Msg is the record's message.
func (r LogRecord) Msg() string { return r.Str("msg") }

// Str is the attribute key as text ("" when absent); numbers are rendered
// without exponent.
func (r LogRecord) Str(key string) string {
	switch v := r[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// Int is the attribute key as an integer.
func (r LogRecord) Int(key string) (int64, bool) {
	n, ok := r[key].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// ParseLogs returns the JSON records of a process's output, skipping every
// line that is not a JSON object (e.g. a worker's listening line).
func ParseLogs(output string) []LogRecord {
	var out []LogRecord
	for _, line := range strings.Split(output, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var r LogRecord
		if err := dec.Decode(&r); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// LogOffset is a mark in the server's output; LogsSince returns what came
// after it.
func (s *Server) LogOffset() int { return len(s.Logs()) }

// LogsSince returns the JSON records written after offset.
func (s *Server) LogsSince(offset int) []LogRecord {
	logs := s.Logs()
	if offset > len(logs) {
		offset = len(logs)
	}
	return ParseLogs(logs[offset:])
}

// WaitLog polls the server's output after offset until a record satisfies
// match, and returns it; it gives up when ctx ends. The tick is short:
// tests kill a worker the moment a record names it.
func (s *Server) WaitLog(ctx context.Context, offset int, match func(LogRecord) bool) (LogRecord, error) {
	var found LogRecord
	err := Poll(ctx, 2*time.Millisecond, func() error {
		for _, r := range s.LogsSince(offset) {
			if match(r) {
				found = r
				return nil
			}
		}
		return errors.New("no matching record")
	})
	if err != nil {
		return nil, fmt.Errorf("wait for log record: %w", err)
	}
	return found, nil
}

// LocalWorkers maps the address of each current local worker to its
// process id, from the latest `local worker started` record per worker
// index (a restarted worker comes back with a new address and pid).
func (s *Server) LocalWorkers() map[string]int {
	latest := map[string]LogRecord{}
	for _, r := range ParseLogs(s.Logs()) {
		if r.Msg() == "local worker started" {
			latest[r.Str("worker")] = r
		}
	}
	out := map[string]int{}
	for _, r := range latest {
		if pid, ok := r.Int("pid"); ok {
			out[r.Str("addr")] = int(pid)
		}
	}
	return out
}
