package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
)

// Backend is what the shell needs of a connection; *client.Conn is one.
type Backend interface {
	Query(ctx context.Context, sql string, params ...client.Param) (*client.Result, error)
	Tables(ctx context.Context) ([]client.Table, error)
	Progress(ctx context.Context, queryID string) (client.Progress, error)
	CancelQuery(ctx context.Context, queryID string) error
	Server() string
}

// ErrQuit is returned by a dot command that ends the shell (.quit, .exit).
var ErrQuit = errors.New("quit")

// StatementError is the first failed statement of a script.
type StatementError struct {
	Statement string
	Err       error
}

func (e *StatementError) Error() string { return ErrorLine(e.Err) }
func (e *StatementError) Unwrap() error { return e.Err }

// Options configure a Shell.
type Options struct {
	Conn   Backend
	Stdout io.Writer
	Stderr io.Writer
	// Terminal is set when the shell talks to a person: progress lines,
	// tables fitted to Width.
	Terminal bool
	// Width is the terminal's width now; nil or 0 is 120.
	Width func() int
	// Format is the first output mode (.mode); "" is table.
	Format string
	// MaxRows is how many rows a table shows; 0 is output.DefaultMaxRows.
	MaxRows int
	// Interrupts delivers Ctrl-C while a statement runs (signal.Notify's
	// channel); nil: statements cannot be interrupted but by ctx.
	Interrupts <-chan os.Signal
	// ProgressDelay is how long a query runs before its progress line
	// shows; 0 is half a second.
	ProgressDelay time.Duration
}

// Shell runs statements and dot commands on one connection.
type Shell struct {
	opts    Options
	mode    string
	timer   bool
	out     io.Writer
	outFile *os.File
	catalog []client.Table
	split   splitter
}

// New returns a shell over opts.Conn.
func New(opts Options) *Shell {
	if opts.ProgressDelay <= 0 {
		opts.ProgressDelay = 500 * time.Millisecond
	}
	mode := opts.Format
	if mode == "" {
		mode = output.FormatTable
	}
	return &Shell{opts: opts, mode: mode, out: opts.Stdout}
}

// Close closes an .output file.
func (s *Shell) Close() error {
	if s.outFile == nil {
		return nil
	}
	err := s.outFile.Close()
	s.outFile = nil
	return err
}

// RunScript runs every statement and dot command of r (-c, -f, standard
// input) and stops at the first that fails, returning its error wrapped
// in ErrStatement; the last statement needs no ';'.
func (s *Shell) RunScript(ctx context.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		stmts, dot := s.line(sc.Text())
		if dot != "" {
			stmts = []string{dot}
		}
		for _, stmt := range stmts {
			if err := s.Exec(ctx, stmt); err != nil {
				if errors.Is(err, ErrQuit) {
					return nil
				}
				return &StatementError{Statement: stmt, Err: err}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read statements: %w", err)
	}
	if rest := s.split.rest(); rest != "" {
		if err := s.Exec(ctx, rest); err != nil && !errors.Is(err, ErrQuit) {
			return &StatementError{Statement: rest, Err: err}
		}
	}
	return nil
}

// line feeds one line: the statements it completes, or the dot command it
// is (only outside a statement).
func (s *Shell) line(text string) (stmts []string, dot string) {
	if !s.split.pending() && strings.HasPrefix(strings.TrimSpace(text), ".") {
		return nil, strings.TrimSpace(text)
	}
	return s.split.feed(text), ""
}

// Exec runs one statement or dot command, printing its result.
func (s *Shell) Exec(ctx context.Context, stmt string) error {
	if strings.HasPrefix(stmt, ".") {
		return s.dot(ctx, stmt)
	}
	start := time.Now()
	err := s.query(ctx, stmt)
	if s.timer && err == nil {
		fmt.Fprintf(s.opts.Stderr, "Run Time: %.3f s\n", time.Since(start).Seconds())
	}
	return err
}

// query runs sql and renders its result; Ctrl-C (opts.Interrupts)
// cancels it on the server.
func (s *Shell) query(ctx context.Context, sql string) error {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interrupted := make(chan struct{})
	var queryID string
	ids := make(chan string, 1)
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-s.opts.Interrupts:
		case <-stopWatch:
			return
		}
		close(interrupted)
		// Ctrl-C while the server plans: wait (2 s, or a second Ctrl-C)
		// for the query id, so the query is cancelled on the server too,
		// not left running because the client stopped asking.
		select {
		case id := <-ids:
			cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.opts.Conn.CancelQuery(cctx, id) // the stream's cancel ends it too
			ccancel()
		case <-time.After(2 * time.Second):
		case <-s.opts.Interrupts:
		case <-stopWatch:
		}
		cancel()
	}()
	res, err := s.opts.Conn.Query(qctx, sql)
	if err != nil {
		return s.failed(interrupted, err)
	}
	defer res.Release()
	queryID = res.QueryID()
	ids <- queryID
	var prog *progressLine
	if s.opts.Terminal && queryID != "" {
		prog = startProgress(qctx, s.opts.Conn, queryID, s.opts.Stderr, s.opts.ProgressDelay)
	}
	o := output.Options{Format: s.mode, MaxRows: s.opts.MaxRows, Width: s.width()}
	dst, buffered := s.out, (*strings.Builder)(nil)
	if prog != nil && s.outFile == nil {
		// The table is drawn when the result has been read; the progress
		// line must be gone before it.
		buffered = &strings.Builder{}
		dst = buffered
	}
	err = output.RenderOptions(qctx, dst, res, o)
	if prog != nil {
		prog.stop()
	}
	if err != nil {
		return s.failed(interrupted, err)
	}
	if buffered != nil {
		_, err = io.WriteString(s.out, buffered.String())
	}
	return err
}

// failed is the error of a failed statement: "query cancelled" when
// Ctrl-C ended it.
func (s *Shell) failed(interrupted <-chan struct{}, err error) error {
	select {
	case <-interrupted:
		return ErrCancelled
	default:
		return err
	}
}

// ErrCancelled is a statement Ctrl-C cancelled.
var ErrCancelled = errors.New("query cancelled")

func (s *Shell) width() int {
	if s.outFile != nil || s.opts.Width == nil {
		return 0
	}
	return s.opts.Width()
}

// ErrorLine is how the shell shows a failed statement: one line with the
// server's message (not the RPC wrapping), then any hint.
func ErrorLine(err error) string {
	if errors.Is(err, ErrCancelled) {
		return "query cancelled"
	}
	msg := err.Error()
	// The innermost status, not status.FromError's, whose message is the
	// whole wrapped text.
	var grpcErr interface{ GRPCStatus() *status.Status }
	if errors.As(err, &grpcErr) && grpcErr.GRPCStatus().Code() != codes.OK {
		msg = grpcErr.GRPCStatus().Message()
		if c := grpcErr.GRPCStatus().Code(); c == codes.Unavailable {
			msg = "cannot reach the server: " + msg
		}
		if i := strings.Index(err.Error(), "\nhint: "); i >= 0 {
			msg += err.Error()[i:]
		}
	}
	return "Error: " + msg
}
