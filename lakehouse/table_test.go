package lakehouse

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strconv"
	"testing"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// dataRows are the records in data files at each snapshot of tb (what the
// appends wrote, before deletes): the manifest counts live rows, and only
// appends add any.
func dataRows(tb harness.IcebergTable) []int64 {
	out := make([]int64, len(tb.Snapshots))
	var total, prev int64
	for i, s := range tb.Snapshots {
		if s.Operation == "append" {
			total += s.RowCount - prev
		}
		prev = s.RowCount
		out[i] = total
	}
	return out
}

func fileRows(fs []storage.File) int64 {
	var n int64
	for _, f := range fs {
		n += f.Rows
	}
	return n
}

func paths(fs []storage.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Path
	}
	return out
}

// TestTimeTravel pins every snapshot of four tables by id and by
// timestamp, in both catalogs, and checks them against the manifest.
func TestTimeTravel(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			c := fx.open(t)
			for _, name := range []string{"events", "eq_deleted", "pos_deleted", "evolved"} {
				tb := fx.manifest.Tables[name]
				tn := storage.TableName{Schema: fx.catalog + ".lake", Name: name}
				rows := dataRows(tb)
				snaps, err := c.Snapshots(t.Context(), tn)
				require.NoError(t, err)
				require.Len(t, snaps, len(tb.Snapshots), name)

				var prevFiles []string
				for i, s := range tb.Snapshots {
					got, err := c.Table(t.Context(), tn, AsOf{SnapshotID: s.SnapshotID})
					require.NoError(t, err, "%s snapshot %d", name, i+1)
					require.Equal(t, tn, got.Name)
					require.Equal(t, s.SnapshotID, got.Iceberg.SnapshotID)
					require.Equal(t, s.SequenceNumber, got.Iceberg.SequenceNumber)
					require.Equal(t, s.TimestampMS, got.Iceberg.TimestampMS)
					require.Equal(t, rows[i], got.Rows, "%s snapshot %d", name, i+1)
					require.Equal(t, rows[i], fileRows(got.Files), "%s snapshot %d", name, i+1)
					require.True(t, slices.IsSortedFunc(got.Files, func(a, b storage.File) int { return compareStrings(a.Path, b.Path) }))
					// Files only accumulate in these tables: a snapshot has
					// its parent's files and those it added.
					require.Subset(t, paths(got.Files), prevFiles, "%s snapshot %d", name, i+1)
					if i == 0 {
						require.NotEmpty(t, got.Files)
					}
					prevFiles = paths(got.Files)

					require.Equal(t, s.SnapshotID, snaps[i].SnapshotID)
					require.Equal(t, s.SequenceNumber, snaps[i].SequenceNumber)
					require.Equal(t, s.TimestampMS, snaps[i].TimestampMS)
					require.Equal(t, s.Operation, snaps[i].Operation)
					require.Equal(t, i == len(tb.Snapshots)-1, snaps[i].Current)
					require.Equal(t, strconv.FormatInt(rows[i], 10), snaps[i].Summary["total-records"])
					require.Equal(t, i > 0, snaps[i].HasParent)
					if i > 0 {
						require.Equal(t, tb.Snapshots[i-1].SnapshotID, snaps[i].ParentID)
					}

					// A timestamp between two commits picks the earlier; the
					// commit's own timestamp picks it.
					for _, ts := range []int64{s.TimestampMS, s.TimestampMS + 1} {
						if i+1 < len(tb.Snapshots) && ts >= tb.Snapshots[i+1].TimestampMS {
							continue
						}
						at, err := c.Table(t.Context(), tn, AsOf{TimestampMS: ts, HasTimestamp: true})
						require.NoError(t, err)
						require.Equal(t, s.SnapshotID, at.Iceberg.SnapshotID, "%s at %d", name, ts)
						require.Equal(t, got.Files, at.Files)
					}
				}

				cur, err := c.Table(t.Context(), tn, AsOf{})
				require.NoError(t, err)
				require.Equal(t, tb.CurrentSnapshotID, cur.Iceberg.SnapshotID)
				require.Equal(t, tb.MetadataLocation, cur.Iceberg.MetadataLocation)
				require.Equal(t, rows[len(rows)-1], cur.Rows)

				_, err = c.Table(t.Context(), tn, AsOf{TimestampMS: tb.Snapshots[0].TimestampMS - 1, HasTimestamp: true})
				require.ErrorIs(t, err, ErrSnapshotNotFound)
				require.Equal(t, errkind.NotFound, errkind.Of(err))
				require.ErrorContains(t, err, "has no snapshot at or before")

				_, err = c.Table(t.Context(), tn, AsOf{SnapshotID: 42})
				require.ErrorIs(t, err, ErrSnapshotNotFound)
				require.Equal(t, errkind.NotFound, errkind.Of(err))
				require.ErrorContains(t, err, "table "+tn.String()+" has no snapshot 42 (snapshots: "+strconv.FormatInt(tb.Snapshots[0].SnapshotID, 10)+"@")
			}
		})
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrowOf is the Arrow type a manifest's Iceberg type name reads as.
func arrowOf(t *testing.T, typ string) arrow.DataType {
	t.Helper()
	switch typ {
	case "int":
		return arrow.PrimitiveTypes.Int32
	case "long":
		return arrow.PrimitiveTypes.Int64
	case "float":
		return arrow.PrimitiveTypes.Float32
	case "double":
		return arrow.PrimitiveTypes.Float64
	case "string":
		return arrow.BinaryTypes.String
	case "boolean":
		return arrow.FixedWidthTypes.Boolean
	case "date":
		return arrow.FixedWidthTypes.Date32
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case "timestamptz":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case "decimal(10, 2)":
		return &arrow.Decimal128Type{Precision: 10, Scale: 2}
	}
	t.Fatalf("no Arrow type for %s", typ)
	return nil
}

