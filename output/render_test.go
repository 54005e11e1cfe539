package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

// sampleSchema has the types a Quiver result typically holds.
var sampleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "started_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "completed", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// sampleRecords builds the sample rows as two batches (rows 1-2 and 3), so
// every format is exercised across a batch boundary.
func sampleRecords(t *testing.T, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	ts := func(s string) arrow.Timestamp {
		v, err := time.Parse("2006-01-02 15:04:05.999999", s)
		require.NoError(t, err)
		return arrow.Timestamp(v.UnixMicro())
	}
	type row struct {
		id        int64
		name      *string
		price     *int64 // cents
		eventTime *arrow.Timestamp
		startedAt *arrow.Timestamp
		day       *arrow.Date32
		completed *bool
		score     *float64
	}
	str := func(s string) *string { return &s }
	cents := func(c int64) *int64 { return &c }
	stamp := func(s string) *arrow.Timestamp { v := ts(s); return &v }
	date := func(s string) *arrow.Date32 {
		v, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		d := arrow.Date32FromTime(v)
		return &d
	}
	yes, no := true, false
	f := func(v float64) *float64 { return &v }
	batches := [][]row{
		{
			{1, str("The Silent Harbor"), cents(999), stamp("2025-01-01 20:58:50.383"), stamp("2025-01-01 20:58:50"), date("2025-01-01"), &yes, f(1.5)},
			{2, nil, nil, nil, nil, nil, nil, nil},
		},
		{
			{3, str("東京 café ☕ \"quoted\", <b>"), cents(123450), stamp("2025-01-30 23:59:59.000001"), stamp("2025-01-30 00:00:00.5"), date("2025-01-30"), &no, f(-0.25)},
		},
	}
	var recs []arrow.RecordBatch
	for _, rows := range batches {
		b := array.NewRecordBuilder(mem, sampleSchema)
		for _, r := range rows {
			b.Field(0).(*array.Int64Builder).Append(r.id)
			if r.name != nil {
				b.Field(1).(*array.StringBuilder).Append(*r.name)
			} else {
				b.Field(1).AppendNull()
			}
			if r.price != nil {
				b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(*r.price))
			} else {
				b.Field(2).AppendNull()
			}
			if r.eventTime != nil {
				b.Field(3).(*array.TimestampBuilder).Append(*r.eventTime)
			} else {
				b.Field(3).AppendNull()
			}
			if r.startedAt != nil {
				b.Field(4).(*array.TimestampBuilder).Append(*r.startedAt)
			} else {
				b.Field(4).AppendNull()
			}
			if r.day != nil {
				b.Field(5).(*array.Date32Builder).Append(*r.day)
			} else {
				b.Field(5).AppendNull()
			}
			if r.completed != nil {
				b.Field(6).(*array.BooleanBuilder).Append(*r.completed)
			} else {
				b.Field(6).AppendNull()
			}
			if r.score != nil {
				b.Field(7).(*array.Float64Builder).Append(*r.score)
			} else {
				b.Field(7).AppendNull()
			}
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return recs
}

// sampleReader is the sample records as one reader, allocated from mem;
// the caller releases it.
func sampleReader(t *testing.T, mem memory.Allocator) array.RecordReader {
	t.Helper()
	recs := sampleRecords(t, mem)
	rdr, err := array.NewRecordReader(sampleSchema, recs)
	require.NoError(t, err)
	for _, r := range recs {
		r.Release()
	}
	return rdr
}

func renderSample(t *testing.T, format string) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rdr := sampleReader(t, mem)
	defer rdr.Release()
	var out bytes.Buffer
	require.NoError(t, RenderWith(t.Context(), &out, format, rdr, 0, mem))
	return out.String()
}

