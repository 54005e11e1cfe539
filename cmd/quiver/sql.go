package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"

	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/shell"
)

const sqlUsage = `usage: quiver sql [--server ADDR] [connection flags]          an interactive shell
       quiver sql -c "SELECT …; SELECT …" | -f FILE.sql | < FILE.sql  run statements and exit`

// runSQL is `quiver sql`: the shell at a terminal, or the statements of
// -c, -f or standard input. It handles Ctrl-C itself (main gives it a
// context no signal cancels): while a statement runs, Ctrl-C cancels that
// statement on the server; at the prompt it clears the line.
func runSQL(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	var (
		conn    connFlags
		command = fs.String("c", "", "run these statements (separated by ;) and exit")
		file    = fs.String("f", "", "run the statements of this file and exit")
		format  = fs.String("format", output.FormatTable, "output mode: table, csv, json, markdown or line (.mode in the shell)")
		maxRows = fs.Int("max-rows", output.DefaultMaxRows, "rows a table shows")
		history = fs.String("history", shell.HistoryPath(), "history file of the interactive shell (empty: none)")
	)
	conn.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), sqlUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (statements go in -c \"…\", -f FILE or standard input)\n%s", fs.Arg(0), sqlUsage)
	}
	if err := output.CheckFormat(*format); err != nil || *format == output.FormatParquet {
		return fmt.Errorf("--format %s: want table, csv, json, markdown or line", *format)
	}
	c, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }() // nothing is pending by then

	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	stdinTTY, stdoutTTY := term.IsTerminal(int(os.Stdin.Fd())), term.IsTerminal(int(os.Stdout.Fd()))
	sh := shell.New(shell.Options{
		Conn: c, Stdout: os.Stdout, Stderr: os.Stderr, Terminal: stdoutTTY && stdinTTY,
		Width: func() int {
			if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && stdoutTTY {
				return w
			}
			return 0
		},
		Format: *format, MaxRows: *maxRows, Interrupts: interrupts,
	})
	defer func() { _ = sh.Close() }() // an .output file, written by then

	var script io.Reader
	switch {
	case *command != "" && *file != "":
		return errors.New("give -c or -f, not both")
	case *command != "":
		script = strings.NewReader(*command)
	case *file != "":
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("-f: %w", err)
		}
		defer func() { _ = f.Close() }() // read only
		script = f
	case !stdinTTY:
		script = os.Stdin
	}
	if script == nil {
		return sh.Interactive(ctx, *history)
	}
	err = sh.RunScript(ctx, script)
	if errors.Is(err, shell.ErrCancelled) {
		return fmt.Errorf("%w: the query was cancelled", errInterrupted)
	}
	var se *shell.StatementError
	if errors.As(err, &se) {
		// One line, as the shell prints it, not the RPC wrapping.
		return errors.New(strings.TrimPrefix(shell.ErrorLine(se.Err), "Error: "))
	}
	return err
}
