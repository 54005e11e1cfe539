package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quiver-data/quiver/demodata"
	"github.com/quiver-data/quiver/engine"
)

func runDemoData(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo-data", flag.ContinueOnError)
	var (
		wh    warehouseFlags
		logs  logFlags
		scale = fs.Float64("scale", 1.0, "dataset size; 1.0 is about 7 million rows")
	)
	wh.register(fs)
	logs.register(fs)
	logs.format = "text"
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := logs.logger()
	if err != nil {
		return err
	}
	root := strings.TrimSuffix(wh.warehouse, "/")
	if !wh.isS3() {
		if root, err = filepath.Abs(wh.warehouse); err != nil {
			return err
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return fmt.Errorf("create warehouse: %w", err)
		}
	}
	db, _, err := wh.openEngine(ctx, engine.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }() // the data is written and synced by then
	start := time.Now()
	stats, err := demodata.Generate(ctx, db.SQL(), demodata.Options{Warehouse: root, Scale: *scale, Logger: logger})
	if err != nil {
		return fmt.Errorf("generate demo data in %s: %w", root, err)
	}
	var total int64
	for _, n := range stats.Tables {
		total += n
	}
	logger.Info("demo data written", "warehouse", root, "rows", total, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}