// TestSchemas reads the current schema of every table as the manifest
// has it, and evolved's old snapshots with their own schema.
func TestSchemas(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			c := fx.open(t)
			for _, name := range fixtureTables {
				tb := fx.manifest.Tables[name]
				got, err := c.Table(t.Context(), storage.TableName{Schema: fx.catalog + ".lake", Name: name}, AsOf{})
				if name == "nested" {
					require.ErrorIs(t, err, ErrUnsupported)
					require.Equal(t, errkind.Unimplemented, errkind.Of(err))
					require.ErrorContains(t, err, "address is a struct")
					continue
				}
				require.NoError(t, err, name)
				require.Len(t, got.Columns, len(tb.SchemaFields), name)
				for i, f := range tb.SchemaFields {
					require.Equal(t, f.Name, got.Columns[i].Name, name)
					require.True(t, arrow.TypeEqual(arrowOf(t, f.Type), got.Columns[i].Type), "%s.%s: %s", name, f.Name, got.Columns[i].Type)
					require.Equal(t, f.ID, got.Iceberg.FieldIDs[i], name)
					require.Equal(t, f.Name != "id", got.Columns[i].Nullable, "%s.%s", name, f.Name)
				}
				require.Nil(t, got.Partitions)
				for _, f := range got.Files {
					require.Equal(t, len(got.Columns), f.Stats.Schema.NumFields())
					require.Equal(t, f.Rows, f.Stats.Rows)
					require.Len(t, f.Stats.RowGroups, 1)
				}
			}

			// evolved before its schema change: schema 0, in its order and
			// types; after it, the old files' int bounds read widened.
			ev := fx.manifest.Tables["evolved"]
			tn := storage.TableName{Schema: fx.catalog + ".lake", Name: "evolved"}
			old, err := c.Table(t.Context(), tn, AsOf{SnapshotID: ev.Snapshots[1].SnapshotID})
			require.NoError(t, err)
			require.Equal(t, 0, old.Iceberg.SchemaID)
			require.Equal(t, []int{1, 2, 3, 4, 5, 6}, old.Iceberg.FieldIDs)
			require.Equal(t, []storage.Column{
				{Name: "id", Type: arrow.PrimitiveTypes.Int32},
				{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "score", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
				{Name: "legacy", Type: arrow.BinaryTypes.String, Nullable: true},
				{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
				{Name: "cat", Type: arrow.BinaryTypes.String, Nullable: true},
			}, old.Columns)
			cur, err := c.Table(t.Context(), tn, AsOf{})
			require.NoError(t, err)
			require.NotEqual(t, 0, cur.Iceberg.SchemaID)
			idAt := slices.Index(cur.Iceberg.FieldIDs, 1)
			for _, f := range old.Files {
				i := slices.IndexFunc(cur.Files, func(g storage.File) bool { return g.Path == f.Path })
				require.GreaterOrEqual(t, i, 0)
				was, now := f.Stats.RowGroups[0].Columns[0], cur.Files[i].Stats.RowGroups[0].Columns[idAt]
				require.True(t, was.HasMinMax && now.HasMinMax)
				require.Equal(t, int64(was.Min.(int32)), now.Min)
				require.Equal(t, int64(was.Max.(int32)), now.Max)
				// The re-added legacy (a new field id) has no statistics in
				// files written before it.
				legacy := slices.Index(cur.Iceberg.FieldIDs, 7)
				require.Equal(t, storage.ColumnStats{}, cur.Files[i].Stats.RowGroups[0].Columns[legacy])
			}
		})
	}
}

