package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/quiver-data/quiver/detect"
)

func runDetect(ctx context.Context, args []string) error {
	return detectCommand(ctx, args, os.Stdout)
}

const detectUsage = `usage: quiver detect run [--server ADDR] [--token T]   (findings: quiver query "SELECT * FROM system.detections")
       quiver detect accept TABLE COLUMN [--kind KIND] [--server ADDR] [--token T]`

// detectCommand is `quiver detect run`: the server samples every table
// now and says what it found (system.detections has the findings); and
// `quiver detect accept`, which tags a finding's column pii:<kind>.
func detectCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "accept") {
		return errors.New(detectUsage)
	}
	fs := flag.NewFlagSet("detect "+args[0], flag.ContinueOnError)
	var conn connFlags
	conn.register(fs)
	kind := fs.String("kind", "", "kind of personal data (default: the finding's)")
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if args[0] == "accept" {
		if len(rest) != 2 {
			return errors.New(detectUsage)
		}
		return detectAccept(ctx, conn, acceptRequest{Table: rest[0], Column: rest[1], Kind: *kind}, stdout)
	}
	if len(rest) > 0 || *kind != "" {
		return errors.New(detectUsage)
	}
	c, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	raw, err := c.Action(ctx, ActionDetectRun, nil)
	if err != nil {
		return err
	}
	var sum detect.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		return fmt.Errorf("detection summary: %w", err)
	}
	fmt.Fprintf(stdout, "sampled %d tables (%d columns) in %.1fs: %d findings; see system.detections\n",
		sum.Tables, sum.Columns, sum.Seconds, sum.Findings)
	for _, f := range sum.Failed {
		fmt.Fprintf(stdout, "not sampled: %s\n", f)
	}
	return nil
}

// detectAccept is `quiver detect accept`.
func detectAccept(ctx context.Context, conn connFlags, req acceptRequest, stdout io.Writer) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	c, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	raw, err := c.Action(ctx, ActionDetectAccept, body)
	if err != nil {
		return err
	}
	var acc detect.Acceptance
	if err := json.Unmarshal(raw, &acc); err != nil {
		return fmt.Errorf("detection acceptance: %w", err)
	}
	fmt.Fprintf(stdout, "accepted: %s.%s.%s column %s is tagged %s\n", acc.Catalog, acc.Schema, acc.Table, acc.Column, detect.Tag(acc.Kind))
	return nil
}
