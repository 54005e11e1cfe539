package output

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestFormatValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name     string
		typ      arrow.DataType
		json     string // one value, as array.FromJSON reads it
		typeName string
		cell     string
		jsonOut  string
	}{
		{"int", arrow.PrimitiveTypes.Int32, `[42]`, "integer", "42", "42"},
		{"uint64", arrow.PrimitiveTypes.Uint64, `[18446744073709551615]`, "ubigint", "18446744073709551615", "18446744073709551615"},
		{"double", arrow.PrimitiveTypes.Float64, `[0.1]`, "double", "0.1", "0.1"},
		{"float", arrow.PrimitiveTypes.Float32, `[0.1]`, "float", "0.1", "0.1"},
		{"decimal", &arrow.Decimal128Type{Precision: 12, Scale: 4}, `["0.0300"]`, "decimal(12,4)", "0.0300", `"0.0300"`},
		{"time", arrow.FixedWidthTypes.Time64us, `["13:45:01.250000"]`, "time", "13:45:01.25", `"13:45:01.25"`},
		{"date", arrow.FixedWidthTypes.Date32, `["2025-01-30"]`, "date", "2025-01-30", `"2025-01-30"`},
		{"timestamp tz", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}, `["2025-01-01T12:00:00Z"]`, "timestamp with time zone", "2025-01-01 07:00:00-05:00", `"2025-01-01 07:00:00-05:00"`},
		{"string", arrow.BinaryTypes.String, `["a \"b\" <c>"]`, "varchar", `a "b" <c>`, `"a \"b\" <c>"`},
		{"large string", arrow.BinaryTypes.LargeString, `["x"]`, "varchar", "x", `"x"`},
		{"bool", arrow.FixedWidthTypes.Boolean, `[true]`, "boolean", "true", "true"},
		{"list", arrow.ListOf(arrow.PrimitiveTypes.Int64), `[[1, 2]]`, "bigint[]", "[1,2]", "[1,2]"},
		{"struct", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}), `[{"a": 1}]`, "struct<a: int64>", `{"a":1}`, `{"a":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arr, _, err := array.FromJSON(mem, tc.typ, strings.NewReader(tc.json))
			require.NoError(t, err)
			defer arr.Release()
			require.Equal(t, tc.typeName, TypeName(tc.typ))
			require.Equal(t, tc.cell, cellString(arr, 0))

			var buf bytes.Buffer
			s := newJSONSink(&buf, arrow.NewSchema([]arrow.Field{{Name: "v", Type: tc.typ}}, nil))
			rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: tc.typ}}, nil), []arrow.Array{arr}, 1)
			defer rec.Release()
			require.NoError(t, s.write(rec))
			require.NoError(t, s.close(false))
			require.Equal(t, `{"v":`+tc.jsonOut+"}\n", buf.String())
		})
	}
}

func TestJSONKeepsNonFiniteFloats(t *testing.T) {
	require.Equal(t, "NaN", floatJSON(math.NaN(), 64))
	require.Equal(t, "+Inf", floatJSON(math.Inf(1), 64))
	require.Equal(t, jsonNumber("1e+100"), floatJSON(1e100, 64))
}

func TestCSVFormatsTypesArrowCannot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "t", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
		{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}), Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(`[{"t": "01:02:03", "s": {"a": 1}}, {"t": null, "s": null}]`))
	require.NoError(t, err)
	defer rec.Release()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	defer rdr.Release()
	var out bytes.Buffer
	require.NoError(t, Render(t.Context(), &out, FormatCSV, rdr, 0))
	require.Equal(t, "t,s\n01:02:03,\"{\"\"a\"\":1}\"\n,\n", out.String())
}

func TestRenderStopsWhenCancelled(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rdr := sampleReader(t, mem)
	defer rdr.Release()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	require.ErrorIs(t, Render(ctx, &out, FormatTable, rdr, 0), context.Canceled)
	require.Empty(t, out.String())
}
