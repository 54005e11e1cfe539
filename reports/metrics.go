package reports

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the scheduler's; with a nil registerer they exist but are
// registered nowhere.
type metrics struct {
	lastSuccess *prometheus.GaugeVec
	failures    *prometheus.CounterVec
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	definitions *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		lastSuccess: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quiver_report_last_success_timestamp_seconds",
			Help: "Unix time the report last published successfully (from the history at start); alert when it is older than the schedule allows.",
		}, []string{"report"}),
		failures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_report_failures_total",
			Help: "Report runs that failed after their last retry.",
		}, []string{"report"}),
		runs: f.NewCounterVec(prometheus.CounterOpts{
			Name: "quiver_report_runs_total",
			Help: "Report run attempts by outcome: succeeded, retrying, failed, skipped, interrupted.",
		}, []string{"report", "status"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "quiver_report_run_duration_seconds",
			Help:    "Duration of report run attempts (query, write and publish).",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 10),
		}, []string{"report"}),
		definitions: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quiver_report_definitions",
			Help: "Report definitions loaded, by state: valid (scheduled) or invalid (rejected at load).",
		}, []string{"state"}),
	}
}
