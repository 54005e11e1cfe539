package engine

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

func TestDuckDBType(t *testing.T) {
	cases := []struct {
		name string
		in   arrow.DataType
		want string
	}{
		{"bigint", arrow.PrimitiveTypes.Int64, "BIGINT"},
		{"varchar", arrow.BinaryTypes.String, "VARCHAR"},
		{"large varchar", arrow.BinaryTypes.LargeString, "VARCHAR"},
		{"date", arrow.FixedWidthTypes.Date32, "DATE"},
		{"timestamp", &arrow.TimestampType{Unit: arrow.Microsecond}, "TIMESTAMP"},
		{"timestamptz", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, "TIMESTAMPTZ"},
		{"timestamp ns", &arrow.TimestampType{Unit: arrow.Nanosecond}, "TIMESTAMP_NS"},
		{"decimal", &arrow.Decimal128Type{Precision: 12, Scale: 4}, "DECIMAL(12,4)"},
		{"list", arrow.ListOf(arrow.PrimitiveTypes.Int32), "INTEGER[]"},
		{"struct", arrow.StructOf(arrow.Field{Name: "a b", Type: arrow.BinaryTypes.String}), `STRUCT("a b" VARCHAR)`},
		{"map", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64), "MAP(VARCHAR, DOUBLE)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DuckDBType(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
