package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/quiver-data/quiver/querycli"
)

func runQuery(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	var (
		server  = fs.String("server", "127.0.0.1:8815", "server address (host:port, grpc://…, grpc+tls://…)")
		format  = fs.String("format", "table", "output: table, csv, json (one object per line) or parquet")
		out     = fs.String("out", "", "write to this file instead of standard output; s3://bucket/key or file:///path publishes atomically with a _SUCCESS marker")
		token   = fs.String("token", "", "bearer token")
		maxRows = fs.Int("max-rows", 40, "rows the table format shows")
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
	if querycli.IsPublishURI(*out) {
		return pub.run(ctx, querycli.Options{Server: *server, SQL: sql, Format: *format, Token: *token}, *out)
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("create %s: %w", *out, err)
		}
		defer f.Close()
		w = f
	} else if *format == "parquet" {
		return errors.New("--format parquet needs --out FILE")
	}
	err := querycli.Run(ctx, querycli.Options{
		Server: *server, SQL: sql, Format: *format, Out: w, Token: *token, MaxRows: *maxRows,
	})
	if err != nil {
		return err
	}
	if w != os.Stdout {
		return w.Close()
	}
	return nil
}
