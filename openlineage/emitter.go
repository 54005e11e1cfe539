package openlineage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/reports"
	"github.com/quiver-data/quiver/systables"
)

// Options configure an Emitter.
type Options struct {
	// URL receives the events, one POST of JSON each (Marquez:
	// http://host:5000/api/v1/lineage).
	URL string
	// Namespace is the jobs' namespace and that of the catalog's tables
	// (datasets "catalog.schema.table"); default "quiver".
	Namespace string
	// QuerySample is the fraction of queries (not report runs, which are
	// all reported) whose runs are posted: 0 none, 1 all.
	QuerySample float64
	// Queue is how many events wait for delivery; beyond it new ones are
	// dropped (counted). Default 1024.
	Queue int
	// Attempts is how often a delivery is tried (default 4), Backoff the
	// wait before the second (doubling; default 500ms), Timeout each
	// POST's limit (default 10s).
	Attempts int
	Backoff  time.Duration
	Timeout  time.Duration
	// Client posts; nil is a plain http.Client.
	Client     *http.Client
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Emitter posts OpenLineage run events for report runs and sampled
// queries. Building an event takes microseconds on the caller's
// goroutine; delivery is Run's, so a slow or absent receiver never slows
// or fails a query: events wait in a bounded queue, are retried with
// backoff, and are dropped (counted) when the queue is full.
type Emitter struct {
	opts   Options
	logger *slog.Logger
	queue  chan []byte
	events *prometheus.CounterVec

	mu sync.Mutex
	// reportQueries keeps, per report run id, the lineage of the run's
	// query until the run's end is posted (bounded: oldest dropped).
	reportQueries map[string]reportQuery
	order         []string
}

type reportQuery struct {
	sql    string
	inputs []lineage.Dataset
	result []lineage.Field
	edges  []lineage.Edge
}

const maxPendingReports = 1024

// New returns an emitter; Run delivers its events.
func New(opts Options) (*Emitter, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--openlineage-url %q: want an http:// or https:// URL", opts.URL)
	}
	if opts.QuerySample < 0 || opts.QuerySample > 1 {
		return nil, fmt.Errorf("--openlineage-sample %v: want a fraction from 0 to 1", opts.QuerySample)
	}
	if opts.Namespace == "" {
		opts.Namespace = "quiver"
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Emitter{opts: opts, logger: logger, queue: make(chan []byte, opts.Queue), reportQueries: map[string]reportQuery{}}
	e.events = promauto.With(opts.Registerer).NewCounterVec(prometheus.CounterOpts{
		Name: "quiver_openlineage_events_total",
		Help: "OpenLineage events, by result: sent (accepted by the receiver), failed (refused, or every attempt failed), dropped (the queue was full).",
	}, []string{"result"})
	for _, r := range []string{"sent", "failed", "dropped"} {
		e.events.WithLabelValues(r)
	}
	return e, nil
}

// QueryEnded reports an ended query (flightserver's Options.Ended): a
// report run's query is kept for the run's end event; others are posted
// as START and COMPLETE/FAIL/ABORT when sampled.
func (e *Emitter) QueryEnded(rec systables.QueryRecord, io func() ([]lineage.Dataset, []lineage.Field)) {
	if rec.Run.RunID == "" && !Sampled(rec.ID, e.opts.QuerySample) {
		return
	}
	inputs, result := io()
	if rec.Run.RunID != "" {
		e.mu.Lock()
		if _, ok := e.reportQueries[rec.Run.RunID]; !ok {
			e.order = append(e.order, rec.Run.RunID)
		}
		e.reportQueries[rec.Run.RunID] = reportQuery{sql: rec.SQL, inputs: inputs, result: result, edges: rec.Lineage}
		if len(e.order) > maxPendingReports {
			delete(e.reportQueries, e.order[0])
			e.order = e.order[1:]
		}
		e.mu.Unlock()
		return
	}
	if len(inputs) == 0 {
		return // system-table queries read no dataset
	}
	job := Job{Namespace: e.opts.Namespace, Name: "query." + jobKey(rec.SQL), Facets: jobFacets(rec.SQL, "QUERY")}
	run := Run{RunID: runID("query:" + rec.ID)}
	ins := e.inputs(inputs)
	e.post(RunEvent{EventType: Start, EventTime: eventTime(rec.Submitted), Run: run, Job: job, Inputs: ins, Outputs: []Dataset{}})
	end := RunEvent{EventTime: eventTime(rec.Finished), Run: run, Job: job, Inputs: ins, Outputs: []Dataset{}}
	switch rec.State {
	case systables.StateFinished:
		end.EventType = Complete
	case systables.StateCancelled:
		end.EventType = Abort
	default:
		end.EventType, end.Run.Facets = Fail, errorFacets(rec.Error)
	}
	e.post(end)
}

// ReportRecorded reports a report run's attempt as the scheduler records
// it (reports' Options.Observe): START when it begins, COMPLETE with the
// query's inputs and the published object's column lineage when it
// succeeded, FAIL when it failed (or will be retried as a new run).
func (e *Emitter) ReportRecorded(r reports.Record) {
	if r.Attempt == 0 {
		return // skipped: no run
	}
	job := Job{Namespace: e.opts.Namespace, Name: "report." + r.Report, Facets: jobFacets("", "REPORT")}
	run := Run{RunID: runID(fmt.Sprintf("report:%s#%d", r.RunID, r.Attempt))}
	ev := RunEvent{Run: run, Job: job, Inputs: []Dataset{}, Outputs: []Dataset{}}
	switch r.Status {
	case reports.StatusRunning:
		ev.EventType, ev.EventTime = Start, eventTime(r.StartTime)
		e.post(ev)
		return
	case reports.StatusSucceeded:
		ev.EventType = Complete
	case reports.StatusFailed, reports.StatusRetrying, reports.StatusInterrupted:
		ev.EventType, ev.Run.Facets = Fail, errorFacets(r.Error)
	default:
		return
	}
	ev.EventTime = eventTime(r.EndTime)
	e.mu.Lock()
	q, ok := e.reportQueries[r.RunID]
	delete(e.reportQueries, r.RunID)
	e.mu.Unlock()
	if ok {
		ev.Job.Facets = jobFacets(q.sql, "REPORT")
		ev.Inputs = e.inputs(q.inputs)
	}
	if r.Status == reports.StatusSucceeded {
		if !ok {
			q = reportQuery{}
		}
		ev.Outputs = []Dataset{e.output(r.OutputURI, q.result, q.edges)}
	}
	e.post(ev)
}

// Sampled reports whether the query id is in a sample of the given
// fraction: decided by the id's hash, so the same ids every time.
func Sampled(id string, fraction float64) bool {
	switch {
	case fraction >= 1:
		return true
	case fraction <= 0:
		return false
	}
	sum := sha256.Sum256([]byte(id))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/float64(1<<53) < fraction
}

// jobKey names a statement's job: its text's hash, so every run of one
// statement is a run of one job.
func jobKey(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(sum[:8])
}

// post queues an event, or drops it when the queue is full.
func (e *Emitter) post(ev RunEvent) {
	ev.Producer, ev.SchemaURL = producerURL, eventSchema
	body, err := json.Marshal(ev)
	if err != nil {
		e.logger.Warn("openlineage event not encoded", "err", err)
		e.events.WithLabelValues("failed").Inc()
		return
	}
	select {
	case e.queue <- body:
	default:
		e.events.WithLabelValues("dropped").Inc()
	}
}

// Run delivers queued events in order until ctx ends, then tries what is
// still queued once more for at most a few seconds.
func (e *Emitter) Run(ctx context.Context) {
	for {
		select {
		case body := <-e.queue:
			e.deliver(ctx, body)
		case <-ctx.Done():
			drain, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			for {
				select {
				case body := <-e.queue:
					if drain.Err() != nil {
						e.events.WithLabelValues("dropped").Inc()
						continue
					}
					if err := e.attempt(drain, body); err != nil {
						e.events.WithLabelValues("failed").Inc()
					}
				default:
					return
				}
			}
		}
	}
}

// errPermanent is a receiver's refusal no retry changes (4xx but 429).
var errPermanent = errors.New("refused")

func (e *Emitter) deliver(ctx context.Context, body []byte) {
	wait := e.opts.Backoff
	for try := 1; ; try++ {
		err := e.attempt(ctx, body)
		if err == nil {
			return
		}
		if errors.Is(err, errPermanent) || try >= e.opts.Attempts || ctx.Err() != nil {
			e.events.WithLabelValues("failed").Inc()
			e.logger.Warn("openlineage event not delivered", "url", e.opts.URL, "attempts", try, "err", err)
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait *= 2
	}
}

// attempt posts body once (counting a success).
func (e *Emitter) attempt(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.opts.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.opts.Client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			e.events.WithLabelValues("sent").Inc()
			return nil
		case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests:
			return fmt.Errorf("%w: HTTP %d", errPermanent, resp.StatusCode)
		}
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	e.logger.Debug("openlineage delivery failed", "url", e.opts.URL, "err", err)
	return err
}
