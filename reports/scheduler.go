package reports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/publish"
	"github.com/quiver-data/quiver/storage"
)

// Executor runs a report's query.
type Executor interface {
	// Execute runs sql with args bound to its ? parameters, as the
	// principal ctx carries (auth.WithPrincipal), through admission
	// control, policy and the workers, and streams the result.
	Execute(ctx context.Context, sql string, args []any) (array.RecordReader, error)
}

// ErrUnknownReport is a run or action naming no valid report.
var ErrUnknownReport = errkind.New(errkind.NotFound, "unknown report")

// ErrBadRequest is a report action whose body cannot be used.
var ErrBadRequest = errkind.New(errkind.Invalid, "invalid request")

// ErrStopped is a run asked of a scheduler that is not running (not
// started yet, or stopped).
var ErrStopped = errkind.New(errkind.Unavailable, "the report scheduler is not running")

// JournalPrefix is where publishes in flight are noted in the warehouse.
const JournalPrefix = "_system/report_staging/"

// maxQueued bounds the runs one report may have waiting (overlap: queue);
// more are recorded as skipped.
const maxQueued = 100

// DefaultPoll is how often the scheduler looks for due runs.
const DefaultPoll = time.Second

// Options configure a Scheduler. Reports and Executor are required.
type Options struct {
	// Reports are the valid definitions to schedule; Invalid are the
	// rejected ones (shown by List, counted in metrics).
	Reports []*Report
	Invalid []error
	// Executor runs the queries.
	Executor Executor
	// Warehouse receives warehouse:// outputs and the publish journal;
	// nil allows only s3:// and local outputs and keeps no journal.
	Warehouse *storage.Warehouse
	// StorageOptions open output stores outside the warehouse (S3
	// endpoint, region, addressing).
	StorageOptions storage.Options
	// History records runs; nil keeps an in-memory one.
	History *History
	// CatchUp runs, on Start, the latest scheduled run each report missed
	// while the server was down.
	CatchUp bool
	// Now is the clock; nil is time.Now. Poll is how often the loop started
	// by Start checks for due runs (DefaultPoll when zero); tests drive
	// Tick themselves instead.
	Now  func() time.Time
	Poll time.Duration
	// Sleep waits out a retry's backoff; nil sleeps on a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// AfterStaging runs between a run's staging write and its publish,
	// with the report's name (a test hook; see publish.Options).
	AfterStaging func(ctx context.Context, report string) error
	// IsAdmin says whether an action's caller may run and see every
	// report; others only those that run as themselves. nil: nobody.
	IsAdmin func(ctx context.Context) bool
	// Observe, when set, sees every record of a run as it is written
	// (OpenLineage's emitter).
	Observe func(Record)
	// TempDir holds results while they are written; "" is os.TempDir.
	TempDir    string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Scheduler runs reports on their schedules, on demand and in catch-up.
type Scheduler struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	history *History
	journal *publish.Journal
	now     func() time.Time
	stores  *storeCache

	states []*reportState // in definition order
	byName map[string]*reportState

	mu      sync.Mutex
	ctx     context.Context // runs' context: ends on Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// reportState is one report's place in the schedule.
type reportState struct {
	r *Report
	// next is the next scheduled time not yet handled; guarded by the
	// scheduler's mu like the rest.
	next    time.Time
	running bool
	queue   []*job
}

// job is one run to do.
type job struct {
	scheduled time.Time
	trigger   string
	replace   bool
	done      chan Record // receives the final record; buffered, may be nil
}

// New builds a scheduler. It starts nothing: call Start.
func New(opts Options) (*Scheduler, error) {
	if opts.Executor == nil {
		return nil, errors.New("reports: an Executor is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.History == nil {
		opts.History = NewHistory(nil, opts.Logger)
	}
	s := &Scheduler{
		opts:    opts,
		logger:  opts.Logger,
		metrics: newMetrics(opts.Registerer),
		history: opts.History,
		now:     opts.Now,
		stores:  newStoreCache(opts.Warehouse, opts.StorageOptions),
		byName:  map[string]*reportState{},
	}
	if opts.Warehouse != nil {
		s.journal = publish.NewJournal(opts.Warehouse, JournalPrefix)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, r := range opts.Reports {
		if _, dup := s.byName[r.Name]; dup {
			return nil, fmt.Errorf("reports: duplicate report %q", r.Name)
		}
		st := &reportState{r: r}
		s.states = append(s.states, st)
		s.byName[r.Name] = st
		s.metrics.failures.WithLabelValues(r.Name)
	}
	s.metrics.definitions.WithLabelValues("valid").Set(float64(len(opts.Reports)))
	s.metrics.definitions.WithLabelValues("invalid").Set(float64(len(opts.Invalid)))
	for _, err := range opts.Invalid {
		s.logger.Error("report definition rejected; the other reports still run", "err", err)
	}
	return s, nil
}

// History is the run history (the system table report_runs).
func (s *Scheduler) History() *History { return s.history }

// Start recovers publishes that died with the previous server, sets each
// report's next run, runs missed runs when CatchUp is set, and (with loop)
// starts the goroutine that runs due reports every Poll until Close.
// Tests pass loop=false and call Tick.
func (s *Scheduler) Start(ctx context.Context, loop bool) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("reports: scheduler already started")
	}
	s.started = true
	s.mu.Unlock()

	if err := s.recover(ctx, ""); err != nil {
		// A store that is down now may be up for the run; the journal
		// entry stays and the report's next run retries the cleanup.
		s.logger.Warn("report publish recovery incomplete", "err", err)
	}
	lastSuccess := map[string]time.Time{}
	for _, r := range s.history.Records() {
		if r.Status == StatusSucceeded && r.EndTime.After(lastSuccess[r.Report]) {
			lastSuccess[r.Report] = r.EndTime
		}
	}
	for name, t := range lastSuccess {
		s.metrics.lastSuccess.WithLabelValues(name).Set(float64(t.UnixNano()) / 1e9)
	}
	now := s.now()
	s.mu.Lock()
	for _, st := range s.states {
		st.next = st.r.Schedule.Next(now)
	}
	s.mu.Unlock()
	if s.opts.CatchUp {
		s.catchUp(now)
	}
	for _, st := range s.states {
		s.logger.Info("report scheduled", "report", st.r.Name, "schedule", st.r.Spec,
			"timezone", st.r.Location.String(), "next", st.next)
	}
	if loop {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop()
		}()
	}
	return nil
}

