package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PID is the coordinator process's id.
func (s *Server) PID() int { return s.proc.cmd.Process.Pid }

// Signal sends sig to the coordinator process only (not its workers).
func (s *Server) Signal(sig syscall.Signal) error { return s.proc.cmd.Process.Signal(sig) }

// Kill SIGKILLs the server's process group (the coordinator and its local
// workers, with no chance to clean up) and waits for the coordinator to
// exit.
func (s *Server) Kill() error {
	if err := syscall.Kill(-s.PID(), syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 group %d: %w", s.PID(), err)
	}
	<-s.proc.done
	return nil
}

// WaitExit waits up to timeout for the coordinator to exit and returns how
// it ended (nil for exit status 0).
func (s *Server) WaitExit(timeout time.Duration) error {
	select {
	case <-s.proc.done:
		return s.proc.err
	case <-time.After(timeout):
		return fmt.Errorf("quiver serve still running %s later", timeout)
	}
}

// RSS is the resident set size of process pid in bytes, from /proc.
func RSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
