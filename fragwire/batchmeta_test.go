package fragwire

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

type collect []*flight.FlightData

func (c *collect) Send(fd *flight.FlightData) error {
	// The flight writer reuses its message; keep copies.
	cp := &flight.FlightData{
		DataHeader:  append([]byte(nil), fd.DataHeader...),
		DataBody:    append([]byte(nil), fd.DataBody...),
		AppMetadata: append([]byte(nil), fd.AppMetadata...),
	}
	*c = append(*c, cp)
	return nil
}

func TestBatchMeta(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want BatchMeta
		ok   bool
	}{
		{"round trip", BatchMeta{Offset: 1 << 40, Rows: 65536}.Encode(), BatchMeta{Offset: 1 << 40, Rows: 65536}, true},
		{"zero", BatchMeta{}.Encode(), BatchMeta{}, true},
		{"absent", nil, BatchMeta{}, false},
		{"heartbeat is not a batch", []byte(heartbeatTag), BatchMeta{}, false},
		{"negative", BatchMeta{Offset: -1}.Encode(), BatchMeta{Offset: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DecodeBatchMeta(tc.in)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.want, got)
			}
		})
	}
}

func TestMessageType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var out collect
	w := flight.NewRecordWriter(&out, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.Len(t, out, 2)
	for i, want := range []ipc.MessageType{ipc.MessageSchema, ipc.MessageRecordBatch} {
		got, err := MessageType(out[i])
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	hb := Heartbeat()
	require.True(t, IsHeartbeat(hb))
	require.False(t, IsHeartbeat(out[1]))
	got, err := MessageType(hb)
	require.NoError(t, err)
	require.Equal(t, ipc.MessageNone, got)
	_, err = MessageType(&flight.FlightData{DataHeader: []byte{0xff, 0xff, 0xff, 0x7f, 1}})
	require.Error(t, err)
}

func TestBatchRows(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var out collect
	w := flight.NewRecordWriter(&out, ipc.WithSchema(schema), ipc.WithLZ4())
	for _, n := range []int{3, 0, 1000} {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for i := range n {
			b.Append(int64(i))
		}
		col := b.NewArray()
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
		require.NoError(t, w.Write(rec))
		rec.Release()
		col.Release()
		b.Release()
	}
	require.NoError(t, w.Close())
	var got []int64
	for _, m := range out {
		n, ok, err := BatchRows(m)
		require.NoError(t, err)
		if ok {
			got = append(got, n)
		}
	}
	require.Equal(t, []int64{3, 0, 1000}, got, "the schema message is no batch")

	_, ok, err := BatchRows(&flight.FlightData{AppMetadata: []byte("quiver:hb")})
	require.NoError(t, err)
	require.False(t, ok)
	_, _, err = BatchRows(&flight.FlightData{DataHeader: []byte{0xff, 0xff, 0xff, 0x7f, 1, 2}})
	require.ErrorContains(t, err, "malformed flight message header")
}
