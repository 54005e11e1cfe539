package lakehouse

import (
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/stretchr/testify/require"
)

func TestMayReference(t *testing.T) {
	const (
		a = "s3://b/wh/t/data/a.parquet"
		b = "s3://b/wh/t/data/b.parquet"
		c = "s3://b/wh/t/data/c.parquet"
	)
	del := func(ref string, lo, hi string) iceberg.DataFile {
		bld, err := iceberg.NewDataFileBuilder(*iceberg.UnpartitionedSpec, iceberg.EntryContentPosDeletes, "s3://b/wh/t/data/del.parquet",
			iceberg.ParquetFile, nil, nil, nil, 1, 10)
		require.NoError(t, err)
		if ref != "" {
			bld.ReferencedDataFile(ref)
		}
		if lo != "" {
			bld.LowerBoundValues(map[int][]byte{filePathFieldID: []byte(lo)})
		}
		if hi != "" {
			bld.UpperBoundValues(map[int][]byte{filePathFieldID: []byte(hi)})
		}
		return bld.Build()
	}
	for _, tc := range []struct {
		name string
		del  iceberg.DataFile
		want map[string]bool
	}{
		{"referenced data file", del(b, "", ""), map[string]bool{a: false, b: true, c: false}},
		{"referenced wins over bounds", del(b, a, c), map[string]bool{a: false, b: true, c: false}},
		{"exact bounds", del("", b, b), map[string]bool{a: false, b: true, c: false}},
		{"a range", del("", a, b), map[string]bool{a: true, b: true, c: false}},
		{"lower only", del("", b, ""), map[string]bool{a: false, b: true, c: true}},
		// Truncated to 16 characters: a prefix below, a prefix or an
		// incremented prefix above; both cover every path here.
		{"truncated", del("", a[:16], a[:16]), map[string]bool{a: true, b: true, c: true}},
		{"truncated and incremented", del("", a[:15]+"x", a[:15]+"y"), map[string]bool{a: false, b: false, c: false}},
		{"no bounds", del("", "", ""), map[string]bool{a: true, b: true, c: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for path, want := range tc.want {
				require.Equal(t, want, mayReference(tc.del, path), path)
			}
		})
	}
}
