// Package reports runs scheduled report jobs: saved queries on a cron
// schedule that publish their result to S3 (or a local path, or a table of
// the warehouse) atomically, with a history of every run.
//
// Definitions come from a reports.yaml (Parse, LoadFile). Each is checked
// when the file is loaded — the 5-field cron expression (robfig/cron's
// parser) and its IANA zone, the template variables, the output URI, the
// SQL (one statement DuckDB parses, whose ? parameters are exactly the
// template variables) — and a bad definition is a ValidationError naming
// the report and the field, while the others load. The variables
// {{ run_date }}, {{ run_time }}, {{ window_start }} and {{ window_end }}
// become ? parameters of the SQL and are bound, never spliced; in the
// output URI they are rendered as text.
//
// A Scheduler keeps each report's next scheduled time and, on every Tick
// (once a second from Start's loop; tests drive Tick with an injected
// clock), submits the reports that are due. A report never runs twice at
// once: a run due while another runs is skipped (recorded as such) or
// queued, by the report's overlap policy. A run is up to 1+retries
// attempts with exponential backoff; each attempt runs the query through
// an Executor as the report's principal (so admission control and policy
// apply as for interactive queries), writes the result to a temporary file
// in Parquet, CSV or JSON lines (package output's writers, so values print as
// `quiver query` prints them), and publishes it with package publish:
// staging key, conditional publish, _SUCCESS marker. On Start, publishes
// that died with the previous process are cleaned up from a journal in the
// warehouse, and (with CatchUp) each report's latest missed scheduled run
// runs once; an attempt killed mid-run counts as missed.
//
// The History records every attempt (report, scheduled, start and end
// time, status, rows, bytes, output URI, error, attempt), persists each as
// a small Parquet file under the warehouse's _system/report_runs/ (hidden
// from table discovery), reloads them on start, and is the system table
// report_runs. Metrics: quiver_report_last_success_timestamp_seconds and
// quiver_report_failures_total by report, quiver_report_runs_total by
// report and status.
package reports