// catchUp submits, for every report with a history, its latest scheduled
// time at or before now when no run of that time (or a later one) ended.
// A run interrupted by the server's death did not end: it runs again.
func (s *Scheduler) catchUp(now time.Time) {
	for _, st := range s.states {
		recs := s.history.Of(st.r.Name)
		if len(recs) == 0 {
			continue // new report: it missed nothing
		}
		var lastDone time.Time
		for _, r := range recs {
			if r.terminal() && r.Trigger != TriggerManual && r.ScheduledTime.After(lastDone) {
				lastDone = r.ScheduledTime
			}
		}
		due := prevFire(st.r.Schedule, now.Add(time.Nanosecond))
		if due.IsZero() || !due.After(lastDone) {
			continue
		}
		s.logger.Info("report catching up a missed run", "report", st.r.Name, "scheduled", due, "lastEnded", lastDone)
		s.mu.Lock()
		s.submitLocked(st, &job{scheduled: due, trigger: TriggerCatchUp})
		s.mu.Unlock()
	}
}

func (s *Scheduler) loop() {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.Tick()
		}
	}
}

// Tick submits every report whose next scheduled time is at or before the
// clock's now. When several scheduled times passed (the clock jumped, the
// process stalled) only the latest runs; the others are logged as missed.
func (s *Scheduler) Tick() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	for _, st := range s.states {
		if st.next.IsZero() || now.Before(st.next) {
			continue
		}
		due := prevFire(st.r.Schedule, now.Add(time.Nanosecond))
		if due.Before(st.next) {
			due = st.next
		}
		if due.After(st.next) {
			s.logger.Warn("report runs missed; running the latest", "report", st.r.Name, "from", st.next, "latest", due)
		}
		st.next = st.r.Schedule.Next(due)
		s.submitLocked(st, &job{scheduled: due, trigger: TriggerSchedule})
	}
}

