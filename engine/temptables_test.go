package engine

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func TestQueryArrowOverTables(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db, err := Open(context.Background(), Options{})
	require.NoError(t, err)
	defer db.Close()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "c", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y", "x", "y"}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{10, 20, 30, 40}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	// The reader holds the batch twice.
	cases := []struct {
		query string
		want  string
	}{
		{"SELECT a FROM parts WHERE a > 2 ORDER BY a", "3;3;4;4;"},
		{"SELECT c, b FROM parts ORDER BY c DESC LIMIT 3", "40,y;40,y;30,x;"},
		{"SELECT c FROM parts WHERE b = 'y' ORDER BY c", "20;20;40;40;"},
		{"SELECT b, sum(c) AS s FROM parts GROUP BY b HAVING sum(c) > 80 ORDER BY b", "y,120;"},
		{"SELECT count(*) FROM parts WHERE c < 25", "4;"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			in, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec, rec})
			require.NoError(t, err)
			defer in.Release()
			out, err := db.QueryArrowOverTables(context.Background(), map[string]array.RecordReader{"parts": in}, tc.query)
			require.NoError(t, err)
			got := ""
			for out.Next() {
				r := out.RecordBatch()
				for i := 0; i < int(r.NumRows()); i++ {
					for c := 0; c < int(r.NumCols()); c++ {
						if c > 0 {
							got += ","
						}
						got += r.Column(c).ValueStr(i)
					}
					got += ";"
				}
			}
			require.NoError(t, out.Err())
			out.Release()
			require.Equal(t, tc.want, got)
		})
	}
	// The table was local to that connection and is gone.
	_, err = db.SQL().ExecContext(context.Background(), "SELECT * FROM parts")
	require.Error(t, err)
}
