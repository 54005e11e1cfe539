package fragwire

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestCheckSchema(t *testing.T) {
	i64 := arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	str := arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}
	list := arrow.Field{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true}
	want := arrow.NewSchema([]arrow.Field{i64, str, list}, nil)
	withMeta := arrow.NewSchema([]arrow.Field{i64, str, list}, &arrow.Metadata{})
	for _, tc := range []struct {
		name string
		got  *arrow.Schema
		err  string
	}{
		{"same", want, ""},
		{"schema metadata is not compared", withMeta, ""},
		{"reordered", arrow.NewSchema([]arrow.Field{str, i64, list}, nil), "at column 1: announced (a int64, b utf8, l list<item: int32, nullable>), streamed (b utf8, a int64, l list<item: int32, nullable>)"},
		{"nested type", arrow.NewSchema([]arrow.Field{i64, str, {Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true}}, nil), "at column 3"},
		{"nullability", arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, str, list}, nil), "streamed (a int64 not null"},
		{"fewer", arrow.NewSchema([]arrow.Field{i64}, nil), "at column 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSchema(want, tc.got)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrSchemaMismatch)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestDecodeSchema(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	want := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	var msgs collect
	w := flight.NewRecordWriter(&msgs, ipc.WithSchema(want), ipc.WithAllocator(mem))
	require.NoError(t, w.Close())
	require.Len(t, msgs, 1)
	got, err := DecodeSchema(msgs[0], mem)
	require.NoError(t, err)
	require.True(t, want.Equal(got))
}
