package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

func runSearch(ctx context.Context, args []string) error {
	return searchCommand(ctx, args, os.Stdout)
}

// searchCommand is `quiver search TEXT`: the tables and columns the caller
// may see that match, best first, one per line.
func searchCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	var (
		limit = fs.Int("limit", 20, "most hits to show (1 to 1000)")
		conn  connFlags
	)
	conn.register(fs)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	text := strings.Join(rest, " ")
	if strings.TrimSpace(text) == "" {
		return errors.New(`usage: quiver search TEXT [--limit N] [--server ADDR]   (for example: quiver search revenue)`)
	}
	c, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	hits, err := c.Search(ctx, text, *limit)
	if err != nil {
		return err
	}
	if len(hits) == 0 {
		fmt.Fprintf(stdout, "nothing matches %q\n", text)
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tTYPE\tTAGS\tDESCRIPTION")
	for _, h := range hits {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", h.Kind, h.Name(), h.Type, strings.Join(h.Tags, ","), oneLine(h.Description))
	}
	return w.Flush()
}

// oneLine keeps a description on its line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
