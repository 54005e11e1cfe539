package systables

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// lineageSchema is system.lineage: one row per source column of a query's
// result.
var lineageSchema = arrow.NewSchema([]arrow.Field{
	{Name: "query_id", Type: arrow.BinaryTypes.String},
	{Name: "principal", Type: arrow.BinaryTypes.String},
	{Name: "submitted", Type: tsType},
	{Name: "report", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "run_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "output_dataset", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "output_column", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "source_catalog", Type: arrow.BinaryTypes.String},
	{Name: "source_schema", Type: arrow.BinaryTypes.String},
	{Name: "source_table", Type: arrow.BinaryTypes.String},
	{Name: "source_column", Type: arrow.BinaryTypes.String},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "policy", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// LineageTable is system.lineage over a query log: the lineage of every
// query it holds, visible as system.queries is (admins see every query's,
// others their own).
type LineageTable struct{ Log *QueryLog }

// Name implements Table.
func (LineageTable) Name() string { return "lineage" }

// Schema implements Table.
func (LineageTable) Schema() *arrow.Schema { return lineageSchema }

// Rows implements Table.
func (t LineageTable) Rows(_ context.Context, v Viewer) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(t.Log.mem, lineageSchema)
	defer b.Release()
	str := func(i int, s string) { b.Field(i).(*array.StringBuilder).Append(s) }
	opt := func(i int, s string) {
		if s == "" {
			b.Field(i).(*array.StringBuilder).AppendNull()
		} else {
			str(i, s)
		}
	}
	for _, r := range t.Log.visible(v) {
		for _, e := range r.Lineage {
			str(0, r.ID)
			str(1, r.Principal)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.Submitted.UnixMicro()))
			opt(3, r.Run.Report)
			opt(4, r.Run.RunID)
			opt(5, r.Run.Output)
			if e.Kind.Direct() {
				str(6, e.Output)
			} else {
				b.Field(6).(*array.StringBuilder).AppendNull()
			}
			str(7, e.Source.Catalog)
			str(8, e.Source.Schema)
			str(9, e.Source.Table)
			str(10, e.Source.Column)
			str(11, string(e.Kind))
			b.Field(12).(*array.BooleanBuilder).Append(e.Policy)
		}
	}
	return b.NewRecordBatch(), nil
}
