package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"strings"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/querycli"
)

func runLineage(ctx context.Context, args []string) error {
	return lineageCommand(ctx, args, os.Stdout)
}

// lineageCommand is `quiver lineage COLUMN` (or --query ID): the rows of
// system.lineage for a source column or a query.
func lineageCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lineage", flag.ContinueOnError)
	var (
		queryID = fs.String("query", "", "only this query's lineage (an id of system.queries)")
		format  = fs.String("format", "table", "output: table, csv or json (one object per line)")
		maxRows = fs.Int("max-rows", output.DefaultMaxRows, "rows the table format shows")
		conn    connFlags
	)
	conn.register(fs)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	column := strings.Join(rest, "")
	if column == "" && *queryID == "" {
		return errors.New(`usage: quiver lineage SCHEMA.TABLE.COLUMN [--query ID] [--server ADDR]   (for example: quiver lineage demo.profiles.country)`)
	}
	sql, params, err := client.LineageQuery(column, *queryID)
	if err != nil {
		return err
	}
	f, err := querycli.OutputFormat("", *format)
	if err != nil {
		return err
	}
	return querycli.Run(ctx, querycli.Options{Conn: conn.opts, SQL: sql, Params: params, Format: f, MaxRows: *maxRows, Out: stdout})
}
