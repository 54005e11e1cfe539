package systables

import (
	"context"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// WorkerRow is one worker as system.workers shows it.
type WorkerRow struct {
	Address     string
	Healthy     bool
	LastCheck   time.Time
	Running     int
	Served      int64
	MemoryLimit string
	Threads     int
	Draining    bool
	Version     string
	// Error says why the worker could not report its status.
	Error string
}

var workersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "address", Type: arrow.BinaryTypes.String},
	{Name: "healthy", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "last_check", Type: tsType, Nullable: true},
	{Name: "running", Type: arrow.PrimitiveTypes.Int64},
	{Name: "served", Type: arrow.PrimitiveTypes.Int64},
	{Name: "memory_limit", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "threads", Type: arrow.PrimitiveTypes.Int64},
	{Name: "draining", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "version", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Workers is system.workers.
type Workers struct {
	// List reports the workers now.
	List func(ctx context.Context) []WorkerRow
}

// Name implements Table.
func (Workers) Name() string { return "workers" }

// Schema implements Table.
func (Workers) Schema() *arrow.Schema { return workersSchema }

// Rows implements Table; every principal sees every worker.
func (w Workers) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, workersSchema)
	defer b.Release()
	for _, r := range w.List(ctx) {
		b.Field(0).(*array.StringBuilder).Append(r.Address)
		b.Field(1).(*array.BooleanBuilder).Append(r.Healthy)
		if r.LastCheck.IsZero() {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.LastCheck.UnixMicro()))
		}
		b.Field(3).(*array.Int64Builder).Append(int64(r.Running))
		b.Field(4).(*array.Int64Builder).Append(r.Served)
		appendOptional(b.Field(5).(*array.StringBuilder), r.MemoryLimit)
		b.Field(6).(*array.Int64Builder).Append(int64(r.Threads))
		b.Field(7).(*array.BooleanBuilder).Append(r.Draining)
		appendOptional(b.Field(8).(*array.StringBuilder), r.Version)
		appendOptional(b.Field(9).(*array.StringBuilder), r.Error)
	}
	return b.NewRecordBatch(), nil
}

func appendOptional(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.Append(s)
}

var tablesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "table_name", Type: arrow.BinaryTypes.String},
	{Name: "files", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "rows", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "columns", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "partition_columns", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "format", Type: arrow.BinaryTypes.String},
	{Name: "snapshot_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "unsupported", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "owner", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "description", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
}, nil)

// TableLister lists and resolves warehouse tables; *storage.Warehouse is one.
type TableLister interface {
	Tables(ctx context.Context) ([]storage.TableName, error)
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// Tables is system.tables: every table the caller may see, with its
// file count, size and row count (footers' for Parquet, the data files'
// record counts for Iceberg, before deletes), its catalog (quiver, or an
// Iceberg catalog: then schema_name is the namespace), format and current
// snapshot, and its owner, description and tags (the catalog file's over
// the Iceberg table's own).
type Tables struct {
	Warehouse TableLister
	// Visible filters by policy; nil shows every table.
	Visible func(ctx context.Context, name storage.TableName) bool
	// Meta is the catalog file in force; nil, or nil returned, is none.
	Meta func() *catalogmeta.Catalog
}

// Name implements Table.
func (Tables) Name() string { return "tables" }

// Schema implements Table.
func (Tables) Schema() *arrow.Schema { return tablesSchema }

// Rows implements Table.
func (t Tables) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	var meta *catalogmeta.Catalog
	if t.Meta != nil {
		meta = t.Meta()
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, tablesSchema)
	defer b.Release()
	err := describeTables(ctx, t.Warehouse, t.Visible, meta, func(d described) {
		b.Field(0).(*array.StringBuilder).Append(d.schema)
		b.Field(1).(*array.StringBuilder).Append(d.name.Name)
		b.Field(7).(*array.StringBuilder).Append(d.catalog)
		appendEntry(b, 11, d.entry.Entry)
		tbl := d.table
		if tbl == nil {
			// A table Quiver cannot read (an Iceberg feature it lacks)
			// is listed with why, not hidden and not failing the listing.
			for i := 2; i <= 6; i++ {
				b.Field(i).AppendNull()
			}
			b.Field(8).(*array.StringBuilder).Append("iceberg")
			b.Field(9).AppendNull()
			b.Field(10).(*array.StringBuilder).Append(d.unreadable.Error())
			return
		}
		var size int64
		for _, f := range tbl.Files {
			size += f.Size
		}
		b.Field(2).(*array.Int64Builder).Append(int64(len(tbl.Files)))
		b.Field(3).(*array.Int64Builder).Append(size)
		b.Field(4).(*array.Int64Builder).Append(tbl.Rows)
		b.Field(5).(*array.Int64Builder).Append(int64(len(tbl.Columns)))
		lb := b.Field(6).(*array.ListBuilder)
		lb.Append(true)
		for _, p := range tbl.Partitions {
			lb.ValueBuilder().(*array.StringBuilder).Append(p.Name)
		}
		if tbl.Iceberg != nil {
			b.Field(8).(*array.StringBuilder).Append("iceberg")
		} else {
			b.Field(8).(*array.StringBuilder).Append("parquet")
		}
		if tbl.Iceberg != nil && tbl.Iceberg.SnapshotID != 0 {
			b.Field(9).(*array.Int64Builder).Append(tbl.Iceberg.SnapshotID)
		} else {
			b.Field(9).AppendNull()
		}
		b.Field(10).AppendNull()
	})
	if err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// TableEntry is what is said about tbl (catalog, schema as SQL names
// them): the catalog file's entry over the Iceberg table's own comment,
// owner and column docs.
func TableEntry(meta *catalogmeta.Catalog, catalog, schema string, tbl *storage.Table) catalogmeta.TableEntry {
	file := meta.Table(catalogmeta.NewKey(catalog, schema, tbl.Name.Name))
	var own catalogmeta.Entry
	if tbl.Iceberg != nil {
		own = catalogmeta.Entry{Owner: tbl.Iceberg.Owner, Description: tbl.Iceberg.Comment}
	}
	out := catalogmeta.TableEntry{Entry: catalogmeta.Merge(file.Entry, own), Columns: map[string]catalogmeta.Column{}}
	for _, c := range tbl.Columns {
		if col := catalogmeta.MergeColumn(file.Columns[strings.ToLower(c.Name)], catalogmeta.Column{Description: c.Doc}); col.Description != "" || len(col.Tags) > 0 {
			out.Columns[strings.ToLower(c.Name)] = col
		}
	}
	return out
}

// appendEntry appends owner, description and tags at fields i, i+1, i+2.
func appendEntry(b *array.RecordBuilder, i int, e catalogmeta.Entry) {
	appendOptional(b.Field(i).(*array.StringBuilder), e.Owner)
	appendOptional(b.Field(i+1).(*array.StringBuilder), e.Description)
	appendTags(b.Field(i+2).(*array.ListBuilder), e.Tags)
}

// appendTags appends a list of tags, empty (not NULL) for none.
func appendTags(lb *array.ListBuilder, tags []string) {
	lb.Append(true)
	for _, t := range tags {
		lb.ValueBuilder().(*array.StringBuilder).Append(t)
	}
}

// unreadable reports whether err says a table uses a feature Quiver
// cannot read (an Iceberg feature it lacks).
func unreadable(err error) bool { return err != nil && errkind.Of(err) == errkind.Unimplemented }
