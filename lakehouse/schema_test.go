package lakehouse

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

func TestColumns(t *testing.T) {
	sc := iceberg.NewSchema(3,
		iceberg.NestedField{ID: 1, Name: "b", Type: iceberg.PrimitiveTypes.Bool, Required: true},
		iceberg.NestedField{ID: 2, Name: "i", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 3, Name: "l", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 4, Name: "f", Type: iceberg.PrimitiveTypes.Float32},
		iceberg.NestedField{ID: 5, Name: "d", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 6, Name: "dec", Type: iceberg.DecimalTypeOf(38, 9)},
		iceberg.NestedField{ID: 7, Name: "day", Type: iceberg.PrimitiveTypes.Date},
		iceberg.NestedField{ID: 8, Name: "t", Type: iceberg.PrimitiveTypes.Time},
		iceberg.NestedField{ID: 9, Name: "ts", Type: iceberg.PrimitiveTypes.Timestamp},
		iceberg.NestedField{ID: 10, Name: "tstz", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: 11, Name: "s", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 12, Name: "bin", Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: 14, Name: "fix", Type: iceberg.FixedTypeOf(4)},
	)
	cols, ids, err := columns("lake.ns.t", sc)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14}, ids)
	require.Equal(t, []storage.Column{
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "l", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 38, Scale: 9}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "t", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "tstz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "fix", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, cols)
}

func TestColumnsUnsupported(t *testing.T) {
	for _, tc := range []struct {
		field iceberg.NestedField
		msg   string
	}{
		{iceberg.NestedField{ID: 1, Name: "c", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{{ID: 2, Name: "x", Type: iceberg.PrimitiveTypes.Int32}}}},
			"table lake.ns.t: column c is a struct: unsupported Iceberg feature"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: &iceberg.ListType{ElementID: 2, Element: iceberg.PrimitiveTypes.Int32}}, "column c is a list"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: &iceberg.MapType{KeyID: 2, KeyType: iceberg.PrimitiveTypes.String, ValueID: 3, ValueType: iceberg.PrimitiveTypes.Int32}}, "column c is a map"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: iceberg.PrimitiveTypes.UUID}, "column c is a uuid"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: iceberg.PrimitiveTypes.TimestampNs}, "column c is a timestamp_ns"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: iceberg.VariantType{}}, "column c is a variant"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: iceberg.PrimitiveTypes.Unknown}, "column c is a unknown"},
		{iceberg.NestedField{ID: 1, Name: "c", Type: iceberg.PrimitiveTypes.Int32, InitialDefault: int32(7)}, "column c has an initial default (7)"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, _, err := columns("lake.ns.t", iceberg.NewSchema(0, tc.field))
			require.ErrorIs(t, err, ErrUnsupported)
			require.Equal(t, errkind.Unimplemented, errkind.Of(err))
			require.ErrorContains(t, err, tc.msg)
		})
	}
}
