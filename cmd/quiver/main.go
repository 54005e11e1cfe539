package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `quiver — an Arrow Flight SQL server for Parquet warehouses

Usage:
  quiver serve      [flags]   run the coordinator (and its local workers)
  quiver worker     [flags]   run a DuckDB worker (started by serve, or by you)
  quiver demo-data  [flags]   write the demo dataset into a warehouse
  quiver query SQL  [flags]   run a query against a server and print it
  quiver sql        [flags]   an interactive SQL shell (or -c "…", -f FILE, stdin)
  quiver search TEXT [flags]  find tables and columns by name, description and tags
  quiver lineage COLUMN       who read schema.table.column, and how (or --query ID)
  quiver detect run           sample every table for personal data now (admins)
  quiver token      [flags]   sign a bearer token (--sub alice --role analyst --ttl 1h)
  quiver report     list|run NAME [--at TIME]|check FILE   scheduled reports
  quiver version              print the version

Every flag can also be set with an environment variable QUIVER_<FLAG>
(--s3-endpoint → QUIVER_S3_ENDPOINT) or in a YAML file given with --config;
flags win over the environment, which wins over the file.
Run "quiver <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && os.Args[1] == "sql" {
		// The shell's Ctrl-C cancels a statement, not the shell (runSQL).
		stop()
		ctx, stop = signal.NotifyContext(context.Background(), syscall.SIGTERM)
	}
	err := run(ctx, os.Args[1:])
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
	case interrupted || errors.Is(err, errInterrupted):
		// Ctrl-C or SIGTERM ended a command: say so in one line, not as
		// the RPC error the cancelled context caused, and exit as shells
		// expect of an interrupted program.
		msg := "interrupted"
		if errors.Is(err, errInterrupted) {
			msg = err.Error()
		}
		fmt.Fprintln(os.Stderr, "quiver:", msg)
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "quiver:", err)
		os.Exit(1)
	}
}

// errInterrupted is what a command returns when Ctrl-C stopped it, wrapped
// in a message saying what became of its work.
var errInterrupted = errors.New("interrupted")

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest)
	case "worker":
		return runWorker(ctx, rest)
	case "demo-data":
		return runDemoData(ctx, rest)
	case "query":
		return runQuery(ctx, rest)
	case "sql":
		return runSQL(ctx, rest)
	case "search":
		return runSearch(ctx, rest)
	case "lineage":
		return runLineage(ctx, rest)
	case "detect":
		return runDetect(ctx, rest)
	case "token":
		return runToken(ctx, rest)
	case "report":
		return runReport(ctx, rest)
	case "version", "--version":
		fmt.Println("quiver", version)
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
