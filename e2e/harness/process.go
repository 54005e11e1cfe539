package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuffer collects a process's stdout and stderr; it is safe for the two
// copying goroutines os/exec starts.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child started in its own process group. Wait runs in one
// goroutine owned by the process; done closes when the child has exited.
type process struct {
	name string
	cmd  *exec.Cmd
	logs *logBuffer
	done chan struct{}
	err  error // valid after done is closed
}

// startProcess runs bin with args in a new process group, appending env to
// the inherited environment (later entries win).
func startProcess(name, bin string, args, env []string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs := &logBuffer{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, without blocking.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the leader, waits up to grace for it to exit, then
// SIGKILLs the whole group. It also SIGKILLs whatever is left in the group
// after a clean exit and reports it, so leaked children (workers) are
// visible. It is safe to call more than once.
func (p *process) stop(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	var errs []error
	if !p.exited() {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			errs = append(errs, fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, grace))
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	// Give children a moment to follow their parent out.
	gone := PollFor(2*time.Second, 50*time.Millisecond, func() error {
		if groupAlive(pgid) {
			return fmt.Errorf("group %d still has processes", pgid)
		}
		return nil
	})
	if gone != nil {
		errs = append(errs, fmt.Errorf("%s left processes behind in group %d", p.name, pgid))
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	return errors.Join(errs...)
}

// groupAlive reports whether any process of the group is still running.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}

// exitError describes how the process ended, for failure messages.
func (p *process) exitError() error {
	<-p.done
	return p.err
}

// RunResult is the outcome of a quiver command run to completion.
type RunResult struct {
	Output   string // stdout and stderr interleaved
	Stdout   string
	ExitCode int
	Err      error // nil when the command exited 0
}

// RunQuiver runs `quiver args...` to completion (killing its process group
// when timeout passes) and returns its output and exit status; it fails the
// test only when the binary cannot be started.
func RunQuiver(t testing.TB, timeout time.Duration, env []string, args ...string) RunResult {
	t.Helper()
	bin := QuiverBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), append(baseEnv(t), env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	all := &logBuffer{}
	var stdout bytes.Buffer
	cmd.Stdout = &teeWriter{a: &stdout, b: all}
	cmd.Stderr = all
	err := cmd.Run()
	if cmd.Process != nil && groupAlive(cmd.Process.Pid) {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	res := RunResult{Output: all.String(), Stdout: stdout.String(), Err: err}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	case ctx.Err() != nil:
		res.ExitCode = -1
		res.Err = fmt.Errorf("quiver %s: timed out after %s: %w", strings.Join(args, " "), timeout, err)
	default:
		t.Fatalf("run quiver %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// teeWriter writes to two writers; b is the locked combined buffer.
type teeWriter struct {
	a *bytes.Buffer
	b *logBuffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.a.Write(p)
	return w.b.Write(p)
}

// baseEnv is the environment every quiver process gets: the extension
// directory (so S3 warehouses work without a flag) and no EC2 metadata
// lookups in the AWS credential chain.
func baseEnv(t testing.TB) []string {
	t.Helper()
	env := []string{"AWS_EC2_METADATA_DISABLED=true"}
	if dir := os.Getenv("QUIVER_EXTENSION_DIR"); dir != "" {
		env = append(env, "QUIVER_EXTENSION_DIR="+dir)
	} else if d := defaultExtensionDir(t); d != "" {
		env = append(env, "QUIVER_EXTENSION_DIR="+d)
	}
	return env
}

// defaultExtensionDir is <repo>/.tools/duckdb-extensions when it exists.
func defaultExtensionDir(t testing.TB) string {
	d := RepoRoot(t) + "/.tools/duckdb-extensions"
	if _, err := os.Stat(d); err != nil {
		return ""
	}
	return d
}

// DemoData runs `quiver demo-data --warehouse W --scale F` (plus extraArgs,
// e.g. --s3-endpoint) with env appended, failing the test with the command's
// output when it does not succeed.
func DemoData(t testing.TB, warehouse string, scale float64, env []string, extraArgs ...string) {
	t.Helper()
	args := append([]string{"demo-data", "--warehouse", warehouse, "--scale", fmt.Sprint(scale)}, extraArgs...)
	start := time.Now()
	res := RunQuiver(t, 2*time.Minute, env, args...)
	if res.Err != nil {
		t.Fatalf("quiver %s: %v\n%s", strings.Join(args, " "), res.Err, res.Output)
	}
	t.Logf("demo-data %s (scale %g) written in %s", warehouse, scale, time.Since(start).Round(time.Millisecond))
}
