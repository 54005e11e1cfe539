package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/reports"
)

const reportUsage = `usage:
  quiver report list  [--server ADDR] [--token T | --username U --password P] [--tls-ca FILE] [--json]
  quiver report run NAME [--at TIME] [--replace] [--no-wait] [--server ADDR] [--token T | --username U --password P] [--tls-ca FILE] [--json]
  quiver report check FILE          validate a reports file without a server`

// runReport is `quiver report`: list and run the server's scheduled
// reports through its Flight actions, or check a reports file locally.
func runReport(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(reportUsage)
	}
	switch args[0] {
	case "list":
		return reportList(ctx, args[1:], os.Stdout)
	case "run":
		return reportRun(ctx, args[1:], os.Stdout)
	case "check":
		return reportCheck(ctx, args[1:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Println(reportUsage)
		return nil
	}
	return fmt.Errorf("unknown report command %q\n%s", args[0], reportUsage)
}

// clientFlags are the flags of commands that talk to a server.
type clientFlags struct {
	conn connFlags
	json bool
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	c.conn.register(fs)
	fs.BoolVar(&c.json, "json", false, "print the server's JSON answer")
}

// action sends one Flight action to the server and returns its answer.
func (c *clientFlags) action(ctx context.Context, typ string, body []byte) ([]byte, error) {
	cl, err := c.conn.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cl.Close() }() // the answer is in hand
	return cl.Action(ctx, typ, body)
}

func reportList(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report list", flag.ContinueOnError)
	var c clientFlags
	c.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	raw, err := c.action(ctx, reports.ActionList, nil)
	if err != nil {
		return err
	}
	return printReportList(out, raw, c.json)
}

// noReports is what report list prints for a server that has no reports
// file; a bare table header read as if the listing had failed.
const noReports = "no reports on this server (start it with --reports-file FILE)"

// noVisibleReports is printed when the server has reports but none the
// caller may run (they run as other users).
const noVisibleReports = "no reports you may run on this server"

// printReportList renders the server's ListResult raw: as it came with
// asJSON, else as a table, or one line when there is nothing to list.
func printReportList(out io.Writer, raw []byte, asJSON bool) error {
	if asJSON {
		_, err := fmt.Fprintln(out, string(raw))
		return err
	}
	var list reports.ListResult
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("decode report list: %w", err)
	}
	if len(list.Reports) == 0 && len(list.Invalid) == 0 {
		msg := noReports
		if list.Configured {
			msg = noVisibleReports
		}
		_, err := fmt.Fprintln(out, msg)
		return err
	}
	if len(list.Reports) > 0 {
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCHEDULE\tTIMEZONE\tNEXT RUN\tLAST RUN\tSTATUS\tLAST SUCCESS\tOUTPUT")
		for _, r := range list.Reports {
			last, st := "-", "-"
			if r.LastRun != nil {
				last, st = r.LastRun.ScheduledTime.Format(time.RFC3339), r.LastRun.Status
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Schedule, r.Timezone, timeOrDash(r.NextRun),
				last, st, timeOrDash(r.LastSuccess), r.Output)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("print report list: %w", err)
		}
	}
	for _, inv := range list.Invalid {
		fmt.Fprintln(out, "invalid:", inv)
	}
	return nil
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func reportRun(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report run", flag.ContinueOnError)
	var c clientFlags
	c.register(fs)
	var (
		at      = fs.String("at", "", "logical run time for a backfill: RFC 3339, or YYYY-MM-DD[THH:MM] in the report's zone (default: now)")
		replace = fs.Bool("replace", false, "publish over an existing output")
		noWait  = fs.Bool("no-wait", false, "return once the run is submitted")
	)
	// The name may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		return errors.New(reportUsage)
	}
	req := reports.RunRequest{Report: name, At: *at, Replace: *replace}
	if *noWait {
		f := false
		req.Wait = &f
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	raw, err := c.action(ctx, reports.ActionRun, body)
	if err != nil {
		return err
	}
	var res reports.RunResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decode run result: %w", err)
	}
	if c.json {
		fmt.Fprintln(out, string(raw))
	} else {
		fmt.Fprintf(out, "report %s scheduled %s: %s", res.Report, res.ScheduledTime.Format(time.RFC3339), res.Status)
		if res.Status == reports.StatusSucceeded {
			fmt.Fprintf(out, " (%d rows, %d bytes, attempt %d) %s", res.Rows, res.Bytes, res.Attempt, res.OutputURI)
		}
		fmt.Fprintln(out)
	}
	switch res.Status {
	case reports.StatusSucceeded, "submitted":
		return nil
	}
	return fmt.Errorf("report %s %s: %s", res.Report, res.Status, res.Error)
}

// reportCheck validates a reports file with DuckDB's parser, as serve
// would load it, and prints each report's next run.
func reportCheck(ctx context.Context, args []string, out io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New(reportUsage)
	}
	db, err := engine.Open(ctx, engine.Options{Threads: 1, Sandbox: &engine.Sandbox{}})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }() // only parsed SQL
	valid, invalid, err := reports.LoadFile(args[0], reports.ParserCheck(db))
	if err != nil {
		return err
	}
	now := time.Now()
	for _, r := range valid {
		fmt.Fprintf(out, "ok       %s: next run %s\n", r.Name, r.Schedule.Next(now).Format(time.RFC3339))
	}
	for _, e := range invalid {
		fmt.Fprintf(out, "invalid  %v\n", e)
	}
	if len(invalid) > 0 {
		return fmt.Errorf("%d of %d reports are invalid", len(invalid), len(valid)+len(invalid))
	}
	return nil
}
