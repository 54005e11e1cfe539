package harness

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ServerOptions configures `quiver serve`. Zero values get defaults.
type ServerOptions struct {
	// Warehouse is a local directory or s3://bucket/prefix (required).
	Warehouse string
	// LocalWorkers defaults to 2.
	LocalWorkers int
	// ExtensionDir defaults to ExtensionDir(t).
	ExtensionDir string
	// S3Endpoint is passed as --s3-endpoint when set.
	S3Endpoint string
	// Env is appended to the inherited environment (e.g. MinIO.Env()).
	Env []string
	// Args are extra command-line arguments.
	Args []string
	// ReadyTimeout defaults to 60s.
	ReadyTimeout time.Duration
	// Ready says whether the server at addr serves (e.g. refuses a
	// request without a token, for a server with auth); default: SELECT 1
	// returns one row.
	Ready func(addr string) error
}

// Server is a running `quiver serve` coordinator and its local workers.
type Server struct {
	addr       string
	metricsURL string // "" when the binary has no metrics flag
	proc       *process
}

// StartServer starts `quiver serve` on a free loopback port in its own
// process group and waits until the port accepts connections and `SELECT 1`
// (or opts.Ready) succeeds through Flight SQL. It fails fast, with the
// server's output, when the process exits first. The group is stopped in
// t.Cleanup and the output is logged when the test failed.
func StartServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	bin := QuiverBin(t)
	if opts.LocalWorkers == 0 {
		opts.LocalWorkers = 2
	}
	if opts.ExtensionDir == "" {
		opts.ExtensionDir = ExtensionDir(t)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	args := []string{
		"serve",
		"--listen", addr,
		"--warehouse", opts.Warehouse,
		"--local-workers", strconv.Itoa(opts.LocalWorkers),
		"--extension-dir", opts.ExtensionDir,
	}
	if opts.S3Endpoint != "" {
		args = append(args, "--s3-endpoint", opts.S3Endpoint)
	}
	// Serve Prometheus metrics on a free port when this build can.
	metricsURL := ""
	if flagName := metricsFlag(bin); flagName != "" {
		maddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
		args = append(args, "--"+flagName, maddr)
		metricsURL = "http://" + maddr + "/metrics"
	}
	args = append(args, opts.Args...)
	proc, err := startProcess("quiver serve", bin, args, append(baseEnv(t), opts.Env...))
	if err != nil {
		t.Fatalf("%v", err)
	}
	s := &Server{addr: addr, metricsURL: metricsURL, proc: proc}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop quiver serve: %v", err)
		}
		if t.Failed() {
			t.Logf("quiver serve %s output:\n%s", addr, proc.logs.String())
		}
	})

	start := time.Now()
	if err := s.waitReady(opts.ReadyTimeout, opts.Ready); err != nil {
		t.Fatalf("quiver serve %v: %v\noutput:\n%s", args, err, proc.logs.String())
	}
	t.Logf("quiver serve ready at %s in %s", addr, time.Since(start).Round(time.Millisecond))
	return s
}

// waitReady polls until the port accepts and ready (SELECT 1 returns one
// row, by default) succeeds.
func (s *Server) waitReady(timeout time.Duration, ready func(addr string) error) error {
	if ready == nil {
		ready = selectOne
	}
	err := PollFor(timeout, 150*time.Millisecond, func() error {
		if s.proc.exited() {
			return Permanent(fmt.Errorf("exited before it was ready: %v", s.proc.exitError()))
		}
		conn, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		_ = conn.Close()
		return ready(s.addr)
	})
	if err != nil {
		return fmt.Errorf("not ready within %s: %w", timeout, err)
	}
	return nil
}

// selectOne runs SELECT 1 on the server at addr.
func selectOne(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := DialFlightSQL(addr, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	defer func() { _ = cl.Close() }()
	res, err := RunFlightSQL(ctx, cl, "SELECT 1")
	if err != nil {
		return fmt.Errorf("select 1: %w", err)
	}
	defer res.Release()
	if n := res.NumRows(); n != 1 {
		return fmt.Errorf("select 1: got %d rows", n)
	}
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Logs is everything the server (and its workers, which share its output)
// wrote so far.
func (s *Server) Logs() string { return s.proc.logs.String() }

// Exited reports whether the server process has ended.
func (s *Server) Exited() bool { return s.proc.exited() }

// Stop sends SIGTERM, waits up to 10s, then SIGKILLs the process group. It
// returns an error when the server needed SIGKILL or left workers behind. It
// is safe to call more than once.
func (s *Server) Stop() error {
	return s.proc.stop(10 * time.Second)
}
