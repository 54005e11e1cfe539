package reports

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// call is one Execute the fake executor saw.
type call struct {
	sql       string
	args      []any
	principal auth.Principal
}

// duckExecutor runs queries in an in-memory DuckDB holding demo.plays,
// and can be told to fail or to block.
type duckExecutor struct {
	db *engine.DB

	mu       sync.Mutex
	calls    []call
	failures int           // fail this many calls first
	block    chan struct{} // when set, calls wait for it to close (or ctx)
	started  chan struct{} // receives one value per call, when set
}

func newDuckExecutor(t *testing.T) *duckExecutor {
	t.Helper()
	db := openEngine(t)
	for _, stmt := range []string{
		"CREATE SCHEMA demo",
		`CREATE TABLE demo.plays AS SELECT * FROM (VALUES
			(1, DATE '2025-01-01', 'tv'), (2, DATE '2025-01-01', 'web'), (3, DATE '2025-01-02', 'tv'),
			(4, DATE '2025-01-02', 'tv'), (5, DATE '2025-01-02', 'web'), (6, DATE '2025-01-03', 'tv'))
			AS t(play_id, day, device)`,
	} {
		_, err := db.SQL().ExecContext(context.Background(), stmt)
		require.NoError(t, err)
	}
	return &duckExecutor{db: db}
}

var errInjected = errors.New("injected failure: worker lost")

func (e *duckExecutor) Execute(ctx context.Context, sql string, args []any) (array.RecordReader, error) {
	p, _ := auth.FromContext(ctx)
	e.mu.Lock()
	e.calls = append(e.calls, call{sql: sql, args: args, principal: p})
	fail := e.failures > 0
	if fail {
		e.failures--
	}
	block, started := e.block, e.started
	e.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail {
		return nil, errInjected
	}
	return e.db.QueryArrow(ctx, sql, args...)
}

func (e *duckExecutor) Calls() []call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]call(nil), e.calls...)
}

// env is a scheduler over a local warehouse with a fake clock.
type env struct {
	t      *testing.T
	dir    string
	wh     *storage.Warehouse
	clock  *fakeClock
	exec   *duckExecutor
	reg    *prometheus.Registry
	sleeps []time.Duration
	sched  *Scheduler
}

// newEnv loads yaml (a reports file, with $OUT replaced by the output
// directory) and builds a scheduler; start with env.start.
func newEnv(t *testing.T, yaml string, now time.Time) *env {
	t.Helper()
	dir := t.TempDir()
	return newEnvIn(t, dir, yaml, now, newDuckExecutor(t))
}

func newEnvIn(t *testing.T, dir, yaml string, now time.Time, exec *duckExecutor) *env {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "wh"), 0o755))
	wh, err := storage.Open(ctx, filepath.Join(dir, "wh"), storage.Options{})
	require.NoError(t, err)
	yaml = strings.ReplaceAll(yaml, "$OUT", filepath.Join(dir, "out"))
	valid, invalid, err := Parse([]byte(yaml), ParserCheck(exec.db))
	require.NoError(t, err)
	require.Empty(t, invalid)
	hist, err := OpenHistory(ctx, wh, nil)
	require.NoError(t, err)
	e := &env{t: t, dir: dir, wh: wh, clock: newClock(now), exec: exec, reg: prometheus.NewRegistry()}
	var mu sync.Mutex
	e.sched, err = New(Options{
		Reports: valid, Executor: exec, Warehouse: wh, History: hist, Now: e.clock.Now, Registerer: e.reg,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			e.sleeps = append(e.sleeps, d)
			mu.Unlock()
			return ctx.Err()
		},
		IsAdmin: func(ctx context.Context) bool {
			p, ok := auth.FromContext(ctx)
			return ok && p.Subject == "root"
		},
		CatchUp: true,
		TempDir: t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(e.sched.Close)
	return e
}

func (e *env) start() {
	require.NoError(e.t, e.sched.Start(context.Background(), false))
}

// tickAt moves the clock, ticks and waits for the runs to end.
func (e *env) tickAt(t time.Time) {
	e.clock.Set(t)
	e.sched.Tick()
	e.wait()
}

func (e *env) wait() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(e.t, e.sched.Wait(ctx))
}

func (e *env) out(rel string) string { return filepath.Join(e.dir, "out", filepath.FromSlash(rel)) }

func (e *env) read(rel string) string {
	b, err := os.ReadFile(e.out(rel))
	require.NoError(e.t, err)
	return string(b)
}

func (e *env) metric(name string, labels ...string) float64 {
	switch name {
	case "quiver_report_last_success_timestamp_seconds":
		return testutil.ToFloat64(e.sched.metrics.lastSuccess.WithLabelValues(labels...))
	case "quiver_report_failures_total":
		return testutil.ToFloat64(e.sched.metrics.failures.WithLabelValues(labels...))
	case "quiver_report_runs_total":
		return testutil.ToFloat64(e.sched.metrics.runs.WithLabelValues(labels...))
	}
	e.t.Fatalf("unknown metric %s", name)
	return 0
}

// statuses lists "scheduled/attempt/status" of a report's records.
func statuses(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ScheduledTime.UTC().Format("15:04")+"/"+itoa(r.Attempt)+"/"+r.Status)
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

var t0 = time.Date(2025, 1, 2, 10, 0, 30, 0, time.UTC)

func minute(m int) time.Time { return time.Date(2025, 1, 2, 10, m, 0, 0, time.UTC) }
