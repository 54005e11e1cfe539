package lakehouse

import (
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/driver/sqliteshim"

	"github.com/quiver-data/quiver/storage"
)

// TestCache plans a snapshot once: the same snapshot again, current or by
// id, opens no manifest, another snapshot does.
func TestCache(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			c := fx.open(t)
			tn := storage.TableName{Schema: fx.catalog + ".lake", Name: "events"}
			tb := fx.manifest.Tables["events"]
			first, err := c.Table(t.Context(), tn, AsOf{})
			require.NoError(t, err)
			opens := c.opens.Load()
			require.Positive(t, opens)
			again, err := c.Table(t.Context(), tn, AsOf{})
			require.NoError(t, err)
			require.Equal(t, opens, c.opens.Load())
			require.Equal(t, first, again)
			// Callers own their Files slice.
			again.Files[0] = storage.File{}
			third, err := c.Table(t.Context(), tn, AsOf{SnapshotID: tb.CurrentSnapshotID})
			require.NoError(t, err)
			require.Equal(t, first.Files, third.Files)
			require.Equal(t, opens, c.opens.Load())

			_, err = c.Table(t.Context(), tn, AsOf{SnapshotID: tb.Snapshots[0].SnapshotID})
			require.NoError(t, err)
			require.Greater(t, c.opens.Load(), opens)
		})
	}
}

// TestNewCommit appends a row to a copy of the SQL catalog with iceberg-go
// and sees the next Table call pin the new snapshot.
func TestNewCommit(t *testing.T) {
	fx := fixtures(t)[0]
	// A copy of the catalog file: the append commits to it alone, so the
	// shared catalog keeps the manifest's snapshots (the new data and
	// metadata files land in the shared warehouse, which nothing lists).
	db := filepath.Join(t.TempDir(), "catalog.db")
	copyFile(t, fx.manifest.CatalogDB, db)
	spec := fx.spec
	spec.URI = "sqlite:" + db
	c, err := Open(t.Context(), []Spec{spec}, Options{MetadataCacheSize: 2})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()

	tn := storage.TableName{Schema: "ice.lake", Name: "hashed"}
	before, err := c.Table(t.Context(), tn, AsOf{})
	require.NoError(t, err)
	opens := c.opens.Load()

	appendRow(t, db, fx.manifest.SQLCatalogName, table.Identifier{"lake", "hashed"})

	after, err := c.Table(t.Context(), tn, AsOf{})
	require.NoError(t, err)
	require.NotEqual(t, before.Iceberg.SnapshotID, after.Iceberg.SnapshotID)
	require.NotEqual(t, before.Iceberg.MetadataLocation, after.Iceberg.MetadataLocation)
	require.Greater(t, after.Iceberg.SequenceNumber, before.Iceberg.SequenceNumber)
	require.Equal(t, before.Rows+1, after.Rows)
	require.Subset(t, paths(after.Files), paths(before.Files))
	require.Len(t, after.Files, len(before.Files)+1)
	require.Greater(t, c.opens.Load(), opens)

	// The old snapshot is still planned (the cache holds 2 plans).
	opens = c.opens.Load()
	old, err := c.Table(t.Context(), tn, AsOf{SnapshotID: before.Iceberg.SnapshotID})
	require.NoError(t, err)
	require.Equal(t, before.Files, old.Files)
	require.Equal(t, opens, c.opens.Load())
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer func() { require.NoError(t, in.Close()) }()
	out, err := os.Create(to)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}

// appendRow commits one row (id 1<<40, name "zz-new", qty 7) to table id
// of the SQL catalog in file db, with iceberg-go.
func appendRow(t *testing.T, db, catalogName string, id table.Identifier) {
	t.Helper()
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+db)
	require.NoError(t, err)
	defer func() { require.NoError(t, sqldb.Close()) }()
	cat, err := sqlcat.NewCatalog(catalogName, sqldb, sqlcat.SQLite, iceberg.Properties{"init_catalog_tables": "false"})
	require.NoError(t, err)
	defer func() { require.NoError(t, cat.Close()) }()
	tbl, err := cat.LoadTable(t.Context(), id)
	require.NoError(t, err)

	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1 << 40)
	b.Field(1).(*array.StringBuilder).Append("zz-new")
	b.Field(2).(*array.Int32Builder).Append(7)
	rec := b.NewRecordBatch()
	defer rec.Release()
	at := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	defer at.Release()
	_, err = tbl.AppendTable(t.Context(), at, 1, nil)
	require.NoError(t, err)
}
