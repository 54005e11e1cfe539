package detect

import (
	"context"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// Finding states.
const (
	StatusSuggested = "suggested"
	StatusAccepted  = "accepted"
)

// Tag is the catalog tag that accepts a finding of kind.
func Tag(kind string) string { return "pii:" + kind }

var detectionsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "table_name", Type: arrow.BinaryTypes.String},
	{Name: "column_name", Type: arrow.BinaryTypes.String},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "confidence", Type: arrow.PrimitiveTypes.Float64},
	{Name: "method", Type: arrow.BinaryTypes.String},
	{Name: "rows_sampled", Type: arrow.PrimitiveTypes.Int64},
	{Name: "rows_matched", Type: arrow.PrimitiveTypes.Int64},
	{Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "tag", Type: arrow.BinaryTypes.String},
	{Name: "detected_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
}, nil)

// Table is system.detections: the latest run's findings about columns
// the caller may see, each "accepted" once the catalog tags the column
// pii:<kind>, "suggested" until then. It holds counts, never values.
type Table struct {
	Job *Job
	// Visible and Denied filter by policy as system.columns does.
	Visible func(ctx context.Context, name storage.TableName) bool
	Denied  func(ctx context.Context, name storage.TableName, columns []storage.Column) map[string]bool
	// Meta is the catalog file in force; nil, or nil returned, is none.
	Meta func() *catalogmeta.Catalog
}

// Name implements systables.Table.
func (Table) Name() string { return "detections" }

// Schema implements systables.Table.
func (Table) Schema() *arrow.Schema { return detectionsSchema }

// Accepted reports whether the catalog tags r's column with r's kind.
func Accepted(meta *catalogmeta.Catalog, r Result) bool {
	if meta == nil {
		return false
	}
	e := meta.Table(catalogmeta.NewKey(r.Catalog, r.Schema, r.Table))
	for name, c := range e.Columns {
		if strings.EqualFold(name, r.Column) && slices.Contains(c.Tags, Tag(r.Kind)) {
			return true
		}
	}
	return false
}

// Rows implements systables.Table.
func (t Table) Rows(ctx context.Context, _ systables.Viewer) (arrow.RecordBatch, error) {
	var meta *catalogmeta.Catalog
	if t.Meta != nil {
		meta = t.Meta()
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, detectionsSchema)
	defer b.Release()
	str := func(i int, s string) { b.Field(i).(*array.StringBuilder).Append(s) }
	denied := map[string]map[string]bool{}
	for _, r := range t.Job.Results() {
		name := r.tableName()
		if t.Visible != nil && !t.Visible(ctx, name) {
			continue
		}
		if t.Denied != nil {
			d, ok := denied[name.String()]
			if !ok {
				d = t.Denied(ctx, name, nil)
				denied[name.String()] = d
			}
			if d[strings.ToLower(r.Column)] {
				continue
			}
		}
		str(0, r.Catalog)
		str(1, r.Schema)
		str(2, r.Table)
		str(3, r.Column)
		str(4, r.Kind)
		b.Field(5).(*array.Float64Builder).Append(r.Confidence)
		str(6, r.Method)
		b.Field(7).(*array.Int64Builder).Append(int64(r.Sampled))
		b.Field(8).(*array.Int64Builder).Append(int64(r.Matched))
		status := StatusSuggested
		if Accepted(meta, r) {
			status = StatusAccepted
		}
		str(9, status)
		str(10, Tag(r.Kind))
		b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(r.DetectedAt.UnixMicro()))
	}
	return b.NewRecordBatch(), nil
}
