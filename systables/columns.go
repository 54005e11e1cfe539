package systables

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/search"
	"github.com/quiver-data/quiver/storage"
)

var columnsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "table_name", Type: arrow.BinaryTypes.String},
	{Name: "column_name", Type: arrow.BinaryTypes.String},
	{Name: "ordinal_position", Type: arrow.PrimitiveTypes.Int64},
	{Name: "data_type", Type: arrow.BinaryTypes.String},
	{Name: "is_nullable", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "description", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
}, nil)

// Columns is system.columns: every column of every table the caller may
// see, in table order, with its DuckDB type and what is said about it
// (the catalog file's description over an Iceberg column's doc; tags of
// both). A policy's denied columns are not listed. Tables Quiver cannot
// read have no columns here (system.tables says why).
type Columns struct {
	Warehouse TableLister
	// Visible filters by policy; nil shows every table.
	Visible func(ctx context.Context, name storage.TableName) bool
	// Denied, when set, reports the columns of a table the caller may
	// not read (policy deny_columns), lower-cased.
	Denied func(ctx context.Context, name storage.TableName, columns []storage.Column) map[string]bool
	// Meta is the catalog file in force; nil, or nil returned, is none.
	Meta func() *catalogmeta.Catalog
}

// Name implements Table.
func (Columns) Name() string { return "columns" }

// Schema implements Table.
func (Columns) Schema() *arrow.Schema { return columnsSchema }

// Rows implements Table.
func (c Columns) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	var meta *catalogmeta.Catalog
	if c.Meta != nil {
		meta = c.Meta()
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, columnsSchema)
	defer b.Release()
	err := describeTables(ctx, c.Warehouse, c.Visible, meta, func(d described) {
		if d.table == nil {
			return
		}
		var denied map[string]bool
		if c.Denied != nil {
			denied = c.Denied(ctx, d.name, d.table.Columns)
		}
		for i, col := range d.table.Columns {
			if denied[strings.ToLower(col.Name)] {
				continue
			}
			about := d.entry.Columns[strings.ToLower(col.Name)]
			b.Field(0).(*array.StringBuilder).Append(d.catalog)
			b.Field(1).(*array.StringBuilder).Append(d.schema)
			b.Field(2).(*array.StringBuilder).Append(d.name.Name)
			b.Field(3).(*array.StringBuilder).Append(col.Name)
			b.Field(4).(*array.Int64Builder).Append(int64(i + 1))
			b.Field(5).(*array.StringBuilder).Append(typeName(col))
			b.Field(6).(*array.BooleanBuilder).Append(col.Nullable)
			appendOptional(b.Field(7).(*array.StringBuilder), about.Description)
			appendTags(b.Field(8).(*array.ListBuilder), about.Tags)
		}
	})
	if err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// described is one table as describeTables walks it: table nil for one
// Quiver cannot read (unreadable says why; entry is the catalog file's
// alone).
type described struct {
	name            storage.TableName
	catalog, schema string
	table           *storage.Table
	unreadable      error
	entry           catalogmeta.TableEntry
}

// describeTables calls fn for every table visible admits (nil admits all),
// with what is said about it.
func describeTables(ctx context.Context, lister TableLister, visible func(context.Context, storage.TableName) bool,
	meta *catalogmeta.Catalog, fn func(described)) error {
	names, err := lister.Tables(ctx)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, n := range names {
		if visible != nil && !visible(ctx, n) {
			continue
		}
		tbl, err := lister.Table(ctx, n)
		if err != nil && !unreadable(err) {
			return fmt.Errorf("table %s: %w", n, err)
		}
		d := described{name: n, catalog: CatalogName, schema: n.Schema}
		if tbl == nil || tbl.Iceberg != nil {
			d.catalog, d.schema, _ = strings.Cut(n.Schema, ".")
		}
		if err != nil {
			d.unreadable = err
			d.entry = meta.Table(catalogmeta.NewKey(d.catalog, d.schema, n.Name))
			d.entry.Tags = catalogmeta.UnionTags(d.entry.Tags) // sorted, as merged entries are
		} else {
			d.table, d.entry = tbl, TableEntry(meta, d.catalog, d.schema, tbl)
		}
		fn(d)
	}
	return nil
}

// typeName is a column's DuckDB type.
func typeName(c storage.Column) string {
	if typ, err := engine.DuckDBType(c.Type); err == nil {
		return typ
	}
	return c.Type.String()
}

// SearchDocs lists every table and column with what is said about them,
// for the search index (which filters by the caller's policy per search).
func SearchDocs(ctx context.Context, lister TableLister, meta *catalogmeta.Catalog) ([]search.Doc, error) {
	var docs []search.Doc
	err := describeTables(ctx, lister, nil, meta, func(d described) {
		docs = append(docs, search.Doc{Kind: search.KindTable, Name: d.name, Catalog: d.catalog, Schema: d.schema, Table: d.name.Name,
			Description: d.entry.Description, Tags: d.entry.Tags})
		if d.table == nil {
			return
		}
		for _, col := range d.table.Columns {
			about := d.entry.Columns[strings.ToLower(col.Name)]
			docs = append(docs, search.Doc{Kind: search.KindColumn, Name: d.name, Catalog: d.catalog, Schema: d.schema, Table: d.name.Name,
				Column: col.Name, Type: typeName(col), Description: about.Description, Tags: about.Tags})
		}
	})
	return docs, err
}
