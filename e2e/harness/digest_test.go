package harness

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestDigestDiff(t *testing.T) {
	tests := []struct {
		name           string
		want, got      []uint64
		missing, extra int
	}{
		{"equal", []uint64{1, 2, 2, 3}, []uint64{1, 2, 2, 3}, 0, 0},
		{"duplicate lost", []uint64{1, 2, 2, 3}, []uint64{1, 2, 3}, 1, 0},
		{"duplicated row", []uint64{1, 2, 3}, []uint64{1, 2, 2, 3, 3}, 0, 2},
		{"disjoint", []uint64{1}, []uint64{2}, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, e := digestDiff(tc.want, tc.got)
			require.Equal(t, tc.missing, m)
			require.Equal(t, tc.extra, e)
		})
	}
}

func TestRowDigestsDistinguishNullAndEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	build := func(vals []string, valid []bool) *Result {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		b.Field(0).(*array.StringBuilder).AppendValues(vals, valid)
		return &Result{Schema: schema, Records: []arrow.RecordBatch{b.NewRecordBatch()}}
	}
	null := build([]string{""}, []bool{false})
	defer null.Release()
	empty := build([]string{""}, []bool{true})
	defer empty.Release()
	again := build([]string{""}, []bool{true})
	defer again.Release()
	require.NotEqual(t, rowDigests(null), rowDigests(empty))
	require.Equal(t, rowDigests(empty), rowDigests(again))
}
