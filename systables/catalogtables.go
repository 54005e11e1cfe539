package systables

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

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
// snapshot.
type Tables struct {
	Warehouse TableLister
	// Visible filters by policy; nil shows every table.
	Visible func(ctx context.Context, name storage.TableName) bool
}

// Name implements Table.
func (Tables) Name() string { return "tables" }

// Schema implements Table.
func (Tables) Schema() *arrow.Schema { return tablesSchema }

// Rows implements Table.
func (t Tables) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	names, err := t.Warehouse.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, tablesSchema)
	defer b.Release()
	for _, n := range names {
		if t.Visible != nil && !t.Visible(ctx, n) {
			continue
		}
		tbl, err := t.Warehouse.Table(ctx, n)
		if unreadable(err) {
			// A table Quiver cannot read (an Iceberg feature it lacks)
			// is listed with why, not hidden and not failing the listing.
			catalog, schema, _ := strings.Cut(n.Schema, ".")
			b.Field(0).(*array.StringBuilder).Append(schema)
			b.Field(1).(*array.StringBuilder).Append(n.Name)
			for i := 2; i <= 5; i++ {
				b.Field(i).AppendNull()
			}
			b.Field(6).AppendNull()
			b.Field(7).(*array.StringBuilder).Append(catalog)
			b.Field(8).(*array.StringBuilder).Append("iceberg")
			b.Field(9).AppendNull()
			b.Field(10).(*array.StringBuilder).Append(err.Error())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", n, err)
		}
		var size int64
		for _, f := range tbl.Files {
			size += f.Size
		}
		catalog, schema, format := CatalogName, n.Schema, "parquet"
		if tbl.Iceberg != nil {
			catalog, schema, _ = strings.Cut(n.Schema, ".")
			format = "iceberg"
		}
		b.Field(0).(*array.StringBuilder).Append(schema)
		b.Field(1).(*array.StringBuilder).Append(n.Name)
		b.Field(2).(*array.Int64Builder).Append(int64(len(tbl.Files)))
		b.Field(3).(*array.Int64Builder).Append(size)
		b.Field(4).(*array.Int64Builder).Append(tbl.Rows)
		b.Field(5).(*array.Int64Builder).Append(int64(len(tbl.Columns)))
		lb := b.Field(6).(*array.ListBuilder)
		lb.Append(true)
		for _, p := range tbl.Partitions {
			lb.ValueBuilder().(*array.StringBuilder).Append(p.Name)
		}
		b.Field(7).(*array.StringBuilder).Append(catalog)
		b.Field(8).(*array.StringBuilder).Append(format)
		if tbl.Iceberg != nil && tbl.Iceberg.SnapshotID != 0 {
			b.Field(9).(*array.Int64Builder).Append(tbl.Iceberg.SnapshotID)
		} else {
			b.Field(9).AppendNull()
		}
		b.Field(10).AppendNull()
	}
	return b.NewRecordBatch(), nil
}

// unreadable reports whether err says a table uses a feature Quiver
// cannot read (an Iceberg feature it lacks).
func unreadable(err error) bool { return err != nil && errkind.Of(err) == errkind.Unimplemented }
