package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/reports"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// reportsFlags are serve's scheduled-report settings and, once serve has
// built the pieces, the scheduler.
type reportsFlags struct {
	file    string
	catchUp bool
	poll    time.Duration

	logger  *slog.Logger
	wh      *storage.Warehouse
	stOpts  storage.Options
	valid   []*reports.Report
	invalid []error
	history *reports.History
	sched   *reports.Scheduler
	observe func(reports.Record) // OpenLineage's, when on
}

func (r *reportsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.file, "reports-file", "", "YAML file of scheduled reports (see README: Scheduled reports); none when empty")
	fs.BoolVar(&r.catchUp, "reports-catch-up", true, "on start, run each report's latest scheduled run missed while the server was down")
	fs.DurationVar(&r.poll, "reports-poll", reports.DefaultPoll, "how often the report scheduler checks for due reports")
}

// open loads the reports file (invalid reports are logged and listed, the
// others run) and the run history from the warehouse; it returns the
// history, which is the system table report_runs. parser checks each
// report's SQL.
func (r *reportsFlags) open(ctx context.Context, wh *storage.Warehouse, stOpts storage.Options, parser reports.Parser, logger *slog.Logger) (systables.Table, error) {
	r.logger, r.wh, r.stOpts = logger, wh, stOpts
	if r.poll <= 0 {
		return nil, fmt.Errorf("--reports-poll must be positive, got %s", r.poll)
	}
	if r.file != "" {
		var err error
		r.valid, r.invalid, err = reports.LoadFile(r.file, reports.ParserCheck(parser))
		if err != nil {
			return nil, err
		}
		logger.Info("reports loaded", "file", r.file, "valid", len(r.valid), "invalid", len(r.invalid))
	}
	h, err := reports.OpenHistory(ctx, wh, logger)
	if err != nil {
		// Like the query history: a store that is down must not keep the
		// server from starting. New runs are still persisted.
		logger.Warn("report history not loaded; system.report_runs starts empty and missed runs are not caught up", "err", err)
		h = reports.NewHistory(wh, logger)
	}
	r.history = h
	return h, nil
}

// actions are the report Flight actions for flightserver.Options.Actions.
// They answer reports.ErrStopped (Unavailable) until start has run.
func (r *reportsFlags) actions() map[string]flightserver.Action {
	out := map[string]flightserver.Action{}
	for name, desc := range reports.ActionDescriptions {
		out[name] = flightserver.Action{Description: desc, Handler: func(ctx context.Context, body []byte) ([]byte, error) {
			if r.sched == nil {
				return nil, fmt.Errorf("%w: it has not started", reports.ErrStopped)
			}
			return r.sched.Actions()[name](ctx, body)
		}}
	}
	return out
}

// start builds the scheduler over exec (the Flight server) and starts it.
func (r *reportsFlags) start(ctx context.Context, exec reports.Executor, isAdmin func(context.Context) bool, reg prometheus.Registerer) error {
	opts := reports.Options{
		Reports: r.valid, Invalid: r.invalid, Executor: exec, Warehouse: r.wh, StorageOptions: r.stOpts,
		History: r.history, CatchUp: r.catchUp, Poll: r.poll, IsAdmin: isAdmin, Observe: r.observe,
		Logger: r.logger, Registerer: reg,
	}
	reportTestHooks(&opts, r.logger) // testhooks_on.go; none in the release binary
	s, err := reports.New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(ctx, true); err != nil {
		return err
	}
	r.sched = s
	return nil
}

// stop cancels running reports (recorded as interrupted; catch-up reruns
// them) and waits for them; safe without start.
func (r *reportsFlags) stop() {
	if r.sched != nil {
		r.sched.Close()
	}
}
