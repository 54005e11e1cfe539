package lakehouse

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"

	"github.com/quiver-data/quiver/storage"
)

// columns are the top-level fields of sc as Quiver columns, and their field
// ids. A field Quiver cannot read with a plain Parquet read by field id
// fails the whole table: nested types (DuckDB would read them, but the
// planner maps top-level fields only), types Quiver's Arrow mapping cannot
// name the way DuckDB reads them (uuid reads as DuckDB's UUID, not a
// BLOB), v3 types, and fields with an initial default (files written
// before the field was added would read NULL instead of the default).
func columns(table string, sc *iceberg.Schema) ([]storage.Column, []int, error) {
	fields := sc.Fields()
	cols := make([]storage.Column, 0, len(fields))
	ids := make([]int, 0, len(fields))
	for _, f := range fields {
		typ, err := arrowType(f.Type)
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: column %s %w", table, f.Name, err)
		}
		if f.InitialDefault != nil {
			return nil, nil, fmt.Errorf("table %s: column %s has an initial default (%v), which files written before it was added must read as: %w",
				table, f.Name, f.InitialDefault, ErrUnsupported)
		}
		cols = append(cols, storage.Column{Name: f.Name, Type: typ, Nullable: !f.Required, Doc: f.Doc})
		ids = append(ids, f.ID)
	}
	return cols, ids, nil
}

// arrowType maps an Iceberg type to the Arrow type DuckDB reads its
// Parquet column as. The error completes "column c …".
func arrowType(t iceberg.Type) (arrow.DataType, error) {
	switch t := t.(type) {
	case iceberg.BooleanType:
		return arrow.FixedWidthTypes.Boolean, nil
	case iceberg.Int32Type:
		return arrow.PrimitiveTypes.Int32, nil
	case iceberg.Int64Type:
		return arrow.PrimitiveTypes.Int64, nil
	case iceberg.Float32Type:
		return arrow.PrimitiveTypes.Float32, nil
	case iceberg.Float64Type:
		return arrow.PrimitiveTypes.Float64, nil
	case iceberg.DecimalType:
		return &arrow.Decimal128Type{Precision: int32(t.Precision()), Scale: int32(t.Scale())}, nil
	case iceberg.DateType:
		return arrow.FixedWidthTypes.Date32, nil
	case iceberg.TimeType:
		return arrow.FixedWidthTypes.Time64us, nil
	case iceberg.TimestampType:
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	case iceberg.TimestampTzType:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case iceberg.StringType:
		return arrow.BinaryTypes.String, nil
	case iceberg.BinaryType, iceberg.FixedType:
		return arrow.BinaryTypes.Binary, nil
	case *iceberg.StructType:
		return nil, fmt.Errorf("is a struct: %w", ErrUnsupported)
	case *iceberg.ListType:
		return nil, fmt.Errorf("is a list: %w", ErrUnsupported)
	case *iceberg.MapType:
		return nil, fmt.Errorf("is a map: %w", ErrUnsupported)
	}
	return nil, fmt.Errorf("is a %s: %w", t, ErrUnsupported)
}
