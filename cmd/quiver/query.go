package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/querycli"
)

func runQuery(ctx context.Context, args []string) error {
	err := queryCommand(ctx, args, os.Stdout, os.Stderr)
	if err != nil && ctx.Err() != nil {
		// The cancelled context cancels the query's calls, and with them
		// the query on the server; a partial --out file was removed.
		return fmt.Errorf("%w: the query was cancelled", errInterrupted)
	}
	return err
}

// queryCommand is `quiver query`: the result goes to stdout or --out, and
// what was written to a file is reported on stderr.
func queryCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	var (
		format  = fs.String("format", "", "output: table, csv, json (one object per line) or parquet; default: the --out file's extension (.parquet, .csv, .json/.jsonl/.ndjson), table on standard output")
		out     = fs.String("out", "", "write to this file instead of standard output; s3://bucket/key or file:///path publishes atomically with a _SUCCESS marker")
		maxRows = fs.Int("max-rows", output.DefaultMaxRows, "rows the table format shows")
		pub     publishFlags // --out s3://… publishes atomically: publishflags.go
		conn    connFlags
		params  paramFlags
	)
	pub.register(fs)
	conn.register(fs)
	params.register(fs)
	// Flags may come before, between or after the SQL and its values.
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var sql string
	if len(rest) > 0 {
		sql, rest = rest[0], rest[1:]
	}
	if sql == "" {
		return errors.New(`usage: quiver query "SELECT … $1 …" [VALUE …] [--param NAME=VALUE] [--server ADDR] [--format table|csv|json|parquet] [--out FILE]`)
	}
	params.positional(rest)
	f, err := querycli.OutputFormat(*out, *format)
	if err != nil {
		return err
	}
	opts := querycli.Options{Conn: conn.opts, SQL: sql, Params: params, Format: f, MaxRows: *maxRows}
	switch {
	case querycli.IsPublishURI(*out):
		return pub.run(ctx, opts, *out)
	case *out != "":
		w, err := querycli.WriteFile(ctx, opts, *out)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, w)
		return nil
	}
	opts.Out = stdout
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		// The table fits the terminal, not a fixed 120 columns.
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			opts.Width = w
		}
	}
	return querycli.Run(ctx, opts)
}
