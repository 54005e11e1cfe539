package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/quiver-data/quiver/auth"
)

// Flight action types served by the scheduler.
const (
	// ActionRun runs a report: body RunRequest; one result, RunResult.
	ActionRun = "quiver.report.run"
	// ActionList lists reports: empty body; one result, ListResult.
	ActionList = "quiver.report.list"
)

// ActionDescriptions are the actions' ListActions descriptions.
var ActionDescriptions = map[string]string{
	ActionRun:  `run a report now: body {"report": NAME, "at": RFC3339 logical time (optional, for backfills), "replace": bool, "wait": bool (default true)}; returns the run as JSON`,
	ActionList: "list the scheduled reports, their next and last runs, and the definitions rejected at load; returns JSON",
}

// RunRequest is the body of ActionRun.
type RunRequest struct {
	Report string `json:"report"`
	// At is the logical run time (RFC 3339, or a date YYYY-MM-DD at
	// midnight in the report's zone); empty is now.
	At string `json:"at,omitempty"`
	// Replace publishes over an existing output.
	Replace bool `json:"replace,omitempty"`
	// Wait for the run to end (default true).
	Wait *bool `json:"wait,omitempty"`
}

// RunResult is the result of ActionRun: the run's final attempt.
type RunResult struct {
	RunID         string     `json:"run_id,omitempty"`
	Report        string     `json:"report"`
	Status        string     `json:"status"`
	Trigger       string     `json:"trigger,omitempty"`
	ScheduledTime time.Time  `json:"scheduled_time"`
	StartTime     *time.Time `json:"start_time,omitempty"`
	EndTime       *time.Time `json:"end_time,omitempty"`
	Attempt       int        `json:"attempt"`
	Rows          int64      `json:"rows"`
	Bytes         int64      `json:"bytes"`
	OutputURI     string     `json:"output_uri,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// ReportInfo describes one report in ListResult.
type ReportInfo struct {
	Name        string     `json:"name"`
	Schedule    string     `json:"schedule"`
	Timezone    string     `json:"timezone"`
	Output      string     `json:"output"`
	Format      string     `json:"format"`
	RunAs       string     `json:"run_as"`
	Overlap     string     `json:"overlap"`
	Retries     int        `json:"retries"`
	Timeout     string     `json:"timeout"`
	NextRun     *time.Time `json:"next_run,omitempty"`
	LastRun     *RunResult `json:"last_run,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
}

// ListResult is the result of ActionList.
type ListResult struct {
	Reports []ReportInfo `json:"reports"`
	// Invalid are the definitions rejected at load (admins only).
	Invalid []string `json:"invalid,omitempty"`
	// Configured is whether the server loaded any report definitions, so
	// that an empty Reports can say "none on this server" or "none you
	// may run".
	Configured bool `json:"configured"`
}

// Actions returns the Flight action handlers by type, for
// flightserver.Options.Actions.
func (s *Scheduler) Actions() map[string]func(ctx context.Context, body []byte) ([]byte, error) {
	return map[string]func(ctx context.Context, body []byte) ([]byte, error){
		ActionRun:  s.HandleAction,
		ActionList: s.HandleList,
	}
}

// HandleAction serves ActionRun. Callers may run reports that run as
// themselves; admins any. Errors carry their kind (ErrBadRequest,
// ErrUnknownReport, or the run's own), which the server maps to a status.
func (s *Scheduler) HandleAction(ctx context.Context, body []byte) ([]byte, error) {
	var req RunRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%s: %w: body must be JSON {\"report\": NAME, \"at\": TIME}: %v", ActionRun, ErrBadRequest, err)
	}
	if req.Report == "" {
		return nil, fmt.Errorf("%s: %w: \"report\" is required", ActionRun, ErrBadRequest)
	}
	st, ok := s.byName[req.Report]
	if !ok || !s.allowed(ctx, st.r) {
		// Reports the caller may not run are indistinguishable from
		// missing ones.
		return nil, fmt.Errorf("%s: %w: %q", ActionRun, ErrUnknownReport, req.Report)
	}
	var at time.Time
	if req.At != "" {
		var err error
		if at, err = ParseAt(req.At, st.r.Location); err != nil {
			return nil, fmt.Errorf("%s: %w: \"at\": %v", ActionRun, ErrBadRequest, err)
		}
	}
	wait := req.Wait == nil || *req.Wait
	rec, err := s.Run(ctx, req.Report, at, req.Replace, wait)
	if err != nil {
		// The run's own error keeps its kind: a wrong query is
		// InvalidArgument to the caller, lost workers Unavailable.
		return nil, fmt.Errorf("%s: %w", ActionRun, err)
	}
	return json.Marshal(runResult(rec))
}

// HandleList serves ActionList: the reports the caller may run.
func (s *Scheduler) HandleList(ctx context.Context, _ []byte) ([]byte, error) {
	out := ListResult{Reports: []ReportInfo{}, Configured: len(s.states) > 0 || len(s.opts.Invalid) > 0}
	recs := s.history.Records()
	for _, st := range s.states {
		r := st.r
		if !s.allowed(ctx, r) {
			continue
		}
		info := ReportInfo{
			Name: r.Name, Schedule: r.Spec, Timezone: r.Location.String(), Output: r.Output.String(),
			Format: r.Format, RunAs: r.Principal.Subject, Overlap: r.Overlap, Retries: r.Retries,
			Timeout: r.Timeout.String(),
		}
		if next, ok := s.Next(r.Name); ok && !next.IsZero() {
			info.NextRun = &next
		}
		for _, rec := range recs {
			if rec.Report != r.Name {
				continue
			}
			if info.LastRun == nil || !rec.StartTime.Before(*info.LastRun.StartTime) {
				rr := runResult(rec)
				info.LastRun = &rr
			}
			if rec.Status == StatusSucceeded && (info.LastSuccess == nil || rec.EndTime.After(*info.LastSuccess)) {
				end := rec.EndTime
				info.LastSuccess = &end
			}
		}
		out.Reports = append(out.Reports, info)
	}
	if s.opts.IsAdmin != nil && s.opts.IsAdmin(ctx) {
		for _, err := range s.opts.Invalid {
			out.Invalid = append(out.Invalid, err.Error())
		}
	}
	return json.Marshal(out)
}

// allowed reports whether the caller of ctx may run and see r.
func (s *Scheduler) allowed(ctx context.Context, r *Report) bool {
	if s.opts.IsAdmin != nil && s.opts.IsAdmin(ctx) {
		return true
	}
	subject := "anonymous"
	if p, ok := auth.FromContext(ctx); ok && p.Subject != "" {
		subject = p.Subject
	}
	return subject == r.Principal.Subject
}

func runResult(r Record) RunResult {
	out := RunResult{
		RunID: r.RunID, Report: r.Report, Status: r.Status, Trigger: r.Trigger, ScheduledTime: r.ScheduledTime,
		Attempt: r.Attempt, Rows: r.Rows, Bytes: r.Bytes, OutputURI: r.OutputURI, Error: r.Error,
	}
	if !r.StartTime.IsZero() {
		t := r.StartTime
		out.StartTime = &t
	}
	if !r.EndTime.IsZero() {
		t := r.EndTime
		out.EndTime = &t
	}
	return out
}

// ParseAt reads a logical run time: RFC 3339, "YYYY-MM-DDTHH:MM[:SS]" or
// "YYYY-MM-DD" (the latter two in loc).
func ParseAt(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2025-01-31T06:00:00Z) or a date (2025-01-31)", s)
}
