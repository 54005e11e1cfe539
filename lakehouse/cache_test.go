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
	"github.com/apache/iceberg-go/catalog"
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

// TestNewCommit changes a copy of the SQL catalog with iceberg-go and sees
// each change in the next Table call: an appended row (a new snapshot), a
// column added without a commit of data (the current schema, while the
// snapshot by id keeps its own), a column with an initial default
// (refused), a new empty table, and a name mapping (refused).
func TestNewCommit(t *testing.T) {
	fx := fixtures(t)[0]
	// A copy of the catalog file: the changes commit to it alone, so the
	// shared catalog keeps the manifest's snapshots (the new data and
	// metadata files land in the shared warehouse, which nothing lists).
	db := filepath.Join(t.TempDir(), "catalog.db")
	copyFile(t, fx.manifest.CatalogDB, db)
	spec := fx.spec
	spec.URI = "sqlite:" + db
	c, err := Open(t.Context(), []Spec{spec}, Options{MetadataCacheSize: 2})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	w := openWriter(t, db, fx.manifest.SQLCatalogName)
	id := table.Identifier{"lake", "hashed"}

	tn := storage.TableName{Schema: "ice.lake", Name: "hashed"}
	before, err := c.Table(t.Context(), tn, AsOf{})
	require.NoError(t, err)
	opens := c.opens.Load()

	w.appendRow(t, id)
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

	w.addColumn(t, id, "extra", nil)
	widened, err := c.Table(t.Context(), tn, AsOf{})
	require.NoError(t, err)
	require.Equal(t, after.Iceberg.SnapshotID, widened.Iceberg.SnapshotID)
	require.NotEqual(t, after.Iceberg.SchemaID, widened.Iceberg.SchemaID)
	require.Equal(t, append(after.Columns, storage.Column{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true}), widened.Columns)
	require.Equal(t, storage.ColumnStats{}, widened.Files[0].Stats.RowGroups[0].Columns[len(widened.Columns)-1])
	pinned, err := c.Table(t.Context(), tn, AsOf{SnapshotID: after.Iceberg.SnapshotID})
	require.NoError(t, err)
	require.Equal(t, after.Columns, pinned.Columns)

	// Defaults are v3: the table reads as v3 until it has one.
	w.upgrade(t, id, 3)
	_, err = c.Table(t.Context(), tn, AsOf{})
	require.NoError(t, err)
	w.addColumn(t, id, "defaulted", iceberg.NewLiteral("x"))
	_, err = c.Table(t.Context(), tn, AsOf{})
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "table ice.lake.hashed: column defaulted has an initial default (x)")

	empty := w.createTable(t, table.Identifier{"lake", "empty"})
	got, err := c.Table(t.Context(), storage.TableName{Schema: "ice.lake", Name: "empty"}, AsOf{})
	require.NoError(t, err)
	require.Equal(t, &storage.IcebergSnapshot{MetadataLocation: empty.MetadataLocation(), FieldIDs: []int{1}}, got.Iceberg)
	require.Empty(t, got.Files)
	require.Zero(t, got.Rows)
	require.Equal(t, []storage.Column{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, got.Columns)
	_, err = c.Table(t.Context(), storage.TableName{Schema: "ice.lake", Name: "empty"}, AsOf{SnapshotID: 1})
	require.ErrorIs(t, err, ErrSnapshotNotFound)
	require.ErrorContains(t, err, "(snapshots: none)")

	w.setProperty(t, table.Identifier{"lake", "empty"}, table.DefaultNameMappingKey, "[]")
	_, err = c.Table(t.Context(), storage.TableName{Schema: "ice.lake", Name: "empty"}, AsOf{})
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "table ice.lake.empty has a name mapping")
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

// writer changes a SQL catalog with iceberg-go.
type writer struct{ cat *sqlcat.Catalog }

// openWriter opens the SQL catalog in file db for writing.
func openWriter(t *testing.T, db, catalogName string) *writer {
	t.Helper()
	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+db)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sqldb.Close()) })
	cat, err := sqlcat.NewCatalog(catalogName, sqldb, sqlcat.SQLite, iceberg.Properties{"init_catalog_tables": "false"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cat.Close()) })
	return &writer{cat: cat}
}

// appendRow commits one row (id 1<<40, name "zz-new", qty 7) to table id
// (lake.hashed's columns).
func (w *writer) appendRow(t *testing.T, id table.Identifier) {
	t.Helper()
	tbl, err := w.cat.LoadTable(t.Context(), id)
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

// addColumn adds an optional string column to table id, with initial
// default def (nil for none), committing no data.
func (w *writer) addColumn(t *testing.T, id table.Identifier, name string, def iceberg.Literal) {
	t.Helper()
	tbl, err := w.cat.LoadTable(t.Context(), id)
	require.NoError(t, err)
	txn := tbl.NewTransaction()
	require.NoError(t, txn.UpdateSchema(true, false).AddColumn([]string{name}, iceberg.PrimitiveTypes.String, "", false, def).Commit())
	_, err = txn.Commit(t.Context())
	require.NoError(t, err)
}

// upgrade upgrades table id to format version v.
func (w *writer) upgrade(t *testing.T, id table.Identifier, v int) {
	t.Helper()
	tbl, err := w.cat.LoadTable(t.Context(), id)
	require.NoError(t, err)
	txn := tbl.NewTransaction()
	require.NoError(t, txn.UpgradeFormatVersion(v))
	_, err = txn.Commit(t.Context())
	require.NoError(t, err)
}

// setProperty sets a property of table id.
func (w *writer) setProperty(t *testing.T, id table.Identifier, key, value string) {
	t.Helper()
	tbl, err := w.cat.LoadTable(t.Context(), id)
	require.NoError(t, err)
	txn := tbl.NewTransaction()
	require.NoError(t, txn.SetProperties(iceberg.Properties{key: value}))
	_, err = txn.Commit(t.Context())
	require.NoError(t, err)
}

// createTable creates table id with one required long column, id.
func (w *writer) createTable(t *testing.T, id table.Identifier) *table.Table {
	t.Helper()
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	tbl, err := w.cat.CreateTable(t.Context(), id, sc, catalog.WithLocation("file://"+t.TempDir()))
	require.NoError(t, err)
	return tbl
}
