package shell

import (
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
)

// dotHelp lists the dot commands.
const dotHelp = `.help                 this list
.tables [PATTERN]     tables you may read (PATTERN: a glob, e.g. demo.*)
.schema TABLE         the columns of TABLE
.mode MODE            output: table, csv, json, markdown or line
.timer on|off         print each statement's run time
.output [FILE]        write results to FILE; without FILE, to the terminal again
.refresh              read the catalog again (completion, .tables)
.quit, .exit          leave (Ctrl-D too)
Statements end with ';'. Ctrl-C cancels a running query.`

// dot runs a dot command.
func (s *Shell) dot(ctx context.Context, line string) error {
	fields := strings.Fields(line)
	cmd, args := fields[0], fields[1:]
	switch cmd {
	case ".quit", ".exit", ".q":
		return ErrQuit
	case ".help", ".h":
		fmt.Fprintln(s.opts.Stdout, dotHelp)
	case ".tables":
		return s.tables(ctx, args)
	case ".schema":
		if len(args) != 1 {
			return fmt.Errorf(".schema takes one table: .schema demo.plays")
		}
		return s.schema(ctx, args[0])
	case ".mode":
		if len(args) != 1 {
			fmt.Fprintln(s.opts.Stdout, s.mode)
			return nil
		}
		switch args[0] {
		case output.FormatTable, output.FormatCSV, output.FormatJSON, output.FormatMarkdown, output.FormatLine:
			s.mode = args[0]
		case "box", "duckbox":
			s.mode = output.FormatTable
		default:
			return fmt.Errorf(".mode %s: want table, csv, json, markdown or line", args[0])
		}
	case ".timer":
		if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
			return fmt.Errorf(".timer takes on or off")
		}
		s.timer = args[0] == "on"
	case ".output", ".o":
		if err := s.Close(); err != nil {
			return fmt.Errorf("close output: %w", err)
		}
		s.out = s.opts.Stdout
		if len(args) == 0 {
			return nil
		}
		f, err := os.Create(args[0])
		if err != nil {
			return fmt.Errorf(".output: %w", err)
		}
		s.outFile, s.out = f, f
	case ".refresh":
		s.catalog = nil
		_, err := s.tablesOf(ctx)
		return err
	default:
		return fmt.Errorf("unknown command %s (.help lists them)", cmd)
	}
	return nil
}

// tablesOf is the catalog, read from the server once.
func (s *Shell) tablesOf(ctx context.Context) ([]client.Table, error) {
	if s.catalog != nil {
		return s.catalog, nil
	}
	t, err := s.opts.Conn.Tables(ctx)
	if err != nil {
		return nil, err
	}
	s.catalog = t
	return t, nil
}

func (s *Shell) tables(ctx context.Context, args []string) error {
	ts, err := s.tablesOf(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, t := range ts {
		name := qualified(t)
		if len(args) > 0 {
			if ok, _ := path.Match(strings.ToLower(args[0]), strings.ToLower(name)); !ok {
				continue
			}
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(s.out, n)
	}
	return nil
}

func (s *Shell) schema(ctx context.Context, name string) error {
	ts, err := s.tablesOf(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if !strings.EqualFold(qualified(t), name) && !strings.EqualFold(t.Name, name) {
			continue
		}
		fmt.Fprintf(s.out, "%s (\n", qualified(t))
		for i, c := range t.Columns {
			sep := ","
			if i == len(t.Columns)-1 {
				sep = ""
			}
			fmt.Fprintf(s.out, "  %s %s%s\n", c.Name, strings.ToUpper(output.TypeName(c.Type)), sep)
		}
		fmt.Fprintln(s.out, ")")
		return nil
	}
	return fmt.Errorf("no table %s (.tables lists them)", name)
}

// qualified is schema.table.
func qualified(t client.Table) string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}