func TestRenderTextFormats(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		// Eight columns are too wide for 120 characters: started_at is left
		// out and the long name is cut; numbers and times never are.
		{FormatTable, `
┌────────┬─────────────────────────┬───────────────┬─────────────────────────────┬───┬────────────┬───────────┬────────┐
│   id   │          name           │     price     │         event_time          │ … │    day     │ completed │ score  │
│ bigint │         varchar         │ decimal(10,2) │  timestamp with time zone   │ … │    date    │  boolean  │ double │
├────────┼─────────────────────────┼───────────────┼─────────────────────────────┼───┼────────────┼───────────┼────────┤
│      1 │ The Silent Harbor       │          9.99 │ 2025-01-01 20:58:50.383Z    │ … │ 2025-01-01 │ true      │    1.5 │
│      2 │ NULL                    │          NULL │ NULL                        │ … │ NULL       │ NULL      │   NULL │
│      3 │ 東京 café ☕ "quoted",… │       1234.50 │ 2025-01-30 23:59:59.000001Z │ … │ 2025-01-30 │ false     │  -0.25 │
└────────┴─────────────────────────┴───────────────┴─────────────────────────────┴───┴────────────┴───────────┴────────┘
3 rows (3 shown)  8 columns (7 shown)
`},
		{FormatCSV, `id,name,price,event_time,started_at,day,completed,score
1,The Silent Harbor,9.99,2025-01-01 20:58:50.383Z,2025-01-01 20:58:50,2025-01-01,true,1.5
2,,,,,,,
3,"東京 café ☕ ""quoted"", <b>",1234.50,2025-01-30 23:59:59.000001Z,2025-01-30 00:00:00.5,2025-01-30,false,-0.25
`},
		{FormatJSON, `{"id":1,"name":"The Silent Harbor","price":"9.99","event_time":"2025-01-01 20:58:50.383Z","started_at":"2025-01-01 20:58:50","day":"2025-01-01","completed":true,"score":1.5}
{"id":2,"name":null,"price":null,"event_time":null,"started_at":null,"day":null,"completed":null,"score":null}
{"id":3,"name":"東京 café ☕ \"quoted\", <b>","price":"1234.50","event_time":"2025-01-30 23:59:59.000001Z","started_at":"2025-01-30 00:00:00.5","day":"2025-01-30","completed":false,"score":-0.25}
`},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			got := renderSample(t, tc.format)
			require.Equal(t, strings.TrimPrefix(tc.want, "\n"), got)
		})
	}
}

func TestRenderJSONLinesAreObjectsInColumnOrder(t *testing.T) {
	out := renderSample(t, FormatJSON)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3)
	for _, line := range lines {
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &obj))
		require.Len(t, obj, sampleSchema.NumFields())
		require.True(t, strings.HasPrefix(line, `{"id":`))
	}
}

func TestRenderParquetRoundTrips(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := sampleRecords(t, mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rdr, err := array.NewRecordReader(sampleSchema, recs)
	require.NoError(t, err)
	defer rdr.Release()

	var out bytes.Buffer
	require.NoError(t, RenderWith(t.Context(), &out, FormatParquet, rdr, 0, mem))

	pf, err := file.NewParquetReader(bytes.NewReader(out.Bytes()), file.WithReadProps(nil))
	require.NoError(t, err)
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	got, err := fr.ReadTable(t.Context())
	require.NoError(t, err)
	defer got.Release()

	want := array.NewTableFromRecords(sampleSchema, recs)
	defer want.Release()
	require.Equal(t, sampleSchema.NumFields(), got.Schema().NumFields(), "schema: got %s", got.Schema())
	for i, f := range got.Schema().Fields() {
		require.Equal(t, sampleSchema.Field(i).Name, f.Name)
		require.True(t, arrow.TypeEqual(sampleSchema.Field(i).Type, f.Type), "%s: got %s", f.Name, f.Type)
		require.Equal(t, sampleSchema.Field(i).Nullable, f.Nullable, f.Name)
		require.True(t, array.ChunkedEqual(want.Column(i).Data(), got.Column(i).Data()), f.Name)
	}
}

func TestRenderRejectsUnknownFormat(t *testing.T) {
	rdr, err := array.NewRecordReader(sampleSchema, nil)
	require.NoError(t, err)
	defer rdr.Release()
	err = Render(t.Context(), &bytes.Buffer{}, "xml", rdr, 0)
	require.ErrorIs(t, err, ErrUnknownFormat)
}

func TestRenderEmptyResult(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		{FormatCSV, "id,name,price,event_time,started_at,day,completed,score\n"},
		{FormatJSON, ""},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			rdr, err := array.NewRecordReader(sampleSchema, nil)
			require.NoError(t, err)
			defer rdr.Release()
			var out bytes.Buffer
			require.NoError(t, Render(t.Context(), &out, tc.format, rdr, 0))
			require.Equal(t, tc.want, out.String())
		})
	}
}

// failingReader yields its records and then fails, like a stream whose
// server dies.
type failingReader struct {
	array.RecordReader
	err error
}

func (r *failingReader) Err() error { return r.err }

func TestRenderAfterStreamFailure(t *testing.T) {
	tests := []struct {
		format string
		check  func(t *testing.T, out []byte)
	}{
		{FormatTable, func(t *testing.T, out []byte) {
			require.Empty(t, out, "no table is drawn for a failed result")
		}},
		{FormatCSV, func(t *testing.T, out []byte) {
			require.Equal(t, 4, strings.Count(string(out), "\n"), "header and the rows received")
		}},
		{FormatParquet, func(t *testing.T, out []byte) {
			_, err := file.NewParquetReader(bytes.NewReader(out))
			require.Error(t, err, "a truncated result must not look like a complete file")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			inner := sampleReader(t, mem)
			defer inner.Release()
			lost := errors.New("worker lost")
			var out bytes.Buffer
			err := RenderWith(t.Context(), &out, tc.format, &failingReader{RecordReader: inner, err: lost}, 0, mem)
			require.ErrorIs(t, err, lost)
			tc.check(t, out.Bytes())
		})
	}
}