// submitLocked starts j, queues it or skips it by the overlap policy.
func (s *Scheduler) submitLocked(st *reportState, j *job) {
	if !st.running {
		st.running = true
		s.wg.Add(1)
		go s.worker(st, j)
		return
	}
	if st.r.Overlap == OverlapQueue && len(st.queue) < maxQueued {
		st.queue = append(st.queue, j)
		s.logger.Info("report run queued behind the running one", "report", st.r.Name, "scheduled", j.scheduled)
		return
	}
	reason := "the previous run was still running (overlap: skip)"
	if st.r.Overlap == OverlapQueue {
		reason = fmt.Sprintf("%d runs already queued (overlap: queue)", maxQueued)
	}
	now := s.now()
	rec := Record{
		RunID: newRunID(st.r.Name, j.scheduled), Report: st.r.Name, Principal: st.r.Principal.Subject,
		Trigger: j.trigger, ScheduledTime: j.scheduled, StartTime: now, EndTime: now,
		Status: StatusSkipped, Error: reason,
	}
	s.logger.Warn("report run skipped", "report", st.r.Name, "scheduled", j.scheduled, "reason", reason)
	s.metrics.runs.WithLabelValues(st.r.Name, StatusSkipped).Inc()
	// Persisting must not hold the lock: hand it to a goroutine.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.record(rec)
		j.finish(rec)
	}()
}

// worker runs j, then the report's queued jobs, one at a time. A job's
// waiter hears of it only once the report is free again (or the next job
// has started), so a run submitted right after is not seen as overlapping.
func (s *Scheduler) worker(st *reportState, j *job) {
	defer s.wg.Done()
	for j != nil {
		rec := s.execute(s.ctx, st.r, j)
		var next *job
		var dropped []*job
		s.mu.Lock()
		if len(st.queue) == 0 || s.ctx.Err() != nil {
			st.running = false
			dropped, st.queue = st.queue, nil
		} else {
			next, st.queue = st.queue[0], st.queue[1:]
		}
		s.mu.Unlock()
		j.finish(rec)
		for _, q := range dropped {
			q.finish(Record{Report: st.r.Name, ScheduledTime: q.scheduled, Status: StatusInterrupted, Error: "the scheduler stopped"})
		}
		j = next
	}
}

func (j *job) finish(r Record) {
	if j.done != nil {
		j.done <- r
	}
}

// Run runs a report now as of the logical time at (zero: now), for
// backfills and the Flight action, through the report's overlap policy,
// and waits for it to end unless wait is false. replace publishes over an
// existing output.
func (s *Scheduler) Run(ctx context.Context, name string, at time.Time, replace, wait bool) (Record, error) {
	s.mu.Lock()
	st, ok := s.byName[name]
	if !ok {
		s.mu.Unlock()
		return Record{}, fmt.Errorf("%w: %q", ErrUnknownReport, name)
	}
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return Record{}, fmt.Errorf("%w: it is stopped", ErrStopped)
	}
	if at.IsZero() {
		at = s.now()
	}
	j := &job{scheduled: at.In(st.r.Location), trigger: TriggerManual, replace: replace, done: make(chan Record, 1)}
	s.submitLocked(st, j)
	s.mu.Unlock()
	if !wait {
		return Record{Report: name, ScheduledTime: j.scheduled, Status: "submitted", Trigger: TriggerManual}, nil
	}
	select {
	case rec := <-j.done:
		return rec, nil
	case <-ctx.Done():
		return Record{}, ctx.Err()
	}
}

// Close stops the loop and cancels running reports (recorded as
// interrupted) and waits for them.
func (s *Scheduler) Close() {
	s.cancel()
	s.wg.Wait()
}

// Wait blocks until no run is going or queued (tests).
func (s *Scheduler) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		busy := false
		for _, st := range s.states {
			busy = busy || st.running
		}
		s.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Next is a report's next scheduled time.
func (s *Scheduler) Next(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.byName[name]
	if !ok {
		return time.Time{}, false
	}
	return st.next, true
}

// record stores r in the history; a store that is down is logged, not
// fatal, since the run itself happened.
func (s *Scheduler) record(r Record) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.history.Put(ctx, r); err != nil {
		s.logger.Error("report history not persisted", "report", r.Report, "run", r.RunID, "err", err)
	}
	if s.opts.Observe != nil {
		s.opts.Observe(r)
	}
}

// prevFire is the latest time sched fires strictly before t (zero when
// there is none in the ten years before t).
func prevFire(sched cron.Schedule, t time.Time) time.Time {
	for d := time.Minute; d <= 10*366*24*time.Hour; d *= 2 {
		n := sched.Next(t.Add(-d))
		if n.IsZero() {
			return time.Time{}
		}
		if n.Before(t) {
			for {
				nn := sched.Next(n)
				if nn.IsZero() || !nn.Before(t) {
					return n
				}
				n = nn
			}
		}
	}
	return time.Time{}
}

func newRunID(report string, scheduled time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return report + "-" + scheduled.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
