package planner

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// snapshotCatalog is a fakeCatalog whose tables have snapshots: TableAt
// records what it was asked.
type snapshotCatalog struct {
	fakeCatalog
	asked []storage.AsOf
	at    map[int64]*storage.Table
}

func (c *snapshotCatalog) TableAt(_ context.Context, n storage.TableName, at storage.AsOf) (*storage.Table, error) {
	c.asked = append(c.asked, at)
	if t, ok := c.at[at.SnapshotID]; ok && t.Name == n {
		return t, nil
	}
	return nil, fmt.Errorf("no snapshot %d: %w", at.SnapshotID, ErrSnapshotNotFound)
}

// icebergFixture writes two data files of an evolved table and delete
// files for the first with DuckDB, as an Iceberg writer would: old.parquet
// has id as INTEGER (field 1) and the column since renamed as nm (field
// 2); new.parquet has id BIGINT, full_name and extra (field 3). Rows 0 and
// 2 of old.parquet are position-deleted (named by a file:/ URL, as Java
// writers spell it), and an equality delete on id removes id 4 and NULL
// ids from old.parquet only (it applies to older files).
func icebergFixture(t *testing.T, db *engine.DB) *storage.Table {
	t.Helper()
	dir := t.TempDir()
	oldFile, newFile := filepath.Join(dir, "old.parquet"), filepath.Join(dir, "new.parquet")
	pos, eq := filepath.Join(dir, "pos.parquet"), filepath.Join(dir, "eq.parquet")
	for _, stmt := range []string{
		fmt.Sprintf(`COPY (SELECT * FROM (VALUES (1::INTEGER, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (NULL, 'n')) v(id, nm)) TO '%s' (FIELD_IDS {id: 1, nm: 2})`, oldFile),
		fmt.Sprintf(`COPY (SELECT * FROM (VALUES (4::BIGINT, 'D', 'x'), (5, 'e', NULL), (NULL, 'N', 'y')) v(id, full_name, extra)) TO '%s' (FIELD_IDS {id: 1, full_name: 2, extra: 3})`, newFile),
		fmt.Sprintf(`COPY (SELECT * FROM (VALUES ('file:%s', 0::BIGINT), ('file:%s', 2), ('file:///elsewhere.parquet', 1)) v(file_path, pos)) TO '%s'`, oldFile, oldFile, pos),
		fmt.Sprintf(`COPY (SELECT * FROM (VALUES (4::BIGINT), (NULL)) v(key)) TO '%s' (FIELD_IDS {key: 1})`, eq),
	} {
		_, err := db.SQL().Exec(stmt)
		require.NoError(t, err, stmt)
	}
	name := storage.TableName{Schema: "lake.ns", Name: "t"}
	return &storage.Table{
		Name: name,
		Columns: []storage.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "full_name", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true},
		},
		Iceberg: &storage.IcebergSnapshot{SnapshotID: 3, FieldIDs: []int{1, 2, 3}},
		Files: []storage.File{
			{Object: storage.Object{Key: oldFile}, URI: oldFile, Path: "file://" + oldFile, Rows: 5, Deletes: []storage.DeleteFile{
				{Kind: storage.PositionDeletes, Path: "file://" + pos, URI: pos, Rows: 3},
				{Kind: storage.EqualityDeletes, Path: "file://" + eq, URI: eq, EqualityIDs: []int{1}, Rows: 2},
			}},
			{Object: storage.Object{Key: newFile}, URI: newFile, Path: "file://" + newFile, Rows: 3},
		},
	}
}

