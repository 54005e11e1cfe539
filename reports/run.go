package reports

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/output"
	"github.com/quiver-data/quiver/publish"
	"github.com/quiver-data/quiver/storage"
)

// execute runs j's attempts until one succeeds, a failure is permanent,
// the retries are spent or the scheduler stops, recording every attempt.
func (s *Scheduler) execute(ctx context.Context, r *Report, j *job) Record {
	scheduled := j.scheduled.In(r.Location)
	params := Params{RunTime: scheduled, WindowStart: prevFire(r.Schedule, scheduled).In(r.Location)}
	if params.WindowStart.IsZero() {
		params.WindowStart = scheduled
	}
	runID := newRunID(r.Name, scheduled)
	uri := r.Output.Text(params)
	for attempt := 1; ; attempt++ {
		rec := Record{
			RunID: runID, Report: r.Name, Principal: r.Principal.Subject, Trigger: j.trigger,
			ScheduledTime: scheduled, StartTime: s.now(), Status: StatusRunning, Attempt: attempt, OutputURI: uri,
		}
		s.record(rec)
		log := s.logger.With("report", r.Name, "run", runID, "scheduled", scheduled, "attempt", attempt)
		log.Info("report run started", "trigger", j.trigger)
		start := time.Now()
		res, err := s.attempt(ctx, r, j, rec, params)
		rec.EndTime = s.now()
		s.metrics.duration.WithLabelValues(r.Name).Observe(time.Since(start).Seconds())
		switch {
		case err == nil:
			rec.Status, rec.Rows, rec.Bytes, rec.OutputURI = StatusSucceeded, res.Rows, res.Bytes, res.URI
			s.metrics.lastSuccess.WithLabelValues(r.Name).Set(float64(rec.EndTime.UnixNano()) / 1e9)
			log.Info("report published", "uri", res.URI, "rows", res.Rows, "bytes", res.Bytes)
		case ctx.Err() != nil:
			rec.Status, rec.Error = StatusInterrupted, "the server stopped during the run: "+err.Error()
			log.Warn("report run interrupted", "err", err)
		case attempt > r.Retries || permanent(err):
			rec.Status, rec.Error = StatusFailed, err.Error()
			s.metrics.failures.WithLabelValues(r.Name).Inc()
			log.Error("report run failed", "err", err, "retries", r.Retries, "permanent", permanent(err))
		default:
			rec.Status, rec.Error = StatusRetrying, err.Error()
		}
		s.metrics.runs.WithLabelValues(r.Name, rec.Status).Inc()
		s.record(rec)
		if rec.Status != StatusRetrying {
			return rec
		}
		backoff := r.Backoff << (attempt - 1)
		if backoff > r.MaxBackoff || backoff <= 0 {
			backoff = r.MaxBackoff
		}
		log.Warn("report run failed; retrying", "err", err, "backoff", backoff.String())
		if err := s.opts.Sleep(ctx, backoff); err != nil {
			rec.Status, rec.Error = StatusInterrupted, "the server stopped before the retry: "+rec.Error
			s.record(rec)
			return rec
		}
	}
}

// attempt is one try: clean up after earlier runs, query, write the
// result to a temporary file, publish it.
func (s *Scheduler) attempt(ctx context.Context, r *Report, j *job, rec Record, p Params) (publish.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	res, err := s.attemptIn(ctx, r, j, rec, p)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return res, fmt.Errorf("timed out after %s (timeout): %w", r.Timeout, err)
	}
	return res, err
}

