package lakehouse

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// TestBuckets reads every data file of hashed (bucket(8, id)): each
// file may hold every id it has, and of ids 0…1999 about an eighth; a
// name (truncate(4, name), not a bucket) is never refused. Unpartitioned
// events' files have no filter.
func TestBuckets(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			c := fx.open(t)
			hashed, err := c.Table(t.Context(), storage.TableName{Schema: fx.catalog + ".lake", Name: "hashed"}, AsOf{})
			require.NoError(t, err)
			idCol := -1
			for i, col := range hashed.Columns {
				if col.Name == "id" {
					idCol = i
				}
			}
			require.GreaterOrEqual(t, idCol, 0)
			for _, f := range hashed.Files {
				require.NotEmpty(t, f.Buckets, f.Path)
				tbl := readParquet(t, mem, fx.read(t, f.URI))
				has := map[int64]bool{}
				for _, chunk := range column(t, tbl, "id") {
					for i := range chunk.Len() {
						has[chunk.(*array.Int64).Value(i)] = true
					}
				}
				tbl.Release()
				mayHold := 0
				for id := range int64(2000) {
					ok := f.MayHold(idCol, id)
					if has[id] {
						require.True(t, ok, "%s holds id %d", f.Path, id)
					}
					if ok {
						mayHold++
					}
				}
				require.InDelta(t, 2000/8, mayHold, 80, "%s: one bucket of 8", f.Path)
			}
			events, err := c.Table(t.Context(), storage.TableName{Schema: fx.catalog + ".lake", Name: "events"}, AsOf{})
			require.NoError(t, err)
			for _, f := range events.Files {
				require.Empty(t, f.Buckets)
			}
		})
	}
}
