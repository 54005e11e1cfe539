package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/querycli"
)

// serverUsage is the help of --server; the environment variable is
// QUIVER_URI, the name the Python client reads (envNames in config.go).
const serverUsage = "server: host:port (plaintext), grpc://host:port or grpc+tls://host:port (env QUIVER_URI, or its old name QUIVER_SERVER)"

func runQuery(ctx context.Context, args []string) error {
	return queryCommand(ctx, args, os.Stdout, os.Stderr)
}

// queryCommand is `quiver query`: the result goes to stdout or --out, and
// what was written to a file is reported on stderr.
func queryCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	var (
		server  = fs.String("server", querycli.DefaultServer, serverUsage)
		format  = fs.String("format", "", "output: table, csv, json (one object per line) or parquet; default: the --out file's extension (.parquet, .csv, .json/.jsonl/.ndjson), table on standard output")
		out     = fs.String("out", "", "write to this file instead of standard output; s3://bucket/key or file:///path publishes atomically with a _SUCCESS marker")
		token   = fs.String("token", "", "bearer token")
		maxRows = fs.Int("max-rows", output.DefaultMaxRows, "rows the table format shows")
		pub     publishFlags // --out s3://… publishes atomically: publishflags.go
	)
	pub.register(fs)
	// Flags may come before or after the SQL.
	var sql string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		sql, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sql == "" && fs.NArg() > 0 {
		sql = fs.Arg(0)
	}
	if sql == "" {
		return errors.New(`usage: quiver query "SELECT …" [--server ADDR] [--format table|csv|json|parquet] [--out FILE]`)
	}
	f, err := querycli.OutputFormat(*out, *format)
	if err != nil {
		return err
	}
	opts := querycli.Options{Server: *server, SQL: sql, Format: f, Token: *token, MaxRows: *maxRows}
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
	return querycli.Run(ctx, opts)
}
