package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestQueryArrowOverTablesConcurrently runs many merges at once on one
// database, as a coordinator under load does.
func TestQueryArrowOverTablesConcurrently(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2, Sandbox: &Sandbox{}})
	require.NoError(t, err)
	defer db.Close()
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
				for j := range 100 {
					b.Field(0).(*array.StringBuilder).Append(fmt.Sprint(j % 5))
					b.Field(1).(*array.Int64Builder).Append(int64(g*1000 + i + j))
				}
				rec := b.NewRecordBatch()
				b.Release()
				in, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
				rec.Release()
				rdr, err := db.QueryArrowOverTables(context.Background(), map[string]array.RecordReader{"quiver_partials": in}, "SELECT k, sum(n) FROM quiver_partials GROUP BY k")
				in.Release()
				if err != nil {
					errs <- err
					continue
				}
				rows := 0
				for rdr.Next() {
					rows += int(rdr.RecordBatch().NumRows())
				}
				if rdr.Err() != nil {
					errs <- rdr.Err()
				} else if rows != 5 {
					errs <- fmt.Errorf("%d rows", rows)
				}
				rdr.Release()
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []string
	for err := range errs {
		all = append(all, err.Error())
	}
	require.Empty(t, all)
}
