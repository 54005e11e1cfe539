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

// detectCommand is `quiver detect run`: the server samples every table
// now and says what it found (system.detections has the findings).
func detectCommand(ctx context.Context, args []string, stdout io.Writer) error {
	const usage = `usage: quiver detect run [--server ADDR] [--token T]   (findings: quiver query "SELECT * FROM system.detections")`
	if len(args) == 0 || args[0] != "run" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("detect run", flag.ContinueOnError)
	var conn connFlags
	conn.register(fs)
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errors.New(usage)
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
