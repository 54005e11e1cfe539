package client

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// Table is a table the caller may see, with its columns.
type Table struct {
	Catalog, Schema, Name, Type string
	Columns                     []arrow.Field
}

// Tables lists every table the caller may see (Flight SQL GetTables with
// schemas), in the server's order.
func (c *Conn) Tables(ctx context.Context) ([]Table, error) {
	fc, err := c.client(c.home)
	if err != nil {
		return nil, err
	}
	info, err := fc.GetTables(c.outgoing(ctx), &flightsql.GetTablesOpts{IncludeSchema: true})
	if err != nil {
		return nil, c.explain(fmt.Errorf("list tables on %s: %w", c.opts.Server, err), c.home)
	}
	r, err := newResult(ctx, c, info)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	var out []Table
	for r.Next() {
		rec := r.RecordBatch()
		col := func(name string) arrow.Array {
			idx := rec.Schema().FieldIndices(name)
			if len(idx) == 0 {
				return nil
			}
			return rec.Column(idx[0])
		}
		text := func(a arrow.Array, i int) string {
			if s, ok := a.(*array.String); ok && s.IsValid(i) {
				return s.Value(i)
			}
			return ""
		}
		catalog, schema, name, typ := col("catalog_name"), col("db_schema_name"), col("table_name"), col("table_type")
		schemas, _ := col("table_schema").(*array.Binary)
		for i := range int(rec.NumRows()) {
			t := Table{Catalog: text(catalog, i), Schema: text(schema, i), Name: text(name, i), Type: text(typ, i)}
			if schemas != nil && schemas.IsValid(i) {
				s, err := flight.DeserializeSchema(schemas.Value(i), c.opts.Allocator)
				if err != nil {
					return nil, fmt.Errorf("decode the schema of %s.%s: %w", t.Schema, t.Name, err)
				}
				t.Columns = s.Fields()
			}
			out = append(out, t)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("list tables on %s: %w", c.opts.Server, err)
	}
	return out, nil
}