// TestIcebergSource runs the fragments the planner writes for an Iceberg
// table: columns by field id (renamed, widened, added), position deletes
// by file and row, equality deletes (NULL matching NULL) only on the files
// they apply to, and time travel to another snapshot under its own name.
func TestIcebergSource(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	tbl := icebergFixture(t, db)
	empty := &storage.Table{Name: tbl.Name, Columns: tbl.Columns[:2], Iceberg: &storage.IcebergSnapshot{SnapshotID: 1, FieldIDs: []int{1, 2}}}
	cat := &snapshotCatalog{fakeCatalog: fakeCatalog{tbl.Name: tbl}, at: map[int64]*storage.Table{1: empty}}
	p := New(Options{Parser: db, Catalog: cat, TypeName: engine.DuckDBType})

	run := func(sql string) string {
		t.Helper()
		plan, err := p.Plan(ctx, sql)
		require.NoError(t, err, sql)
		require.Len(t, plan.Fragments, 1)
		rows, err := db.SQL().QueryContext(ctx, plan.Fragments[0].SQL)
		require.NoError(t, err, plan.Fragments[0].SQL)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, name, extra any
			require.NoError(t, rows.Scan(&id, &name, &extra))
			out = append(out, fmt.Sprint(id, "/", name, "/", extra))
		}
		require.NoError(t, rows.Err())
		return strings.Join(out, " ")
	}
	// old.parquet keeps row 1 (id 2, b) and row 3 … which is id 4: the
	// equality delete removes it; NULL id (row 4) matches the NULL delete
	// row. new.parquet is older than no delete: all three rows stay.
	require.Equal(t, "2/b/<nil> 4/D/x 5/e/<nil> <nil>/N/y",
		run("SELECT id, full_name, extra FROM lake.ns.t ORDER BY id NULLS LAST, full_name"))
	require.Equal(t, "2/b/<nil> 4/D/x 5/e/<nil>",
		run("SELECT t.id, t.full_name, t.extra FROM lake.ns.t AS t WHERE t.id IS NOT NULL ORDER BY 1"))

	// Another snapshot: its own (empty) table and schema, next to the
	// current one in the same query.
	plan, err := p.Plan(ctx, "SELECT (SELECT count(*) FROM lake.ns.t), (SELECT count(*) FROM lake.ns.t AT (VERSION => 1))")
	require.NoError(t, err)
	require.Equal(t, []storage.AsOf{{SnapshotID: 1}}, cat.asked)
	var names []string
	for _, pt := range plan.Tables {
		names = append(names, pt.Name.String())
	}
	require.ElementsMatch(t, []string{"lake.ns.t", "lake.ns.t@v1"}, names)
	var current, old int64
	require.NoError(t, db.SQL().QueryRowContext(ctx, plan.Fragments[0].SQL).Scan(&current, &old))
	require.Equal(t, [2]int64{4, 0}, [2]int64{current, old})

	for _, c := range []struct{ sql, msg string }{
		{"SELECT * FROM lake.ns.t AT (VERSION => 9)", "no snapshot 9"},
		{"SELECT * FROM lake.ns.t AT (VERSION => 'x')", "takes a snapshot id"},
		{"SELECT * FROM lake.ns.t AT (TIMESTAMP => now())", "timestamp literal"},
		{"SELECT * FROM lake.ns.t AT (TIMESTAMP => 'yesterday')", `cannot read "yesterday"`},
	} {
		_, err := p.Plan(ctx, c.sql)
		require.ErrorContains(t, err, c.msg, c.sql)
	}
}

func TestAsOfLiterals(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for _, c := range []struct {
		at   string
		want storage.AsOf
	}{
		{"VERSION => 1156324690453001284", storage.AsOf{SnapshotID: 1156324690453001284}},
		{"TIMESTAMP => TIMESTAMP '2026-12-07 10:00:00.123456'", storage.AsOf{TimestampMS: 1796637600123, HasTimestamp: true}},
		{"TIMESTAMP => '2026-12-07 11:00:00+01'", storage.AsOf{TimestampMS: 1796637600000, HasTimestamp: true}},
		{"TIMESTAMP => TIMESTAMPTZ '2026-12-07T10:00:00Z'", storage.AsOf{TimestampMS: 1796637600000, HasTimestamp: true}},
		{"TIMESTAMP => DATE '2026-12-07'", storage.AsOf{TimestampMS: 1796601600000, HasTimestamp: true}},
	} {
		p := &Planner{opts: Options{Parser: db}}
		stmt, err := p.parse(ctx, "SELECT * FROM c.s.t AT ("+c.at+")")
		require.NoError(t, err)
		refs := tableRefs(stmt.node)
		require.Len(t, refs, 1)
		require.NoError(t, refs[0].atErr, c.at)
		require.Equal(t, c.want, refs[0].at, c.at)
		require.Equal(t, "t"+c.want.Suffix(), refs[0].name.Name)
		require.Equal(t, "t", refs[0].base.Name)
	}
}

// TestIcebergDeletionVectors removes the positions a deletion vector's
// runs name from its data file only, next to the other file's position
// and equality deletes.
func TestIcebergDeletionVectors(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	tbl := icebergFixture(t, db)
	// new.parquet: (4, D, x), (5, e, NULL), (NULL, N, y); delete rows 0 and 2.
	tbl.Files[1].Deletes = []storage.DeleteFile{{Kind: storage.DeletionVector, Path: "file:///dv.puffin", Rows: 2,
		Positions: []storage.Slice{{Start: 0, End: 1}, {Start: 2, End: 3}}}}
	p := New(Options{Parser: db, Catalog: fakeCatalog{tbl.Name: tbl}, TypeName: engine.DuckDBType})
	plan, err := p.Plan(ctx, "SELECT string_agg(concat_ws('/', id, full_name), ' ' ORDER BY id NULLS LAST, full_name) FROM lake.ns.t")
	require.NoError(t, err)
	require.Len(t, plan.Fragments, 1)
	require.Contains(t, plan.Fragments[0].SQL, "'0-1,2-3'")
	var got string
	require.NoError(t, db.SQL().QueryRowContext(ctx, plan.Fragments[0].SQL).Scan(&got))
	require.Equal(t, "2/b 5/e", got, "old.parquet keeps 2/b (position and equality deletes), new.parquet only 5/e")

	// A deletion vector of a large run.
	tbl.Files[1].Deletes[0].Positions = []storage.Slice{{Start: 1, End: 1 << 20}}
	plan, err = p.Plan(ctx, "SELECT count(*) FROM lake.ns.t")
	require.NoError(t, err)
	var n int64
	require.NoError(t, db.SQL().QueryRowContext(ctx, plan.Fragments[0].SQL).Scan(&n))
	require.Equal(t, int64(2), n, "2/b from old.parquet, 4/D from new.parquet")
}
