package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// terminal is a process on a pseudo-terminal and everything it printed.
type terminal struct {
	t    *testing.T
	pty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	read int // how far expect has consumed out
	done chan struct{}
}

func startTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(harness.QuiverBin(t), args...)
	cmd.Env = append(os.Environ(), "TERM=xterm", "QUIVER_URI=", "QUIVER_TOKEN=")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 100, Rows: 40})
	require.NoError(t, err)
	term := &terminal{t: t, pty: f, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = f.Close()
		<-term.done
	})
	return term
}

func (term *terminal) send(s string) {
	term.t.Helper()
	_, err := io.WriteString(term.pty, s)
	require.NoError(term.t, err)
}

// expect waits until want appears in the output after what earlier
// expects consumed, and consumes up to it.
func (term *terminal) expect(want string) string {
	term.t.Helper()
	var seen string
	err := harness.PollFor(30*time.Second, 20*time.Millisecond, func() error {
		term.mu.Lock()
		defer term.mu.Unlock()
		rest := term.out.String()[term.read:]
		if i := strings.Index(rest, want); i >= 0 {
			seen = rest[:i+len(want)]
			term.read += i + len(want)
			return nil
		}
		seen = rest
		return errors.New("not yet")
	})
	require.NoError(term.t, err, "waited for %q; the terminal shows:\n%s", want, seen)
	return seen
}

// TestShell drives `quiver sql` through a pseudo-terminal: a multi-line
// statement, .tables, tab completion of a table name, Ctrl-C cancelling
// a long query on the server and the prompt answering again, history.
func TestShell(t *testing.T) {
	fx := newLocalFixture(t, nil, nil)
	cl := dialFlightSQL(t, fx.server.Addr(), nil)
	history := filepath.Join(t.TempDir(), "history")
	term := startTerminal(t, "sql", "--server", fx.server.Addr(), "--history", history)
	term.expect("quiver> ")

	t.Run("a statement over two lines", func(t *testing.T) {
		term.send("SELECT kind, count(*) AS n\r")
		term.expect("...> ")
		term.send("FROM demo.titles GROUP BY kind ORDER BY kind;\r")
		out := term.expect("columns")
		want := scalar(t, cl, "SELECT count(*) FROM demo.titles WHERE kind = 'movie'")
		require.Regexp(t, `movie\s+│\s+`+want+`\b`, out)
		term.expect("quiver> ")
	})
	t.Run(".tables", func(t *testing.T) {
		term.send(".tables\r")
		out := term.expect("system.workers")
		require.Contains(t, out, "demo.titles")
		require.Contains(t, out, "demo.plays")
		term.expect("quiver> ")
	})
	t.Run("tab completes a table name", func(t *testing.T) {
		term.send("SELECT count(*) AS titles FROM demo.tit\t")
		term.expect("demo.titles")
		term.send(";\r")
		out := term.expect("1 column")
		require.NotContains(t, out, "does not exist")
		require.Contains(t, out, scalar(t, cl, "SELECT count(*) FROM demo.titles"))
	})
	t.Run("a bad statement prints one line and the shell goes on", func(t *testing.T) {
		term.send("SELECT * FROM plays;\r")
		out := term.expect("demo.plays?)")
		require.Contains(t, out, "Error: table plays does not exist")
		require.Contains(t, out, "did you mean demo.plays?")
		require.NotContains(t, out, "rpc error")
	})
	t.Run("Ctrl-C cancels a long query on the server", func(t *testing.T) {
		term.send("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3;\r")
		running := "SELECT count(*) FROM system.queries WHERE state = 'running' AND sql LIKE '%range(100000000000)%' AND sql NOT LIKE '%system.queries%'"
		require.Eventually(t, func() bool { return scalar(t, cl, running) == "1" }, 30*time.Second, 20*time.Millisecond, "the query runs")
		term.send("\x03")
		out := term.expect("query cancelled")
		require.NotContains(t, out, "rpc error")
		require.Eventually(t, func() bool {
			return scalar(t, cl, "SELECT count(*) FROM system.queries WHERE state = 'cancelled' AND sql LIKE '%range(100000000000)%' AND sql NOT LIKE '%system.queries%'") == "1"
		}, 10*time.Second, 20*time.Millisecond, "the server shows the query cancelled")
		term.send("SELECT 42 AS answer;\r")
		require.Regexp(t, `│\s+42 │`, term.expect("1 column"))
	})
	t.Run(".quit saves the history", func(t *testing.T) {
		term.send(".quit\r")
		select {
		case <-term.done:
		case <-time.After(20 * time.Second):
			t.Fatal("the shell did not exit")
		}
		require.NoError(t, term.cmd.Wait())
		data, err := os.ReadFile(history)
		require.NoError(t, err)
		require.Contains(t, string(data), "SELECT kind, count(*) AS n\nFROM demo.titles GROUP BY kind ORDER BY kind;")
	})
}

// TestShellScripts runs `quiver sql` with -c, -f and standard input: every
// statement in order, the first error ends the run with a non-zero exit.
func TestShellScripts(t *testing.T) {
	fx := newLocalFixture(t, nil, nil)
	addr := fx.server.Addr()
	t.Run("-c", func(t *testing.T) {
		res := harness.RunQuiver(t, 60*time.Second, nil, "sql", "--server", addr, "--format", "csv", "-c", "SELECT 1 AS a; SELECT 2 AS b")
		require.NoError(t, res.Err, res.Output)
		require.Equal(t, "a\n1\nb\n2\n", res.Stdout)
	})
	t.Run("-f with dot commands and comments", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "q.sql")
		require.NoError(t, os.WriteFile(file, []byte("-- a report\n.mode markdown\nSELECT 'a;b' AS s,\n  3 AS n; /* done */\n"), 0o600))
		res := harness.RunQuiver(t, 60*time.Second, nil, "sql", "--server", addr, "-f", file)
		require.NoError(t, res.Err, res.Output)
		require.Equal(t, "| s | n |\n|---|---:|\n| a;b | 3 |\n", res.Stdout)
	})
	t.Run("stdin stops at the first error", func(t *testing.T) {
		cmd := exec.CommandContext(context.Background(), harness.QuiverBin(t), "sql", "--server", addr, "--format", "csv")
		cmd.Stdin = strings.NewReader("SELECT 1 AS a;\nSELECT * FROM plays;\nSELECT 3 AS c;\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "%v", err)
		require.Equal(t, 1, exit.ExitCode())
		require.Equal(t, "a\n1\n", stdout.String())
		require.Equal(t, "quiver: table plays does not exist: table not found (did you mean demo.plays?)\n", stderr.String())
	})
}
