package storage

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the warehouse's counters; with a nil registerer they exist but
// are registered nowhere.
type metrics struct {
	lists       prometheus.Counter
	listedObjs  prometheus.Counter
	footerReads prometheus.Counter
	footerHits  prometheus.Counter
	footerBytes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		lists: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_storage_lists_total", Help: "Warehouse listings (one per Tables or Table call).",
		}),
		listedObjs: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_storage_listed_objects_total", Help: "Objects returned by warehouse listings.",
		}),
		footerReads: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_storage_footer_reads_total", Help: "Parquet footers read from the store (footer cache misses).",
		}),
		footerHits: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_storage_footer_cache_hits_total", Help: "Parquet footers served from the footer cache.",
		}),
		footerBytes: f.NewCounter(prometheus.CounterOpts{
			Name: "quiver_storage_footer_read_bytes_total", Help: "Bytes read from the store to fetch Parquet footers.",
		}),
	}
}
