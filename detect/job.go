package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/storage"
)

// Executor runs a statement as the server runs a client's (the Flight
// server's Execute); the job's context carries planner.Unrestricted.
type Executor interface {
	Execute(ctx context.Context, sql string, args []any) (array.RecordReader, error)
}

// Lister lists the catalog's tables (systables.TableLister).
type Lister interface {
	Tables(ctx context.Context) ([]storage.TableName, error)
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// Options configure a Job.
type Options struct {
	Executor Executor
	Tables   Lister
	// Prepare marks the context the sampling queries run under (the
	// server's principal, planner.Unrestricted).
	Prepare func(context.Context) context.Context
	// Rows is how many rows of each table are sampled; default 1000.
	Rows int
	// Store keeps findings and acceptances across restarts; nil keeps
	// them in memory only.
	Store      Store
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Result is a finding about one column.
type Result struct {
	Catalog, Schema, Table, Column string
	Finding
	DetectedAt time.Time
}

// Summary is what one run did.
type Summary struct {
	Tables   int `json:"tables"`
	Columns  int `json:"columns"`
	Findings int `json:"findings"`
	// Failed are the tables that could not be sampled, with why.
	Failed []string `json:"failed,omitempty"`
	// Seconds is how long the run took.
	Seconds float64 `json:"seconds"`
}

// ErrRunning is a run asked for while one is under way.
var ErrRunning = errors.New("a detection run is under way")

// Job samples every table and keeps the latest findings.
type Job struct {
	opts    Options
	logger  *slog.Logger
	running sync.Mutex
	mu      sync.Mutex
	results []Result
	// accepted are the findings accepted by action.
	accepted []Acceptance
	version  atomic.Int64
	runs     *prometheus.CounterVec
	found    prometheus.Gauge
}

// NewJob returns a job that has not run.
func NewJob(opts Options) *Job {
	if opts.Rows <= 0 {
		opts.Rows = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Prepare == nil {
		opts.Prepare = func(ctx context.Context) context.Context { return ctx }
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := promauto.With(opts.Registerer)
	return &Job{opts: opts, logger: logger,
		runs: reg.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_detection_runs_total", Help: "Detection runs, by result (succeeded, or failed for some tables).",
		}, []string{"result"}),
		found: reg.NewGauge(prometheus.GaugeOpts{
			Name: "quiver_detection_findings", Help: "Columns the latest detection run found personal data in.",
		}),
	}
}

// Results are the latest run's findings, by table and column.
func (j *Job) Results() []Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.results)
}

// Run samples every table (at most one run at a time: ErrRunning) and
// replaces the findings. A table that cannot be sampled keeps its
// earlier findings and is named in the summary.
func (j *Job) Run(ctx context.Context) (Summary, error) {
	if !j.running.TryLock() {
		return Summary{}, ErrRunning
	}
	defer j.running.Unlock()
	start := time.Now()
	names, err := j.opts.Tables.Tables(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("list tables: %w", err)
	}
	var sum Summary
	var results []Result
	kept := map[string]bool{}
	for _, n := range names {
		t, err := j.opts.Tables.Table(ctx, n)
		if err == nil {
			var got []Result
			got, err = j.table(ctx, t)
			results = append(results, got...)
			sum.Columns += len(t.Columns)
		}
		if err != nil {
			if ctx.Err() != nil {
				return Summary{}, ctx.Err()
			}
			sum.Failed = append(sum.Failed, fmt.Sprintf("%s: %v", n, err))
			kept[n.String()] = true
			continue
		}
		sum.Tables++
	}
	j.mu.Lock()
	for _, r := range j.results { // a table not sampled this time keeps what was found
		if kept[r.tableName().String()] {
			results = append(results, r)
		}
	}
	slices.SortFunc(results, func(a, b Result) int {
		return strings.Compare(a.Catalog+"."+a.Schema+"."+a.Table+"."+a.Column, b.Catalog+"."+b.Schema+"."+b.Table+"."+b.Column)
	})
	j.results = results
	saveErr := j.save(ctx)
	j.mu.Unlock()
	j.version.Add(1)
	if saveErr != nil {
		j.logger.Warn("detection findings not saved; they last until a restart", "err", saveErr)
	}
	sum.Findings, sum.Seconds = len(results), time.Since(start).Seconds()
	j.found.Set(float64(len(results)))
	result := "succeeded"
	if len(sum.Failed) > 0 {
		result = "failed"
	}
	j.runs.WithLabelValues(result).Inc()
	j.logger.Info("detection run", "tables", sum.Tables, "columns", sum.Columns, "findings", sum.Findings,
		"failed", len(sum.Failed), "seconds", sum.Seconds)
	return sum, nil
}

// warehouseCatalog is the catalog of the warehouse's tables
// (planner.CatalogName).
const warehouseCatalog = "quiver"

// tableName is the catalog's name of r's table (an Iceberg table's
// schema is "<catalog>.<namespace>").
func (r Result) tableName() storage.TableName {
	n := storage.TableName{Schema: r.Schema, Name: r.Table}
	if r.Catalog != warehouseCatalog {
		n.Schema = r.Catalog + "." + r.Schema
	}
	return n
}

// sampled reports whether a column's values are read as text: strings
// and numbers (a card number may be a BIGINT); dates, booleans, binary
// and nested values hold none of the value kinds (their names are still
// looked at).
func sampled(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW,
		arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT32, arrow.UINT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// table samples one table with DuckDB's reservoir sampling and looks at
// each column.
func (j *Job) table(ctx context.Context, t *storage.Table) ([]Result, error) {
	catalog, schema := t.Qualified(warehouseCatalog)
	ref := quote(schema) + "." + quote(t.Name.Name)
	if catalog != warehouseCatalog {
		ref = quote(catalog) + "." + ref
	}
	var cols []string
	for _, c := range t.Columns {
		if sampled(c.Type) {
			cols = append(cols, fmt.Sprintf("CAST(%s AS VARCHAR) AS %s", quote(c.Name), quote(c.Name)))
		}
	}
	values := map[string][]string{}
	if len(cols) > 0 {
		sql := fmt.Sprintf("SELECT %s FROM %s USING SAMPLE reservoir(%d ROWS) REPEATABLE (42)", strings.Join(cols, ", "), ref, j.opts.Rows)
		rdr, err := j.opts.Executor.Execute(j.opts.Prepare(ctx), sql, nil)
		if err != nil {
			return nil, err
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			for i, f := range rec.Schema().Fields() {
				col, ok := rec.Column(i).(*array.String)
				if !ok {
					continue
				}
				for r := range col.Len() {
					if col.IsValid(r) && col.Value(r) != "" {
						values[f.Name] = append(values[f.Name], strings.Clone(col.Value(r)))
					}
				}
			}
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return nil, err
		}
	}
	now := j.opts.Now()
	var out []Result
	for _, c := range t.Columns {
		if f, ok := Column(c.Name, values[c.Name]); ok {
			out = append(out, Result{Catalog: catalog, Schema: schema, Table: t.Name.Name, Column: c.Name, Finding: f, DetectedAt: now})
		}
	}
	return out, nil
}
