package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestQueryArrowOver(t *testing.T) {
	db, err := Open(context.Background(), Options{})
	require.NoError(t, err)
	defer db.Close()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	in, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec, rec})
	require.NoError(t, err)
	defer in.Release()

	out, err := db.QueryArrowOver(context.Background(), map[string]array.RecordReader{"parts": in}, "SELECT sum(x) AS s, count(*) AS n FROM parts")
	require.NoError(t, err)
	require.True(t, out.Next())
	got := out.RecordBatch()
	require.Equal(t, "12", got.Column(0).ValueStr(0))
	require.Equal(t, "6", got.Column(1).ValueStr(0))
	out.Release()

	// The view was local to that connection and is gone.
	_, err = db.SQL().ExecContext(context.Background(), "SELECT * FROM parts")
	require.Error(t, err)
}
