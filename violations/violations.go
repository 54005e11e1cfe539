// Package violations is system.violations: the columns detected or
// tagged as personal data (a pii:<kind> tag, from the catalog file or an
// accepted detection; or a detection still suggested) that some
// principal can read unmasked under the policy in force, and the reports
// whose latest run published such a column.
//
// "Some principal" is each principal the policy can name: every role it
// mentions, held alone; every subject it names; and "anyone", a
// principal no rule names. (A Rego policy names none: only "anyone" is
// asked.) A column is readable
// unmasked when the policy grants its table and neither denies nor masks
// it; a principal the policy deliberately exempts from the rule masking
// the tag (except_roles) is no violation. Without a policy everyone reads
// everything: every PII column is a violation for "anyone". A report
// publishes a column when its latest run's lineage carries it to an
// output column unchanged or through an expression (an aggregate, like
// count(email), does not publish the values) and no mask of the policy
// was in the way.
package violations

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/detect"
	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/policy"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// Kinds of violation.
const (
	Readable  = "readable_unmasked"
	Published = "published"
)

// Evidence that a column holds personal data.
const (
	EvidenceTag       = "tag"
	EvidenceSuggested = "detection_suggested"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "violation", Type: arrow.BinaryTypes.String},
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "table_name", Type: arrow.BinaryTypes.String},
	{Name: "column_name", Type: arrow.BinaryTypes.String},
	{Name: "pii", Type: arrow.BinaryTypes.String},
	{Name: "evidence", Type: arrow.BinaryTypes.String},
	{Name: "principal", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "report", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "published_as", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Violation is one row of system.violations.
type Violation struct {
	Violation string
	Column    lineage.Column
	// PII is the kinds of personal data ("email", sorted, comma-joined).
	PII      string
	Evidence string
	// Principal reads the column unmasked (Readable).
	Principal string
	// Report published it as PublishedAs (its output, "uri#column").
	Report, PublishedAs string
}

// Tables is what the table needs of the catalog.
type Tables interface {
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// Options are where the table finds what it checks.
type Options struct {
	Tables Tables
	// Meta is the catalog in force, accepted detections' tags included.
	Meta func() *catalogmeta.Catalog
	// Findings are the detection job's latest findings; nil is none.
	Findings func() []detect.Result
	// Policy is the policy in force; nil is none (everyone reads
	// everything).
	Policy *policy.Store
	// Reports are the latest run of each report, with their lineage.
	Reports func() []systables.QueryRecord
	// Registerer gets the quiver_pii_violations gauge.
	Registerer prometheus.Registerer
}

// Table is system.violations. Admins see every row; others none (it
// tells what other principals may read).
type Table struct {
	opts  Options
	gauge *prometheus.GaugeVec
	mu    sync.Mutex
}

// New returns system.violations.
func New(opts Options) *Table {
	return &Table{opts: opts, gauge: promauto.With(opts.Registerer).NewGaugeVec(prometheus.GaugeOpts{
		Name: "quiver_pii_violations",
		Help: "Columns holding personal data that some principal reads unmasked, and report columns publishing them, as of the latest check (system.violations).",
	}, []string{"violation"})}
}

// Name implements systables.Table.
func (*Table) Name() string { return "violations" }

// Schema implements systables.Table.
func (*Table) Schema() *arrow.Schema { return schema }

// Rows implements systables.Table.
func (t *Table) Rows(ctx context.Context, v systables.Viewer) (arrow.RecordBatch, error) {
	var found []Violation
	if v.Admin { // others see no rows: nothing to check for them
		var err error
		if found, err = t.Check(ctx); err != nil {
			return nil, err
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	str := func(i int, s string) { b.Field(i).(*array.StringBuilder).Append(s) }
	opt := func(i int, s string) {
		if s == "" {
			b.Field(i).(*array.StringBuilder).AppendNull()
		} else {
			str(i, s)
		}
	}
	for _, f := range found {
		str(0, f.Violation)
		str(1, f.Column.Catalog)
		str(2, f.Column.Schema)
		str(3, f.Column.Table)
		str(4, f.Column.Column)
		str(5, f.PII)
		str(6, f.Evidence)
		opt(7, f.Principal)
		opt(8, f.Report)
		opt(9, f.PublishedAs)
	}
	return b.NewRecordBatch(), nil
}

// piiColumn is a column known to hold personal data.
type piiColumn struct {
	col      lineage.Column
	kinds    []string
	tagged   bool
	suggests bool
}

func (c *piiColumn) evidence() string {
	var out []string
	if c.tagged {
		out = append(out, EvidenceTag)
	}
	if c.suggests {
		out = append(out, EvidenceSuggested)
	}
	return strings.Join(out, ",")
}

// Check finds the violations now and sets the gauge.
func (t *Table) Check(ctx context.Context) ([]Violation, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cols := t.piiColumns()
	var out []Violation
	readable, err := t.readable(ctx, cols)
	if err != nil {
		return nil, err
	}
	out = append(out, readable...)
	out = append(out, t.published(cols)...)
	t.gauge.WithLabelValues(Readable).Set(float64(len(readable)))
	t.gauge.WithLabelValues(Published).Set(float64(len(out) - len(readable)))
	return out, nil
}

// piiColumns are the columns tagged pii:* or detected, by
// "catalog.schema.table.column" lower-cased.
func (t *Table) piiColumns() map[string]*piiColumn {
	out := map[string]*piiColumn{}
	get := func(c lineage.Column) *piiColumn {
		k := strings.ToLower(c.String())
		p, ok := out[k]
		if !ok {
			p = &piiColumn{col: c}
			out[k] = p
		}
		return p
	}
	var meta *catalogmeta.Catalog
	if t.opts.Meta != nil {
		meta = t.opts.Meta()
	}
	for _, k := range meta.Tables() {
		for name, c := range meta.Table(k).Columns {
			for _, tag := range c.Tags {
				if kind, ok := strings.CutPrefix(tag, "pii:"); ok && kind != "" {
					p := get(lineage.Column{Catalog: k.Catalog, Schema: k.Schema, Table: k.Table, Column: name})
					p.kinds, p.tagged = append(p.kinds, kind), true
				}
			}
		}
	}
	if t.opts.Findings != nil {
		for _, r := range t.opts.Findings() {
			p := get(lineage.Column{Catalog: r.Catalog, Schema: r.Schema, Table: r.Table, Column: r.Column})
			if !slices.Contains(p.kinds, r.Kind) {
				p.kinds, p.suggests = append(p.kinds, r.Kind), true
			}
		}
	}
	for _, p := range out {
		slices.Sort(p.kinds)
		p.kinds = slices.Compact(p.kinds)
	}
	return out
}

// principals are those whose reads are checked.
func (t *Table) principals() []auth.Principal {
	var out []auth.Principal
	if t.opts.Policy != nil {
		if n, ok := t.opts.Policy.Decider().(interface{ Principals() []auth.Principal }); ok {
			out = n.Principals()
		}
	}
	if !slices.ContainsFunc(out, func(p auth.Principal) bool { return p.Subject == policy.Anyone }) {
		out = append(out, auth.Principal{Subject: policy.Anyone})
	}
	return out
}

// tableName is the catalog's name of a column's table.
func tableName(c lineage.Column) storage.TableName {
	n := storage.TableName{Schema: c.Schema, Name: c.Table}
	if c.Catalog != systables.CatalogName {
		n.Schema = c.Catalog + "." + c.Schema
	}
	return n
}

func (t *Table) readable(ctx context.Context, cols map[string]*piiColumn) ([]Violation, error) {
	byTable := map[storage.TableName][]*piiColumn{}
	for _, c := range cols {
		byTable[tableName(c.col)] = append(byTable[tableName(c.col)], c)
	}
	var out []Violation
	principals := t.principals()
	for name, tcols := range byTable {
		tbl, err := t.opts.Tables.Table(ctx, name)
		if err != nil {
			continue // a table that is gone (or unreadable) is read by no one
		}
		for _, c := range tcols {
			i := slices.IndexFunc(tbl.Columns, func(sc storage.Column) bool { return strings.EqualFold(sc.Name, c.col.Column) })
			if i < 0 {
				continue
			}
			c.col.Column = tbl.Columns[i].Name
		}
		if t.opts.Policy == nil {
			for _, c := range tcols {
				out = append(out, c.violation(policy.Anyone))
			}
			continue
		}
		res := t.opts.Policy.Resource(ctx, name, tbl.Columns)
		for _, pr := range principals {
			r, err := t.opts.Policy.Decider().Decide(ctx, pr, res)
			if err != nil {
				continue // not granted (or refused): nothing read
			}
			for _, c := range tcols {
				if protected(r.Deny, c.col.Column) || protectedMask(r.Masks, c.col.Column) || protectedMask(r.TypedMasks, c.col.Column) {
					continue
				}
				if ex, ok := t.opts.Policy.Decider().(interface {
					Exempt(auth.Principal, string) bool
				}); ok && allExempt(ex, pr, c.kinds) {
					continue
				}
				out = append(out, c.violation(pr.Subject))
			}
		}
	}
	sortViolations(out)
	return out, nil
}

func allExempt(ex interface {
	Exempt(auth.Principal, string) bool
}, pr auth.Principal, kinds []string) bool {
	for _, k := range kinds {
		if !ex.Exempt(pr, detect.Tag(k)) {
			return false
		}
	}
	return true
}

func protected(deny []string, col string) bool {
	return slices.ContainsFunc(deny, func(d string) bool { return strings.EqualFold(d, col) })
}

func protectedMask(masks map[string]string, col string) bool {
	for c := range masks {
		if strings.EqualFold(c, col) {
			return true
		}
	}
	return false
}

func (c *piiColumn) violation(principal string) Violation {
	return Violation{Violation: Readable, Column: c.col, PII: strings.Join(c.kinds, ","), Evidence: c.evidence(), Principal: principal}
}

// published finds the report columns carrying a PII column's values.
func (t *Table) published(cols map[string]*piiColumn) []Violation {
	if t.opts.Reports == nil {
		return nil
	}
	var out []Violation
	for _, rec := range t.opts.Reports() {
		for _, e := range rec.Lineage {
			if e.Policy || (e.Kind != lineage.Identity && e.Kind != lineage.Expression) {
				continue
			}
			c, ok := cols[strings.ToLower(e.Source.String())]
			if !ok {
				continue
			}
			out = append(out, Violation{Violation: Published, Column: e.Source, PII: strings.Join(c.kinds, ","), Evidence: c.evidence(),
				Report: rec.Run.Report, PublishedAs: fmt.Sprintf("%s#%s", rec.Run.Output, e.Output)})
		}
	}
	sortViolations(out)
	return out
}

func sortViolations(v []Violation) {
	slices.SortFunc(v, func(a, b Violation) int {
		return strings.Compare(a.Column.String()+"\x00"+a.Principal+"\x00"+a.Report+"\x00"+a.PublishedAs,
			b.Column.String()+"\x00"+b.Principal+"\x00"+b.Report+"\x00"+b.PublishedAs)
	})
}
