package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"
)

// Prompts of the first and the continuation lines of a statement.
const (
	prompt     = "quiver> "
	contPrompt = "   ...> "
)

// HistoryPath is where the shell keeps its history:
// $XDG_STATE_HOME/quiver/history, else ~/.local/state/quiver/history.
func HistoryPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "quiver", "history")
}

// Interactive reads statements from the terminal with line editing,
// history (in historyFile; "" keeps none) and completion until .quit or
// Ctrl-D. A failed statement prints one line and the shell goes on.
func (s *Shell) Interactive(ctx context.Context, historyFile string) error {
	ln := liner.NewLiner()
	defer func() { _ = ln.Close() }() // restores the terminal; nothing to do on failure
	ln.SetCtrlCAborts(true)
	ln.SetMultiLineMode(true)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		return s.complete(ctx, line, pos)
	})
	if historyFile != "" {
		if f, err := os.Open(historyFile); err == nil {
			_, _ = ln.ReadHistory(f) // a damaged history is not worth stopping for
			_ = f.Close()
		}
		defer func() { s.saveHistory(ln, historyFile) }()
	}
	fmt.Fprintf(s.opts.Stderr, "quiver sql on %s. Statements end with ';'; .help for commands, Ctrl-D to leave.\n", s.opts.Conn.Server())
	var entry strings.Builder
	for {
		p := prompt
		if s.split.pending() {
			p = contPrompt
		}
		text, err := ln.Prompt(p)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			// Ctrl-C at the prompt drops what was typed.
			s.split.reset()
			entry.Reset()
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(s.opts.Stderr)
			return nil
		case err != nil:
			return fmt.Errorf("read a line: %w", err)
		}
		if entry.Len() > 0 {
			entry.WriteString("\n")
		}
		entry.WriteString(text)
		stmts, dot := s.line(text)
		if dot != "" {
			stmts = []string{dot}
		}
		if !s.split.pending() && strings.TrimSpace(entry.String()) != "" {
			ln.AppendHistory(entry.String())
			entry.Reset()
		}
		for _, stmt := range stmts {
			err := s.Exec(ctx, stmt)
			if errors.Is(err, ErrQuit) {
				return nil
			}
			if err != nil {
				fmt.Fprintln(s.opts.Stderr, ErrorLine(err))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
}

func (s *Shell) saveHistory(ln *liner.State, path string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	_, _ = ln.WriteHistory(f) // history is a convenience
	_ = f.Close()
}
