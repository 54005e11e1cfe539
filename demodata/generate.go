package demodata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Errors returned by Generate for invalid options.
var (
	// ErrNoWarehouse means Options.Warehouse was empty.
	ErrNoWarehouse = errors.New("no warehouse given")
	// ErrInvalidScale means Options.Scale was negative, NaN or infinite.
	ErrInvalidScale = errors.New("scale must be a positive finite number")
)

// eventFiles is the number of files demo.events is split into.
const eventFiles = 4

// Options configures Generate.
type Options struct {
	// Warehouse is the root as DuckDB sees it: a local directory (made
	// absolute) or a URI such as "s3://bucket/prefix".
	Warehouse string
	// Scale multiplies the row counts; 0 means 1.0.
	Scale float64
	// Logger receives one line per table written; nil discards.
	Logger *slog.Logger
}

// Stats reports what Generate wrote.
type Stats struct {
	// Tables maps "schema.table" to the number of rows written.
	Tables map[string]int64
}

// output is one COPY: a query and the file it writes.
type output struct {
	query  string
	target string
}

// Generate writes demo.titles, demo.profiles, demo.plays and demo.events
// under opts.Warehouse with DuckDB COPY ... (FORMAT parquet). db must be able
// to write there: for S3 targets the caller has loaded httpfs and created the
// secret. Existing demo files are overwritten, so reruns are safe.
func Generate(ctx context.Context, db *sql.DB, opts Options) (Stats, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if opts.Scale < 0 || math.IsNaN(opts.Scale) || math.IsInf(opts.Scale, 0) {
		return Stats{}, fmt.Errorf("demo data at scale %v: %w", opts.Scale, ErrInvalidScale)
	}
	if opts.Warehouse == "" {
		return Stats{}, ErrNoWarehouse
	}
	root, local, err := resolveRoot(opts.Warehouse)
	if err != nil {
		return Stats{}, err
	}
	sz := sizesAt(opts.Scale)

	tables := []struct {
		name    string
		outputs []output
	}{
		{"demo.titles", []output{{query: titlesQuery(sz.titles), target: join(root, local, "demo", "titles", "titles.parquet")}}},
		{"demo.profiles", []output{{query: profilesQuery(sz.profiles), target: join(root, local, "demo", "profiles", "profiles.parquet")}}},
		{"demo.plays", playOutputs(root, local, sz)},
		{"demo.events", eventOutputs(root, local, sz)},
	}

	stats := Stats{Tables: make(map[string]int64, len(tables))}
	for _, t := range tables {
		start := time.Now()
		var rows int64
		for _, out := range t.outputs {
			if local {
				if err := os.MkdirAll(filepath.Dir(out.target), 0o755); err != nil {
					return stats, fmt.Errorf("write %s: %w", t.name, err)
				}
			}
			n, err := copyTo(ctx, db, out)
			if err != nil {
				return stats, fmt.Errorf("write %s to %s: %w", t.name, out.target, err)
			}
			rows += n
		}
		stats.Tables[t.name] = rows
		opts.Logger.Info("demo table written", "table", t.name, "rows", rows,
			"files", len(t.outputs), "duration", time.Since(start).Round(time.Millisecond))
	}
	return stats, nil
}

// sizesAt returns the row counts of every table at a scale.
func sizesAt(scale float64) sizes {
	rows := func(base, minimum float64) int64 {
		return int64(math.Max(minimum, math.Round(base*scale)))
	}
	return sizes{
		titles:   rows(20_000, 100),
		profiles: rows(200_000, 1_000),
		plays:    rows(5_000_000, 10_000),
		events:   rows(2_000_000, 10_000),
	}
}

// playOutputs writes demo.plays as one file per day partition,
// day=YYYY-MM-DD/data_0.parquet. One COPY per day rather than one
// PARTITION_BY COPY because DuckDB's partitioned writer interleaves its
// threads' rows, and the files would differ from run to run.
func playOutputs(root string, local bool, sz sizes) []output {
	outs := make([]output, dataDays)
	for d := range outs {
		day := time.Unix(dataStart+int64(d)*secondsPerDay, 0).UTC().Format(time.DateOnly)
		outs[d] = output{
			query:  playsQuery(sz, d),
			target: join(root, local, "demo", "plays", "day="+day, "data_0.parquet"),
		}
	}
	return outs
}

// eventOutputs splits demo.events by row number into part-00000 ... files.
func eventOutputs(root string, local bool, sz sizes) []output {
	outs := make([]output, eventFiles)
	for k := range outs {
		outs[k] = output{
			query:  eventsQuery(sz, k),
			target: join(root, local, "demo", "events", fmt.Sprintf("part-%05d.parquet", k)),
		}
	}
	return outs
}

// copyTo runs one COPY and returns the number of rows it wrote.
func copyTo(ctx context.Context, db *sql.DB, out output) (int64, error) {
	stmt := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", out.query, sqlString(out.target))
	var n int64
	if err := db.QueryRowContext(ctx, stmt).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// resolveRoot normalises the warehouse root: URIs (anything with a scheme
// but file://) lose their trailing slash, local paths become absolute.
func resolveRoot(warehouse string) (root string, local bool, err error) {
	warehouse = strings.TrimPrefix(warehouse, "file://")
	if strings.Contains(warehouse, "://") {
		return strings.TrimRight(warehouse, "/"), false, nil
	}
	abs, err := filepath.Abs(warehouse)
	if err != nil {
		return "", false, fmt.Errorf("resolve warehouse %s: %w", warehouse, err)
	}
	return abs, true, nil
}

// join appends path elements to the warehouse root.
func join(root string, local bool, elem ...string) string {
	if local {
		return filepath.Join(append([]string{root}, elem...)...)
	}
	return root + "/" + strings.Join(elem, "/")
}
