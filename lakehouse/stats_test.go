package lakehouse

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// extrema are the minimum and maximum non-null values of a column (as
// storage.ColumnStats holds them) and its null count.
type extrema struct {
	min, max any
	nulls    int64
}

func columnExtrema(t *testing.T, chunks []arrow.Array) extrema {
	t.Helper()
	var e extrema
	less := func(a, b any) bool {
		switch a := a.(type) {
		case int32:
			return a < b.(int32)
		case int64:
			return a < b.(int64)
		case float64:
			return a < b.(float64)
		case string:
			return a < b.(string)
		case bool:
			return !a && b.(bool)
		case arrow.Date32:
			return a < b.(arrow.Date32)
		case arrow.Timestamp:
			return a < b.(arrow.Timestamp)
		case decimal128.Num:
			return a.Less(b.(decimal128.Num))
		}
		t.Fatalf("no order for %T", a)
		return false
	}
	for _, chunk := range chunks {
		for i := range chunk.Len() {
			if chunk.IsNull(i) {
				e.nulls++
				continue
			}
			var v any
			switch a := chunk.(type) {
			case *array.Int32:
				v = a.Value(i)
			case *array.Int64:
				v = a.Value(i)
			case *array.Float64:
				v = a.Value(i)
			case *array.String:
				v = a.Value(i)
			case *array.LargeString: // pyarrow's, in the embedded Arrow schema
				v = a.Value(i)
			case *array.Boolean:
				v = a.Value(i)
			case *array.Date32:
				v = a.Value(i)
			case *array.Timestamp:
				v = a.Value(i)
			case *array.Decimal128:
				v = a.Value(i)
			default:
				t.Fatalf("no values of %T", chunk)
			}
			if e.min == nil || less(v, e.min) {
				e.min = v
			}
			if e.max == nil || less(e.max, v) {
				e.max = v
			}
		}
	}
	return e
}

// TestStats compares the manifest statistics of events' data files with
// the values in the files: null counts exact, bounds exact for all but
// strings (which may be truncated) and doubles (pyiceberg writes no NaN
// counts, so their bounds are left out).
func TestStats(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			c := fx.open(t)
			got, err := c.Table(t.Context(), storage.TableName{Schema: fx.catalog + ".lake", Name: "events"}, AsOf{})
			require.NoError(t, err)
			require.Len(t, got.Files, 3)
			for _, f := range got.Files {
				checkStats(t, mem, got.Columns, f, fx.read(t, f.URI))
			}
		})
	}
}

// checkStats compares f's statistics with the values in its bytes data.
func checkStats(t *testing.T, mem memory.Allocator, cols []storage.Column, f storage.File, data []byte) {
	t.Helper()
	require.Equal(t, int64(len(data)), f.Size)
	require.Equal(t, f.URI, f.Key)
	tbl := readParquet(t, mem, data)
	defer tbl.Release()
	require.Equal(t, tbl.NumRows(), f.Rows)
	for i, col := range cols {
		want := columnExtrema(t, column(t, tbl, col.Name))
		cs := f.Stats.RowGroups[0].Columns[i]
		require.True(t, cs.HasNullCount, col.Name)
		require.Equal(t, want.nulls, cs.NullCount, col.Name)
		switch col.Type.ID() {
		case arrow.FLOAT64:
			require.False(t, cs.HasMinMax, col.Name)
		case arrow.STRING:
			require.True(t, cs.HasMinMax, col.Name)
			require.LessOrEqual(t, cs.Min.(string), want.min.(string))
			require.GreaterOrEqual(t, cs.Max.(string), want.max.(string))
		default:
			require.True(t, cs.HasMinMax, col.Name)
			require.Equal(t, want.min, cs.Min, col.Name)
			require.Equal(t, want.max, cs.Max, col.Name)
		}
	}
}
