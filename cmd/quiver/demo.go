package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
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
		wh          warehouseFlags
		logs        logFlags
		scale       = fs.Float64("scale", 1.0, "dataset size; 1.0 is about 7 million rows")
		iceberg     = fs.Bool("iceberg", true, "also write the Iceberg table billing.invoices into a SQL catalog under <warehouse>/_iceberg (local warehouses only)")
		icebergOnly = fs.Bool("iceberg-only", false, "write only the Iceberg table, from the demo.profiles already in the (local) warehouse")
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
	if *icebergOnly && wh.isS3() {
		return fmt.Errorf("--iceberg-only: the demo's Iceberg catalog is a local sqlite file; %s is not a local warehouse", wh.warehouse)
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
	if !*icebergOnly {
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
	}
	switch {
	case !*iceberg && !*icebergOnly:
		return nil
	case wh.isS3():
		logger.Info("iceberg demo table skipped: its SQL catalog is a local sqlite file, and the warehouse is in S3", "warehouse", root)
		return nil
	}
	return writeDemoIceberg(ctx, db, root, logger)
}

// writeDemoIceberg writes the demo's Iceberg table under root/_iceberg and
// logs the --iceberg-catalog value that serves it.
func writeDemoIceberg(ctx context.Context, db *engine.DB, root string, logger *slog.Logger) error {
	start := time.Now()
	stats, err := demodata.WriteIceberg(ctx, db.SQL(), demodata.IcebergOptions{Warehouse: root, Logger: logger})
	if err != nil {
		return fmt.Errorf("write the demo's Iceberg table in %s: %w", root, err)
	}
	logger.Info("iceberg demo table written", "table", demodata.IcebergNamespace+"."+demodata.IcebergTable,
		"catalog", stats.CatalogPath, "snapshots", len(stats.Snapshots), "duration", time.Since(start).Round(time.Millisecond),
		"serveWith", "--iceberg-catalog '"+icebergCatalogFlag("lake", stats)+"'")
	return nil
}

// icebergCatalogFlag is the --iceberg-catalog value that serves the demo's
// SQL catalog as catalog name. The paths are escaped for the option
// parser (url.ParseQuery), slashes left readable.
func icebergCatalogFlag(name string, stats demodata.IcebergStats) string {
	esc := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", ";", "%3B", "#", "%23", " ", "%20")
	return fmt.Sprintf("%s=sqlite:%s?warehouse=%s&sql-catalog-name=%s",
		name, stats.CatalogPath, esc.Replace(stats.TablesDir), esc.Replace(stats.CatalogName))
}
