package openlineage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/quiver-data/quiver/lineage"
)

// Schema URLs of the spec version and facets events follow (the files
// under spec/, which tests validate every event against).
const (
	eventSchema         = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
	schemaFacetURL      = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	columnLineageURL    = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	sqlFacetURL         = "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
	jobTypeFacetURL     = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	errorMessageFacet   = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	producerURL         = "https://github.com/quiver-data/quiver"
	integrationName     = "QUIVER"
	processingTypeBatch = "BATCH"
)

// Event types of a run.
const (
	Start    = "START"
	Complete = "COMPLETE"
	Fail     = "FAIL"
	Abort    = "ABORT"
)

// RunEvent is an OpenLineage run event.
type RunEvent struct {
	EventType string    `json:"eventType"`
	EventTime string    `json:"eventTime"`
	Run       Run       `json:"run"`
	Job       Job       `json:"job"`
	Inputs    []Dataset `json:"inputs"`
	Outputs   []Dataset `json:"outputs"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
}

// Run is an event's run.
type Run struct {
	RunID  string         `json:"runId"`
	Facets map[string]any `json:"facets,omitempty"`
}

// Job is an event's job.
type Job struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// Dataset is an input or output dataset.
type Dataset struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// facet is the base of every facet.
type facet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

type schemaFacet struct {
	facet
	Fields []schemaField `json:"fields"`
}

type schemaField struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

type columnLineageFacet struct {
	facet
	Fields  map[string]columnInputs `json:"fields"`
	Dataset []inputField            `json:"dataset,omitempty"`
}

type columnInputs struct {
	InputFields []inputField `json:"inputFields"`
}

type inputField struct {
	Namespace       string           `json:"namespace"`
	Name            string           `json:"name"`
	Field           string           `json:"field"`
	Transformations []transformation `json:"transformations"`
}

type transformation struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	Description string `json:"description,omitempty"`
	Masking     bool   `json:"masking"`
}

// subtypes name lineage's kinds as OpenLineage's transformation subtypes.
var subtypes = map[lineage.Kind]string{
	lineage.Identity: "IDENTITY", lineage.Expression: "TRANSFORMATION", lineage.Aggregate: "AGGREGATION",
	lineage.Filter: "FILTER", lineage.Join: "JOIN", lineage.GroupBy: "GROUP_BY", lineage.Sort: "SORT", lineage.Window: "WINDOW",
}

func base(url string) facet { return facet{Producer: producerURL, SchemaURL: url} }

// runID is a stable UUID (version 8, RFC 9562's custom layout) for a
// Quiver id: the START and the end of one run share it.
func runID(id string) string {
	sum := sha256.Sum256([]byte("quiver-openlineage-run:" + id))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func eventTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// jobFacets are a job's SQL and type.
func jobFacets(sql, jobType string) map[string]any {
	f := map[string]any{
		"jobType": struct {
			facet
			ProcessingType string `json:"processingType"`
			Integration    string `json:"integration"`
			JobType        string `json:"jobType"`
		}{base(jobTypeFacetURL), processingTypeBatch, integrationName, jobType},
	}
	if sql != "" {
		f["sql"] = struct {
			facet
			Query   string `json:"query"`
			Dialect string `json:"dialect"`
		}{base(sqlFacetURL), sql, "duckdb"}
	}
	return f
}

func errorFacets(msg string) map[string]any {
	return map[string]any{"errorMessage": struct {
		facet
		Message             string `json:"message"`
		ProgrammingLanguage string `json:"programmingLanguage"`
	}{base(errorMessageFacet), msg, "SQL"}}
}

// datasetName names a table of Quiver's catalog: "catalog.schema.table".
func datasetName(catalog, schema, table string) string {
	return catalog + "." + schema + "." + table
}

// inputs are the datasets a query read, each with its schema.
func (e *Emitter) inputs(ds []lineage.Dataset) []Dataset {
	out := make([]Dataset, 0, len(ds))
	for _, d := range ds {
		sf := schemaFacet{facet: base(schemaFacetURL), Fields: make([]schemaField, 0, len(d.Fields))}
		for _, f := range d.Fields {
			sf.Fields = append(sf.Fields, schemaField(f))
		}
		out = append(out, Dataset{Namespace: e.opts.Namespace, Name: datasetName(d.Catalog, d.Schema, d.Table),
			Facets: map[string]any{"schema": sf}})
	}
	return out
}

// output is the object a report run published, with the result's schema
// and where each of its columns comes from.
func (e *Emitter) output(uri string, result []lineage.Field, edges []lineage.Edge) Dataset {
	ns, name := objectName(uri)
	d := Dataset{Namespace: ns, Name: name, Facets: map[string]any{}}
	if result != nil {
		sf := schemaFacet{facet: base(schemaFacetURL), Fields: make([]schemaField, 0, len(result))}
		for _, f := range result {
			sf.Fields = append(sf.Fields, schemaField(f))
		}
		d.Facets["schema"] = sf
	}
	if edges != nil {
		cl := columnLineageFacet{facet: base(columnLineageURL), Fields: map[string]columnInputs{}}
		for _, f := range result {
			cl.Fields[f.Name] = columnInputs{InputFields: []inputField{}}
		}
		for _, ed := range edges {
			in := inputField{Namespace: e.opts.Namespace, Name: datasetName(ed.Source.Catalog, ed.Source.Schema, ed.Source.Table), Field: ed.Source.Column}
			tr := transformation{Type: "DIRECT", Subtype: subtypes[ed.Kind], Masking: ed.Policy}
			if !ed.Kind.Direct() {
				tr = transformation{Type: "INDIRECT", Subtype: subtypes[ed.Kind]}
				if ed.Policy {
					tr.Description = "row filter of the principal's policy"
				}
				in.Transformations = []transformation{tr}
				cl.Dataset = append(cl.Dataset, in)
				continue
			}
			if ed.Policy {
				tr.Description = "masked by the principal's policy"
			}
			in.Transformations = []transformation{tr}
			c := cl.Fields[ed.Output]
			c.InputFields = append(c.InputFields, in)
			cl.Fields[ed.Output] = c
		}
		d.Facets["columnLineage"] = cl
	}
	return d
}

// objectName splits an object's URI as OpenLineage's naming spec does:
// "s3://bucket" and "key" for S3, "file" and the path for local files.
func objectName(uri string) (string, string) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return "file", uri
	}
	if u.Scheme == "file" {
		return "file", u.Path
	}
	return fmt.Sprintf("%s://%s", u.Scheme, u.Host), strings.TrimPrefix(u.Path, "/")
}
