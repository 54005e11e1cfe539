package harness

import (
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// WorkerOptions configures a `quiver worker` started by the test, for
// `quiver serve --worker ADDR` (remote workers nothing restarts).
type WorkerOptions struct {
	// Warehouse is a local directory or s3://bucket/prefix (required).
	Warehouse string
	// Secret is the ticket-signing secret shared with the coordinator
	// (required; passed as QUIVER_WORKER_SECRET).
	Secret string
	// ExtensionDir defaults to ExtensionDir(t).
	ExtensionDir string
	// S3Endpoint is passed as --s3-endpoint when set.
	S3Endpoint string
	// Env is appended to the inherited environment (e.g. MinIO.Env()).
	Env []string
	// Args are extra command-line arguments (e.g. --threads 1).
	Args []string
	// Addr is the host:port to listen on (default: a free loopback port);
	// set it to bring a killed worker back at the address the coordinator
	// knows.
	Addr string
}

// Worker is a running `quiver worker`.
type Worker struct {
	addr string
	proc *process
}

// StartWorker starts `quiver worker` on a free loopback port in its own
// process group and waits until the port accepts connections. It is
// stopped in t.Cleanup.
func StartWorker(t testing.TB, opts WorkerOptions) *Worker {
	t.Helper()
	bin := QuiverBin(t)
	if opts.ExtensionDir == "" {
		opts.ExtensionDir = ExtensionDir(t)
	}
	addr := opts.Addr
	if addr == "" {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	}
	args := []string{"worker", "--listen", addr, "--warehouse", opts.Warehouse, "--extension-dir", opts.ExtensionDir}
	if opts.S3Endpoint != "" {
		args = append(args, "--s3-endpoint", opts.S3Endpoint)
	}
	args = append(args, opts.Args...)
	env := append(baseEnv(t), opts.Env...)
	env = append(env, "QUIVER_WORKER_SECRET="+opts.Secret)
	proc, err := startProcess("quiver worker", bin, args, env)
	if err != nil {
		t.Fatalf("%v", err)
	}
	w := &Worker{addr: addr, proc: proc}
	t.Cleanup(func() {
		_ = proc.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("quiver worker %s output:\n%s", addr, proc.logs.String())
		}
	})
	err = PollFor(30*time.Second, 50*time.Millisecond, func() error {
		if proc.exited() {
			return Permanent(fmt.Errorf("exited before it listened: %v", proc.exitError()))
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return conn.Close()
	})
	if err != nil {
		t.Fatalf("quiver worker not listening on %s within 30s: %v\n%s", addr, err, proc.logs.String())
	}
	return w
}

// Addr is the worker's host:port.
func (w *Worker) Addr() string { return w.addr }

// Exited reports whether the worker process has ended.
func (w *Worker) Exited() bool { return w.proc.exited() }

// Kill SIGKILLs the worker's process group and waits for it to exit.
func (w *Worker) Kill() {
	_ = syscall.Kill(-w.proc.cmd.Process.Pid, syscall.SIGKILL)
	<-w.proc.done
}

// KillPID sends SIGKILL to one process (e.g. a local worker found with
// Server.LocalWorkers).
func KillPID(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d: %w", pid, err)
	}
	return nil
}