func (s *Scheduler) attemptIn(ctx context.Context, r *Report, j *job, rec Record, p Params) (publish.Result, error) {
	store, key, err := s.stores.resolve(ctx, rec.OutputURI)
	if err != nil {
		return publish.Result{}, err
	}
	if err := s.recover(ctx, r.Name+"/"); err != nil {
		s.logger.Warn("report staging cleanup incomplete", "report", r.Name, "err", err)
	}
	if n, err := publish.CleanSiblings(ctx, store, key); err != nil {
		s.logger.Warn("report staging cleanup incomplete", "report", r.Name, "err", err)
	} else if n > 0 {
		s.logger.Info("report staging objects removed", "report", r.Name, "count", n)
	}

	sql, args := r.SQL.Bind(p)
	// The query's lineage names what the run publishes as its output.
	qctx := lineage.WithRun(auth.WithPrincipal(ctx, r.Principal), lineage.Run{Report: r.Name, RunID: rec.RunID, Output: store.URI(key)})
	rdr, err := s.opts.Executor.Execute(qctx, sql, args)
	if err != nil {
		return publish.Result{}, fmt.Errorf("query: %w", err)
	}
	defer rdr.Release()
	tmp, err := os.CreateTemp(s.opts.TempDir, "quiver-report-*")
	if err != nil {
		return publish.Result{}, fmt.Errorf("create result file: %w", err)
	}
	defer os.Remove(tmp.Name())
	counted := &output.CountingReader{RecordReader: rdr}
	err = output.Render(ctx, tmp, renderFormat(r.Format), counted, 0)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return publish.Result{}, fmt.Errorf("write %s result: %w", r.Format, err)
	}
	scheduled := rec.ScheduledTime.UTC()
	var hook func(context.Context) error
	if s.opts.AfterStaging != nil {
		hook = func(ctx context.Context) error { return s.opts.AfterStaging(ctx, r.Name) }
	}
	return publish.File(ctx, store, key, tmp.Name(), publish.Marker{
		Rows: counted.Rows, Format: r.Format, Report: r.Name, RunID: rec.RunID, ScheduledTime: &scheduled,
	}, publish.Options{
		Replace: r.Replace || j.replace, Journal: s.journal, JournalKey: r.Name + "/" + rec.key(),
		AfterStaging: hook, Now: s.now,
	})
}

// renderFormat is package output's name of a report format.
func renderFormat(f string) string {
	if f == FormatJSONL {
		return output.FormatJSON
	}
	return f
}

// permanent reports whether retrying err cannot help (errkind.Retryable):
// the output exists, the SQL is wrong or refused, a table is missing or not
// granted, a limit was hit.
func permanent(err error) bool { return !errkind.Retryable(err) }

// recover resolves publishes in flight under namePrefix of the journal
// (every report with ""), and marks the attempts whose publish had in fact
// completed as succeeded.
func (s *Scheduler) recover(ctx context.Context, namePrefix string) error {
	if s.journal == nil {
		return nil
	}
	recs, err := s.journal.Recover(ctx, namePrefix, s.stores.open)
	for _, rc := range recs {
		s.logger.Info("report publish recovered", "entry", rc.Name, "target", rc.Target,
			"stagingDeleted", rc.StagingDeleted, "published", rc.Published)
		if !rc.Published {
			continue
		}
		for _, r := range s.history.Records() {
			if r.Report+"/"+r.key() == rc.Name && r.Status != StatusSucceeded {
				r.Status, r.Error, r.Rows, r.Bytes, r.OutputURI = StatusSucceeded, "", rc.Rows, rc.Bytes, rc.Target
				s.record(r)
			}
		}
	}
	return err
}

// storeCache opens output stores once: the warehouse for warehouse://
// outputs and URIs under it, a store per bucket (or the local root) for
// the rest.
type storeCache struct {
	wh   *storage.Warehouse
	opts storage.Options

	mu     sync.Mutex
	stores map[string]*storage.Warehouse // by root URI
}

func newStoreCache(wh *storage.Warehouse, opts storage.Options) *storeCache {
	return &storeCache{wh: wh, opts: opts, stores: map[string]*storage.Warehouse{}}
}

// resolve returns the store and key of an output URI.
func (c *storeCache) resolve(ctx context.Context, uri string) (*storage.Warehouse, string, error) {
	if key, ok := strings.CutPrefix(uri, WarehouseScheme); ok {
		if c.wh == nil {
			return nil, "", fmt.Errorf("output %s: no warehouse to write warehouse:// outputs to", uri)
		}
		return c.wh, key, nil
	}
	if c.wh != nil {
		if key, ok := c.wh.KeyOf(uri); ok {
			return c.wh, key, nil
		}
	}
	st, key, err := storage.OpenObject(ctx, uri, c.opts)
	if err != nil {
		return nil, "", fmt.Errorf("output %s: %w", uri, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.stores[st.String()]; ok {
		return cached, key, nil
	}
	c.stores[st.String()] = st
	return st, key, nil
}

// open returns the store rooted at root (a storage.Warehouse String()).
func (c *storeCache) open(ctx context.Context, root string) (*storage.Warehouse, error) {
	if c.wh != nil && root == c.wh.String() {
		return c.wh, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stores[root]; ok {
		return st, nil
	}
	st, err := storage.Open(ctx, root, c.opts)
	if err != nil {
		return nil, err
	}
	c.stores[root] = st
	return st, nil
}
