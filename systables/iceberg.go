package systables

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/lakehouse"
	"github.com/quiver-data/quiver/storage"
)

// IcebergSnapshot is one snapshot of an Iceberg table, as
// system.iceberg_snapshots shows it.
type IcebergSnapshot = lakehouse.Snapshot

// IcebergMetadata is what the Iceberg metadata tables read: the tables
// and their snapshots; *lakehouse.Catalogs is one.
type IcebergMetadata interface {
	Tables(ctx context.Context) ([]storage.TableName, error)
	Table(ctx context.Context, name storage.TableName, at storage.AsOf) (*storage.Table, error)
	Snapshots(ctx context.Context, name storage.TableName) ([]IcebergSnapshot, error)
}

var icebergSnapshotsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "table_name", Type: arrow.BinaryTypes.String},
	{Name: "snapshot_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "parent_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "sequence_number", Type: arrow.PrimitiveTypes.Int64},
	{Name: "committed_at", Type: tsType},
	{Name: "operation", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "summary", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "is_current", Type: arrow.FixedWidthTypes.Boolean},
}, nil)

// IcebergSnapshots is system.iceberg_snapshots: every snapshot of every
// Iceberg table the caller may see, in commit order (the summary as JSON).
// The ids are what `AT (VERSION => …)` takes.
type IcebergSnapshots struct {
	Lake IcebergMetadata
	// Visible filters by policy; nil shows every table.
	Visible func(ctx context.Context, name storage.TableName) bool
}

// Name implements Table.
func (IcebergSnapshots) Name() string { return "iceberg_snapshots" }

// Schema implements Table.
func (IcebergSnapshots) Schema() *arrow.Schema { return icebergSnapshotsSchema }

// Rows implements Table.
func (t IcebergSnapshots) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, icebergSnapshotsSchema)
	defer b.Release()
	err := eachVisible(ctx, t.Lake, t.Visible, func(n storage.TableName, catalog, schema string) error {
		snaps, err := t.Lake.Snapshots(ctx, n)
		if err != nil {
			return fmt.Errorf("snapshots of %s: %w", n, err)
		}
		for _, s := range snaps {
			b.Field(0).(*array.StringBuilder).Append(catalog)
			b.Field(1).(*array.StringBuilder).Append(schema)
			b.Field(2).(*array.StringBuilder).Append(n.Name)
			b.Field(3).(*array.Int64Builder).Append(s.SnapshotID)
			if s.HasParent {
				b.Field(4).(*array.Int64Builder).Append(s.ParentID)
			} else {
				b.Field(4).AppendNull()
			}
			b.Field(5).(*array.Int64Builder).Append(s.SequenceNumber)
			b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(s.TimestampMS * 1000))
			appendOptional(b.Field(7).(*array.StringBuilder), s.Operation)
			if len(s.Summary) == 0 {
				b.Field(8).AppendNull()
			} else {
				js, err := json.Marshal(s.Summary)
				if err != nil {
					return fmt.Errorf("summary of %s snapshot %d: %w", n, s.SnapshotID, err)
				}
				b.Field(8).(*array.StringBuilder).Append(string(js))
			}
			b.Field(9).(*array.BooleanBuilder).Append(s.Current)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

var icebergFilesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "table_name", Type: arrow.BinaryTypes.String},
	{Name: "snapshot_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "file_path", Type: arrow.BinaryTypes.String},
	{Name: "record_count", Type: arrow.PrimitiveTypes.Int64},
	{Name: "file_size_bytes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "position_delete_files", Type: arrow.PrimitiveTypes.Int64},
	{Name: "equality_delete_files", Type: arrow.PrimitiveTypes.Int64},
	{Name: "deletion_vector_rows", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// IcebergFiles is system.iceberg_files: the data files of the current
// snapshot of every Iceberg table the caller may see, with how many delete
// files apply to each and how many rows its deletion vector deletes. A
// table Quiver cannot read has no rows here (system.tables says why).
type IcebergFiles struct {
	Lake IcebergMetadata
	// Visible filters by policy; nil shows every table.
	Visible func(ctx context.Context, name storage.TableName) bool
}

// Name implements Table.
func (IcebergFiles) Name() string { return "iceberg_files" }

// Schema implements Table.
func (IcebergFiles) Schema() *arrow.Schema { return icebergFilesSchema }

// Rows implements Table.
func (t IcebergFiles) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, icebergFilesSchema)
	defer b.Release()
	err := eachVisible(ctx, t.Lake, t.Visible, func(n storage.TableName, catalog, schema string) error {
		tbl, err := t.Lake.Table(ctx, n, storage.AsOf{})
		if unreadable(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("table %s: %w", n, err)
		}
		for _, f := range tbl.Files {
			var pos, eq, dv int64
			for _, d := range f.Deletes {
				switch d.Kind {
				case storage.PositionDeletes:
					pos++
				case storage.EqualityDeletes:
					eq++
				case storage.DeletionVector:
					dv += d.Rows
				}
			}
			b.Field(0).(*array.StringBuilder).Append(catalog)
			b.Field(1).(*array.StringBuilder).Append(schema)
			b.Field(2).(*array.StringBuilder).Append(n.Name)
			b.Field(3).(*array.Int64Builder).Append(tbl.Iceberg.SnapshotID)
			b.Field(4).(*array.StringBuilder).Append(f.Path)
			b.Field(5).(*array.Int64Builder).Append(f.Rows)
			b.Field(6).(*array.Int64Builder).Append(f.Size)
			b.Field(7).(*array.Int64Builder).Append(pos)
			b.Field(8).(*array.Int64Builder).Append(eq)
			b.Field(9).(*array.Int64Builder).Append(dv)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// eachVisible calls fn for every Iceberg table visible says the caller
// may see, with its catalog and namespace.
func eachVisible(ctx context.Context, lake IcebergMetadata, visible func(context.Context, storage.TableName) bool,
	fn func(n storage.TableName, catalog, schema string) error) error {
	names, err := lake.Tables(ctx)
	if err != nil {
		return fmt.Errorf("list Iceberg tables: %w", err)
	}
	for _, n := range names {
		if visible != nil && !visible(ctx, n) {
			continue
		}
		catalog, schema, _ := strings.Cut(n.Schema, ".")
		if err := fn(n, catalog, schema); err != nil {
			return err
		}
	}
	return nil
}
