package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/robfig/cron/v3"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/detect"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/flightserver"
	"github.com/quiver-data/quiver/planner"
)

// ActionDetectRun runs the detection job now (admins only) and answers
// its summary as JSON.
const ActionDetectRun = "quiver.detect.run"

// detectPrincipal is who the detection job's queries run as (history,
// admission); planner.Unrestricted lifts the policy for them.
const detectPrincipal = "quiver:detect"

var (
	errDetectNotAdmin = errkind.New(errkind.PermissionDenied, "detection runs are for admins")
	errAcceptNotAdmin = errkind.New(errkind.PermissionDenied, "accepting detections is for admins")
	errDetectRunning  = errkind.New(errkind.Unavailable, "detection is running")
)

// detectFlags configure the detection job.
type detectFlags struct {
	schedule string
	rows     int
}

func (f *detectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.schedule, "detect-schedule", "", `cron schedule (5 fields, UTC) of the PII detection job, e.g. "0 3 * * *"; none when empty (it still runs on demand: quiver detect run)`)
	fs.IntVar(&f.rows, "detect-rows", 1000, "rows sampled from each table by the detection job")
}

func (f *detectFlags) check() error {
	if f.rows < 1 {
		return fmt.Errorf("--detect-rows %d: want at least 1", f.rows)
	}
	if f.schedule != "" {
		if _, err := cron.ParseStandard(f.schedule); err != nil {
			return fmt.Errorf("--detect-schedule %q: %w", f.schedule, err)
		}
	}
	return nil
}

// lazyExecutor runs through the Flight server, built after the system
// tables that show the job's findings.
type lazyExecutor struct{ a *serveApp }

func (l lazyExecutor) Execute(ctx context.Context, sql string, args []any) (array.RecordReader, error) {
	if l.a.srv == nil {
		return nil, errors.New("the server is not serving yet")
	}
	return l.a.srv.Execute(ctx, sql, args)
}

// newDetectJob builds the job over the server's catalog.
func (a *serveApp) newDetectJob() *detect.Job {
	return detect.NewJob(detect.Options{
		Executor: lazyExecutor{a}, Tables: a.catalog, Rows: a.cfg.detect.rows, Store: a.warehouse, Logger: a.logger, Registerer: a.reg,
		Prepare: func(ctx context.Context) context.Context {
			return planner.Unrestricted(auth.WithPrincipal(ctx, auth.Principal{Subject: detectPrincipal}))
		},
	})
}

// detectAction is ActionDetectRun for flightserver.Options.Actions.
func (a *serveApp) detectAction() flightserver.Action {
	return flightserver.Action{
		Description: "Run the PII detection job now (admins): samples every table and answers {tables, columns, findings, failed, seconds}.",
		Handler: func(ctx context.Context, _ []byte) ([]byte, error) {
			if !a.cfg.ops.isAdmin(ctx) {
				return nil, fmt.Errorf("%w: the caller is not in --admin-role", errDetectNotAdmin)
			}
			sum, err := a.detect.Run(context.WithoutCancel(ctx))
			if errors.Is(err, detect.ErrRunning) {
				return nil, fmt.Errorf("%w: %v; its findings appear in system.detections when it ends", errDetectRunning, err)
			}
			if err != nil {
				return nil, err
			}
			a.checkViolations(context.WithoutCancel(ctx))
			return json.Marshal(sum)
		},
	}
}

// runDetectSchedule runs the job at every --detect-schedule time until
// ctx ends.
func (a *serveApp) runDetectSchedule(ctx context.Context) error {
	sched, err := cron.ParseStandard(a.cfg.detect.schedule)
	if err != nil {
		return err
	}
	for {
		next := sched.Next(time.Now().UTC())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
		if _, err := a.detect.Run(ctx); err != nil && ctx.Err() == nil {
			a.logger.Warn("scheduled detection run", "err", err)
		}
		a.checkViolations(ctx)
	}
}

// actions are serve's Flight actions: the reports' and detection's.
func (a *serveApp) actions() map[string]flightserver.Action {
	out := a.cfg.reps.actions()
	out[ActionDetectRun] = a.detectAction()
	out[ActionDetectAccept] = a.acceptAction()
	return out
}
