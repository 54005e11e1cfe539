package flightwire

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{"off": Uncompressed, "None": Uncompressed, "zstd": Zstd, " ZSTD ": Zstd, "lz4": LZ4, "lz4_frame": LZ4} {
		got, err := ParseCompression(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		back, err := ParseCompression(got.String())
		require.NoError(t, err)
		require.Equal(t, got, back, "String reads back")
	}
	_, err := ParseCompression("gzip")
	require.ErrorContains(t, err, `"gzip": want off, zstd or lz4`)
	_, err = ParseCompression("")
	require.Error(t, err, "an empty name is not a choice")
}

// sink collects what a Flight record writer sends.
type sink struct{ msgs Messages }

func (s *sink) Send(fd *flight.FlightData) error {
	s.msgs = append(s.msgs, &flight.FlightData{DataHeader: append([]byte(nil), fd.DataHeader...), DataBody: append([]byte(nil), fd.DataBody...)})
	return nil
}

// TestWriterOptionsCompress: with a codec's options a Flight record writer
// compresses the batch and declares it, BatchCompression reads the
// declaration back, and a plain Flight reader returns the same rows.
func TestWriterOptionsCompress(t *testing.T) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range 10000 {
		b.Append(int64(i % 7))
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	defer rec.Release()
	for _, c := range []Compression{Uncompressed, Zstd, LZ4} {
		var out sink
		w := flight.NewRecordWriter(&out, append(c.WriterOptions(), ipc.WithSchema(schema))...)
		require.NoError(t, w.Write(rec))
		require.NoError(t, w.Close())
		require.Len(t, out.msgs, 2, "schema and one batch")

		_, ok, err := BatchCompression(out.msgs[0].DataHeader)
		require.NoError(t, err)
		require.False(t, ok, "the schema message is not a batch")
		got, ok, err := BatchCompression(out.msgs[1].DataHeader)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, c, got)
		if c == Uncompressed {
			require.Equal(t, 80000, len(out.msgs[1].DataBody), "10000 int64s as they are")
		} else {
			require.Less(t, len(out.msgs[1].DataBody), 20000, "%s compresses 10000 small int64s", c)
		}

		r, err := flight.NewRecordReader(&out.msgs)
		require.NoError(t, err)
		require.True(t, r.Next())
		require.True(t, array.RecordEqual(rec, r.RecordBatch()), c.String())
		r.Release()
	}
	_, _, err := BatchCompression([]byte{1, 2})
	require.ErrorIs(t, err, ErrMalformed)
}
