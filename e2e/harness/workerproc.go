package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PID is the worker's process id.
func (w *Worker) PID() int { return w.proc.cmd.Process.Pid }

// Logs returns everything the worker wrote so far (stdout and stderr).
func (w *Worker) Logs() string { return w.proc.logs.String() }

// Signal sends sig to the worker process (not its group).
func (w *Worker) Signal(sig syscall.Signal) error {
	if err := w.proc.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s to worker %s: %w", sig, w.addr, err)
	}
	return nil
}

// WaitExit waits up to timeout for the worker to exit and returns its exit
// code (-1 when a signal ended it); it fails when the worker is still
// running after timeout.
func (w *Worker) WaitExit(timeout time.Duration) (int, error) {
	select {
	case <-w.proc.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("worker %s still running %s later", w.addr, timeout)
	}
	if w.proc.err == nil {
		return 0, nil
	}
	if ee, ok := w.proc.err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	return 0, w.proc.err
}

// Alive reports whether process pid runs: it exists and is not a zombie
// (a killed child stays one until its parent reaps it, and kill -0
// succeeds on it meanwhile).
func Alive(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(raw)
	// The state is the first field after the command name's ')'.
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// CPUTime is the CPU time (user + system) a process has used so far, from
// /proc/<pid>/stat; it is how tests see that a canceled query stopped
// burning CPU.
func CPUTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields after its ')'.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("cpu time of %d: short stat line %q", pid, s)
	}
	// utime and stime are fields 14 and 15 of the line: 11 and 12 here.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time of %d: bad stat line %q", pid, s)
	}
	// Clock ticks are 100 a second on every Linux Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
