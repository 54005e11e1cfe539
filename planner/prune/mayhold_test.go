package prune

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

// TestPruneFilesMayHold prunes files by their bucket partitions (Iceberg):
// file k holds the ids and the names of bucket k of 3; only top-level
// equalities and IN lists on plain integer and string columns ask, and an
// OR, a range, a fraction or a decimal never does.
func TestPruneFilesMayHold(t *testing.T) {
	db := openPruneDB(t)
	tbl := &storage.Table{
		Name: storage.TableName{Schema: "lake.ns", Name: "t"},
		Columns: []storage.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		},
	}
	// bucket is the bucket of v among n, as the files' MayHold hashes it.
	bucket := func(v any, n int) int32 {
		for b := range int32(n) {
			if (storage.File{Buckets: []storage.Bucket{{Column: 0, Count: n, Value: b}}}).MayHold(0, v) {
				return b
			}
		}
		t.Fatalf("no bucket of %v", v)
		return 0
	}
	for k := range 3 {
		tbl.Files = append(tbl.Files, storage.File{URI: fmt.Sprintf("/b/f%d.parquet", k), Buckets: []storage.Bucket{
			{Column: 0, Count: 3, Value: int32(k)}, {Column: 1, Count: 3, Value: int32(k)}}})
	}
	f := func(vs ...any) []string { // the files whose id (int64) or name (string) bucket holds one of vs
		var out []string
		for k := range int32(3) {
			for _, v := range vs {
				if bucket(v, 3) == k {
					out = append(out, fmt.Sprintf("f%d", k))
					break
				}
			}
		}
		return out
	}
	all := []string{"f0", "f1", "f2"}
	both := func(a, b []string) []string {
		var out []string
		for _, x := range a {
			if slices.Contains(b, x) {
				out = append(out, x)
			}
		}
		return out
	}
	for _, c := range []struct {
		where string
		want  []string
	}{
		{"id = 4", f(int64(4))},
		{"4 = t.id", f(int64(4))},
		{"id IN (3, 5)", f(int64(3), int64(5))},
		{"id = 4 AND name = 'abc'", both(f(int64(4)), f("abc"))},
		{"id = 4 AND name IN ('a', 'bb')", both(f(int64(4)), f("a", "bb"))},
		{"name = 'abc' AND id > 0", f("abc")},
		{"id = 4 OR id = 5", all},
		{"id > 4", all},
		{"id = 4.5", all}, // a fraction: left to the statistics
		{"id = 4.0", f(int64(4))},
		{"price = 4", all},
		{"id IN (4, NULL)", f(int64(4))},
		{"u.id = 4", all}, // another table's column
	} {
		kept, err := Files(context.Background(), tbl, parseWhere(t, db, c.where), testResolver, nil)
		require.NoError(t, err, c.where)
		var got []string
		for _, f := range kept {
			got = append(got, f.URI[len("/b/"):len(f.URI)-len(".parquet")])
		}
		require.Equal(t, c.want, got, c.where)
	}
}
