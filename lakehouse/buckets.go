package lakehouse

import (
	"math"
	"slices"

	"github.com/apache/iceberg-go"

	"github.com/quiver-data/quiver/storage"
)

// buckets are a data file's bucket partitions on columns of the schema
// read (ids), from the spec the file was written with: storage.File's
// MayHold hashes a value the way iceberg-go's BucketTransform does. Bucket
// hashes of int and long agree (both hash the value as a long), so a
// column widened from int to long keeps its old files' buckets.
func buckets(df iceberg.DataFile, specs []iceberg.PartitionSpec, ids []int) []storage.Bucket {
	i := slices.IndexFunc(specs, func(s iceberg.PartitionSpec) bool { return int32(s.ID()) == df.SpecID() })
	if i < 0 {
		return nil
	}
	part := df.Partition()
	var out []storage.Bucket
	for _, pf := range specs[i].Fields() {
		bt, ok := pf.Transform.(iceberg.BucketTransform)
		if !ok || len(pf.SourceIDs) > 1 || bt.NumBuckets <= 0 {
			continue
		}
		col := slices.Index(ids, pf.SourceID())
		if col < 0 {
			continue
		}
		var b int32
		switch v := part[pf.FieldID].(type) {
		case int32:
			b = v
		case int64:
			if v < 0 || v > math.MaxInt32 {
				continue
			}
			b = int32(v)
		default:
			continue // a NULL bucket (NULL key) or one the manifest lacks
		}
		out = append(out, storage.Bucket{Column: col, Count: bt.NumBuckets, Value: b})
	}
	return out
}
