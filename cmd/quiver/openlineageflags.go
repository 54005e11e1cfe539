package main

import (
	"flag"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quiver-data/quiver/openlineage"
)

// openLineageFlags configure the OpenLineage emitter (off without a URL).
type openLineageFlags struct {
	url       string
	namespace string
	sample    float64
}

func (f *openLineageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "openlineage-url", "", "post OpenLineage run events (report runs, and --openlineage-sample of queries) to this HTTP endpoint, e.g. http://marquez:5000/api/v1/lineage")
	fs.StringVar(&f.namespace, "openlineage-namespace", "quiver", "OpenLineage namespace of Quiver's jobs and of its tables (datasets catalog.schema.table)")
	fs.Float64Var(&f.sample, "openlineage-sample", 0, "fraction of queries (0 to 1) whose runs are posted too; report runs always are")
}

// emitter builds the emitter, nil without --openlineage-url.
func (f *openLineageFlags) emitter(logger *slog.Logger, reg prometheus.Registerer) (*openlineage.Emitter, error) {
	if f.url == "" {
		return nil, nil
	}
	return openlineage.New(openlineage.Options{URL: f.url, Namespace: f.namespace, QuerySample: f.sample, Logger: logger, Registerer: reg})
}
