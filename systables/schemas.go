package systables

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/storage"
)

var schemasSchema = arrow.NewSchema([]arrow.Field{
	{Name: "catalog_name", Type: arrow.BinaryTypes.String},
	{Name: "schema_name", Type: arrow.BinaryTypes.String},
	{Name: "tables", Type: arrow.PrimitiveTypes.Int64},
	{Name: "owner", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "description", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
}, nil)

// Schemas is system.schemas: every schema (Iceberg namespace) holding a
// table the caller may see, how many such tables, and what the catalog
// file says about it. Like GetDbSchemas, a schema whose every table is
// hidden is not listed.
type Schemas struct {
	Warehouse TableLister
	// Visible filters by policy; nil shows every table.
	Visible func(ctx context.Context, name storage.TableName) bool
	// Meta is the catalog file in force; nil, or nil returned, is none.
	Meta func() *catalogmeta.Catalog
}

// Name implements Table.
func (Schemas) Name() string { return "schemas" }

// Schema implements Table.
func (Schemas) Schema() *arrow.Schema { return schemasSchema }

// Rows implements Table.
func (s Schemas) Rows(ctx context.Context, _ Viewer) (arrow.RecordBatch, error) {
	names, err := s.Warehouse.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var meta *catalogmeta.Catalog
	if s.Meta != nil {
		meta = s.Meta()
	}
	counts := map[[2]string]int64{}
	var order [][2]string
	for _, n := range names {
		if s.Visible != nil && !s.Visible(ctx, n) {
			continue
		}
		k := [2]string{CatalogName, n.Schema}
		if catalog, ns, ok := strings.Cut(n.Schema, "."); ok {
			k = [2]string{catalog, ns}
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	slices.SortFunc(order, func(a, b [2]string) int {
		return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1])
	})
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemasSchema)
	defer b.Release()
	for _, k := range order {
		b.Field(0).(*array.StringBuilder).Append(k[0])
		b.Field(1).(*array.StringBuilder).Append(k[1])
		b.Field(2).(*array.Int64Builder).Append(counts[k])
		appendEntry(b, 3, meta.Schema(catalogmeta.NewKey(k[0], k[1], "")))
	}
	return b.NewRecordBatch(), nil
}
