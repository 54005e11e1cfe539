package worker

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestCoalescer(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	batch := func(from, n int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for i := from; i < from+n; i++ {
			if i%7 == 0 {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.Int64Builder).Append(i)
			}
		}
		return b.NewRecordBatch()
	}
	c := newCoalescer(schema, 5)
	var out []arrow.RecordBatch
	for i := int64(0); i < 12; i += 2 {
		rec := batch(i, 2)
		got, err := c.add(rec)
		rec.Release()
		require.NoError(t, err)
		if got != nil {
			out = append(out, got)
		}
	}
	last, err := c.flush()
	require.NoError(t, err)
	require.Nil(t, last, "nothing left after two full batches")
	rec := batch(12, 3)
	_, err = c.add(rec)
	rec.Release()
	require.NoError(t, err)
	last, err = c.flush()
	require.NoError(t, err)
	out = append(out, last)
	var sizes []int64
	next := int64(0)
	for _, r := range out {
		sizes = append(sizes, r.NumRows())
		col := r.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			require.Equal(t, next%7 == 0, col.IsNull(i))
			if !col.IsNull(i) {
				require.Equal(t, next, col.Value(i))
			}
			next++
		}
		r.Release()
	}
	require.Equal(t, []int64{6, 6, 3}, sizes, "batches reach the target, the rest is flushed, order and nulls kept")
	none, err := c.flush()
	require.NoError(t, err)
	require.Nil(t, none)
}

func TestCoalescerBoundsBytes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range 100 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	c := newCoalescer(schema, 1000)
	c.maxBytes = 2000 // 800 bytes per batch of 100 int64
	var sizes []int64
	for range 7 {
		got, err := c.add(rec)
		require.NoError(t, err)
		if got != nil {
			sizes = append(sizes, got.NumRows())
			got.Release()
		}
	}
	last, err := c.flush()
	require.NoError(t, err)
	sizes = append(sizes, last.NumRows())
	last.Release()
	require.Equal(t, []int64{300, 300, 100}, sizes, "flushed at the byte bound long before the row target")
}