// TestDeletionVectors reads dv_deleted's deletion vectors: one per data
// file that has deletes (the second delete replaced the first), whose runs
// hold exactly the rows the table lost, while its snapshots before the
// deletes carry none.
func TestDeletionVectors(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			c := fx.open(t)
			tn := storage.TableName{Schema: fx.catalog + ".lake", Name: "dv_deleted"}
			tb := fx.manifest.Tables["dv_deleted"]
			got, err := c.Table(t.Context(), tn, AsOf{})
			require.NoError(t, err)
			var deleted int64
			for _, f := range got.Files {
				for _, d := range f.Deletes {
					require.Equal(t, storage.DeletionVector, d.Kind, f.Path)
					require.NotEmpty(t, d.Positions, f.Path)
					var n int64
					for i, r := range d.Positions {
						require.Less(t, r.Start, r.End)
						require.LessOrEqual(t, r.End, f.Rows, "a position past the file's rows")
						if i > 0 {
							require.Less(t, d.Positions[i-1].End, r.Start, "runs are sorted and apart")
						}
						n += r.End - r.Start
					}
					require.Equal(t, d.Rows, n, f.Path)
					deleted += n
				}
				require.LessOrEqual(t, len(f.Deletes), 1, "one deletion vector per data file")
			}
			last := tb.Snapshots[len(tb.Snapshots)-1]
			require.Equal(t, last.RowCount, got.Rows-deleted, "the live rows")

			before, err := c.Table(t.Context(), tn, AsOf{SnapshotID: tb.Snapshots[1].SnapshotID})
			require.NoError(t, err)
			require.Equal(t, tb.Snapshots[1].RowCount, before.Rows)
			for _, f := range before.Files {
				require.Empty(t, f.Deletes, "no deletes before the first delete")
			}
		})
	}
}

// TestDecodeDeletionVector decodes a blob as the spec lays it out and
// refuses a damaged one.
func TestDecodeDeletionVector(t *testing.T) {
	bm := roaring64.New()
	bm.AddRange(3, 7)
	bm.Add(1 << 33) // a second 32-bit key
	var body bytes.Buffer
	body.Write(dvMagic)
	_, err := bm.WriteTo(&body)
	require.NoError(t, err)
	blob := binary.BigEndian.AppendUint32(nil, uint32(body.Len()))
	blob = append(blob, body.Bytes()...)
	blob = binary.BigEndian.AppendUint32(blob, crc32.ChecksumIEEE(body.Bytes()))

	got, err := decodeDeletionVector(blob)
	require.NoError(t, err)
	require.Equal(t, []storage.Slice{{Start: 3, End: 7}, {Start: 1 << 33, End: 1<<33 + 1}}, runs(got))

	damaged := slices.Clone(blob)
	damaged[len(damaged)-5] ^= 1
	_, err = decodeDeletionVector(damaged)
	require.ErrorContains(t, err, "checksum")
	_, err = decodeDeletionVector(blob[:len(blob)-1])
	require.ErrorContains(t, err, "bytes of bitmap")
	wrong := slices.Clone(blob)
	wrong[4] = 0
	_, err = decodeDeletionVector(wrong)
	require.ErrorContains(t, err, "magic")
}
