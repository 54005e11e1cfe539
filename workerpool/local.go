package workerpool

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ListeningPrefix starts the line a worker prints on stdout once it serves.
const ListeningPrefix = "QUIVER_WORKER_LISTENING "

// LocalOptions configure worker processes started by the coordinator.
type LocalOptions struct {
	N int
	// Command is the worker command line (e.g. the quiver binary, "worker", flags…).
	Command []string
	// Env is the workers' whole environment (nil inherits the coordinator's).
	Env []string
	// OnChange is called with the current worker addresses whenever they change.
	OnChange func(addrs []string)
	// StartTimeout bounds how long a worker may take to start listening.
	StartTimeout time.Duration
	// StopTimeout is how long a worker may drain after the SIGTERM it gets
	// when ctx ends before it is killed; default 40s, above the worker's
	// default --drain-timeout of 30s.
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// Local supervises worker processes: it starts them, restarts any that exit
// (a worker whose interrupt did not take exits non-zero to be recycled), and
// stops them all when its context ends: SIGTERM, so each drains its running
// fragments, then SIGKILL after StopTimeout.
type Local struct {
	opts   LocalOptions
	logger *slog.Logger
	mu     sync.Mutex
	addrs  []string
	wg     sync.WaitGroup
}

// StartLocal starts opts.N workers and waits until each listens. The
// processes live until ctx is canceled; Wait returns once they are gone.
func StartLocal(ctx context.Context, opts LocalOptions) (*Local, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 40 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Local{opts: opts, logger: logger, addrs: make([]string, opts.N)}
	started := make(chan error, opts.N)
	for i := range opts.N {
		l.wg.Add(1)
		go l.supervise(ctx, i, started)
	}
	for range opts.N {
		if err := <-started; err != nil {
			return nil, err
		}
	}
	l.publish()
	return l, nil
}

// Wait blocks until every worker process has exited.
func (l *Local) Wait() { l.wg.Wait() }

// Addrs returns the current worker addresses.
func (l *Local) Addrs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range l.addrs {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (l *Local) publish() {
	if l.opts.OnChange != nil {
		l.opts.OnChange(l.Addrs())
	}
}

func (l *Local) setAddr(i int, addr string) {
	l.mu.Lock()
	l.addrs[i] = addr
	l.mu.Unlock()
}

// supervise runs worker i until ctx ends, restarting it with backoff.
func (l *Local) supervise(ctx context.Context, i int, started chan<- error) {
	defer l.wg.Done()
	first := true
	backoff := 100 * time.Millisecond
	for {
		cmd, addr, err := l.start(ctx, i)
		if first {
			first = false
			started <- err
			if err != nil {
				return
			}
		}
		if err == nil {
			l.setAddr(i, addr)
			if !first {
				l.publish()
			}
			l.logger.Info("local worker started", "worker", i, "addr", addr, "pid", cmd.Process.Pid)
			err = cmd.Wait()
			l.setAddr(i, "")
			l.publish()
			backoff = 100 * time.Millisecond
		}
		if ctx.Err() != nil {
			return
		}
		l.logger.Warn("local worker exited; restarting", "worker", i, "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// start launches one worker and reads its address from stdout.
func (l *Local) start(ctx context.Context, i int) (*exec.Cmd, string, error) {
	cmd := exec.CommandContext(ctx, l.opts.Command[0], l.opts.Command[1:]...)
	cmd.Env = l.opts.Env
	cmd.Stderr = os.Stderr
	// The worker dies with the coordinator even if the coordinator is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = l.opts.StopTimeout
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("worker %d stdout: %w", i, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start worker %d (%s): %w", i, l.opts.Command[0], err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), ListeningPrefix); ok {
				addrc <- strings.TrimSpace(a)
			}
		}
		close(addrc)
	}()
	timer := time.NewTimer(l.opts.StartTimeout)
	defer timer.Stop()
	select {
	case addr, ok := <-addrc:
		if ok {
			return cmd, addr, nil
		}
		err := cmd.Wait()
		return nil, "", fmt.Errorf("worker %d exited before listening (see its log above): %v", i, err)
	case <-timer.C:
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("worker %d did not listen within %s", i, l.opts.StartTimeout)
	case <-ctx.Done():
		_ = cmd.Wait()
		return nil, "", ctx.Err()
	}
}
