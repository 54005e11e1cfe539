package prune

import (
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// testResolver resolves `col` and `t.col`; any other qualifier is
// another table.
func testResolver(names []string) (string, bool) {
	switch {
	case len(names) == 1:
		return names[0], true
	case len(names) == 2 && names[0] == "t":
		return names[1], true
	}
	return "", false
}

// where parses `SELECT * FROM t WHERE <pred>` with DuckDB's parser and
// returns the WHERE tree.
func parseWhere(t *testing.T, db *engine.DB, pred string) ast.Node {
	t.Helper()
	raw, err := db.Serialize(context.Background(), "SELECT * FROM t WHERE "+pred)
	require.NoError(t, err)
	tree, err := ast.Decode(raw)
	require.NoError(t, err)
	require.Equal(t, false, tree["error"], "parse %s: %v", pred, tree)
	stmts, _ := tree[ast.FieldStatements].([]any)
	require.Len(t, stmts, 1)
	where := stmts[0].(ast.Node).Child(ast.FieldNode).Child(ast.FieldWhere)
	require.NotNil(t, where, pred)
	return where
}

func openPruneDB(t *testing.T) *engine.DB {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// fileNames are the base names of files' parent directories and names,
// enough to tell the fixtures' files apart.
func fileNames(files []storage.File) []string {
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, path.Base(path.Dir(f.URI))+"/"+path.Base(f.URI))
	}
	return out
}

func TestPruneFilesPartitions(t *testing.T) {
	db := openPruneDB(t)
	def := storage.HiveDefaultPartition
	parts := [][3]string{ // day, n, s
		{"2025-01-01", "1", "a"},
		{"2025-01-02", "2", "b"},
		{"2025-01-03", "10", "c"},
		{def, def, def},
		{"2025-01-05", "-3", "a b"},
	}
	tbl := &storage.Table{
		Name: storage.TableName{Schema: "s", Name: "t"},
		Columns: []storage.Column{
			{Name: "x", Type: arrow.PrimitiveTypes.Int64},
			{Name: "day", Type: arrow.FixedWidthTypes.Date32},
			{Name: "n", Type: arrow.PrimitiveTypes.Int64},
			{Name: "s", Type: arrow.BinaryTypes.String},
		},
	}
	tbl.Partitions = tbl.Columns[1:]
	for i, p := range parts {
		tbl.Files = append(tbl.Files, storage.File{
			URI:       fmt.Sprintf("/wh/s/t/f%d/data.parquet", i),
			Partition: map[string]string{"day": p[0], "n": p[1], "s": p[2]},
		})
	}
	all := []int{0, 1, 2, 3, 4}
	cases := []struct {
		name string
		pred string // "" is a nil WHERE
		keep []int
	}{
		{"no where", "", all},
		{"date equals date literal", "day = DATE '2025-01-02'", []int{1}},
		{"date equals string literal", "day = '2025-01-02'", []int{1}},
		{"date between", "day BETWEEN '2025-01-02' AND DATE '2025-01-03'", []int{1, 2}},
		{"date in", "day IN ('2025-01-01', DATE '2025-01-05')", []int{0, 4}},
		{"date not in", "day NOT IN ('2025-01-01')", []int{1, 2, 4}},
		{"date greater", "day > '2025-01-02'", []int{2, 4}},
		{"date at most", "day <= '2025-01-01'", []int{0}},
		{"date vs midnight timestamp", "day = TIMESTAMP '2025-01-02 00:00:00'", []int{1}},
		{"date vs timestamp within a day", "day = TIMESTAMP '2025-01-02 10:00:00'", all},
		{"date vs unparseable text", "day = '2025-1-2'", all},
		{"default partition is null", "day IS NULL", []int{3}},
		{"is not null", "day IS NOT NULL", []int{0, 1, 2, 4}},
		{"int equals", "n = 2", []int{1}},
		{"int vs decimal", "n > 1.5", []int{1, 2}},
		{"int vs decimal at most", "n <= 1.5", []int{0, 4}},
		{"int vs double", "n < 2.0e0", []int{0, 4}},
		{"int never equals a fraction", "n = 2.5", []int{}},
		{"int vs string literal", "n = '10'", []int{2}},
		{"constant on the left", "3 > n", []int{0, 1, 4}},
		{"not equal", "n <> 2", []int{0, 2, 4}},
		{"not folded by the parser", "NOT (n = 2)", []int{0, 2, 4}},
		{"int cast constant", "n = CAST(10 AS BIGINT)", []int{2}},
		{"int in with null", "n IN (2, NULL)", []int{1}},
		{"string equals unescaped value", "s = 'a b'", []int{4}},
		{"string range", "s >= 'b'", []int{1, 2}},
		{"or across columns", "s = 'a' OR day = '2025-01-03'", []int{0, 2}},
		{"or of ands", "(n = 1 AND s = 'b') OR n = 10", []int{2}},
		{"or with is null", "n = 2 OR n IS NULL", []int{1, 3}},
		{"and with an unknown file column", "s = 'a' AND x = 5", []int{0}},
		{"or with an unknown file column", "s = 'a' OR x = 5", all},
		{"qualified by the alias", "t.s = 'a'", []int{0}},
		{"other table", "other.s = 'a'", all},
		{"parameter", "day = $1", all},
		{"positional parameter", "n = ?", all},
		{"cast of the column", "day::DATE = '2025-01-02'", all},
		{"cast of the column to text", "CAST(n AS VARCHAR) = '2'", all},
		{"function of the column", "n + 0 = 2", all},
		{"lower", "lower(s) = 'a'", all},
		{"like", "s LIKE 'a%'", all},
		{"subquery", "n IN (SELECT 1)", all},
		{"not between", "n NOT BETWEEN 1 AND 2", all},
		{"null constant", "n = NULL", all},
		{"type mismatch", "s = 1", all},
		{"is distinct from", "n IS DISTINCT FROM 2", all},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var where ast.Node
			if tc.pred != "" {
				where = parseWhere(t, db, tc.pred)
			}
			got, err := Files(context.Background(), tbl, where, testResolver, nil)
			require.NoError(t, err)
			want := make([]storage.File, 0, len(tc.keep))
			for _, i := range tc.keep {
				want = append(want, tbl.Files[i])
			}
			require.Equal(t, fileNames(want), fileNames(got))
		})
	}
}

// writeParquet runs COPY (query) TO dir/key with small row groups.
func writeParquet(t *testing.T, db *engine.DB, dir, key, query string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	_, err := db.SQL().ExecContext(context.Background(),
		fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, ROW_GROUP_SIZE 2048)", query, engine.QuoteString(p)))
	require.NoError(t, err, query)
}

// statsColumns are the file columns of the statistics fixtures, for rows
// numbered i.
const statsColumns = `i AS id,
	i / 10 AS val,
	'name_' || lpad(i::VARCHAR, 6, '0') AS name,
	TIMESTAMP '2025-01-01 00:00:00' + to_seconds(i) AS ts,
	TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i) AS tz,
	DATE '2025-01-01' + (i // 1000)::INTEGER AS d,
	(i / 100)::DECIMAL(10, 2) AS dec,
	i >= 10000 AS flag,
	CASE WHEN i >= 20000 THEN i END AS sparse,
	(i % 100)::TINYINT AS small`

func TestPruneFilesStatistics(t *testing.T) {
	ctx := context.Background()
	db := openPruneDB(t)
	dir := t.TempDir()
	rows := func(lo, hi int) string {
		return fmt.Sprintf("SELECT %s FROM range(%d, %d) r(i)", statsColumns, lo, hi)
	}
	// a: three row groups over ids 0..6143; gap: two row groups far apart
	// (ids 0..2047 and 30000..32047); b: 10000..16143; c: 20000..26143.
	writeParquet(t, db, dir, "s/t/a.parquet", rows(0, 6144)+" ORDER BY id")
	writeParquet(t, db, dir, "s/t/b.parquet", rows(10000, 16144)+" ORDER BY id")
	writeParquet(t, db, dir, "s/t/c.parquet", rows(20000, 26144)+" ORDER BY id")
	writeParquet(t, db, dir, "s/t/gap.parquet", "SELECT * FROM ("+rows(0, 2048)+" UNION ALL "+rows(30000, 32048)+") ORDER BY id")

	w, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	tbl, err := w.Table(ctx, storage.TableName{Schema: "s", Name: "t"})
	require.NoError(t, err)
	require.Equal(t, []string{"t/a.parquet", "t/b.parquet", "t/c.parquet", "t/gap.parquet"}, fileNames(tbl.Files))
	for _, f := range tbl.Files {
		ft, err := w.Footer(ctx, f)
		require.NoError(t, err)
		require.Greater(t, len(ft.RowGroups), 1, "%s must have several row groups", f.Key)
	}
	for _, c := range tbl.Columns {
		t.Logf("%s %s", c.Name, c.Type)
	}

	all := []string{"a", "b", "c", "gap"}
	cases := []struct {
		name string
		pred string
		keep []string
	}{
		{"int equals in a middle row group", "id = 5000", []string{"a"}},
		{"int equals between row groups of one file", "id = 20000", []string{"c"}},
		{"gap between row groups", "id BETWEEN 3000 AND 9000", []string{"a"}},
		{"no row group matches", "id = 8000", []string{}},
		{"int range", "id >= 16000", []string{"b", "c", "gap"}},
		{"int in", "id IN (1, 31000)", []string{"a", "gap"}},
		{"int vs decimal", "id > 26142.5", []string{"c", "gap"}},
		{"int vs decimal above every value", "id > 32047.5", []string{}},
		{"double min bounds", "val < 500", []string{"a", "gap"}},
		{"double max is no bound (NaN)", "val > 100000", all},
		{"double equals uses min only", "val = 1500.0", []string{"a", "b", "gap"}},
		{"string min bounds", "name < 'name_010000'", []string{"a", "gap"}},
		{"string equals uses min only", "name = 'name_000005'", []string{"a", "gap"}},
		{"string max is no bound", "name > 'zzz'", all},
		{"timestamp", "ts < TIMESTAMP '2025-01-01 00:00:05'", []string{"a", "gap"}},
		{"timestamp string literal", "ts >= '2025-01-01 08:00:00'", []string{"gap"}},
		{"timestamp with time zone", "tz >= TIMESTAMPTZ '2025-01-01 05:00:00+02'", []string{"b", "c", "gap"}},
		{"timestamp with time zone needs an offset", "tz >= TIMESTAMPTZ '2025-01-01 08:00:00'", all},
		{"date", "d = DATE '2025-01-11'", []string{"b"}},
		{"decimal", "dec < 1.5", []string{"a", "gap"}},
		{"decimal vs int", "dec >= 300", []string{"gap"}},
		{"bare boolean", "flag", []string{"b", "c", "gap"}},
		{"boolean false", "flag = false", []string{"a", "gap"}},
		{"all null row groups", "sparse IS NOT NULL", []string{"c", "gap"}},
		{"no nulls", "sparse IS NULL", []string{"a", "b", "gap"}},
		{"comparison with all null", "sparse < 100000", []string{"c", "gap"}},
		{"tinyint out of range", "small = 300", []string{}},
		{"or of row groups", "id = 100 OR id = 12000", []string{"a", "b", "gap"}},
		{"function of the column", "id + 1 = 5000", all},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Files(ctx, tbl, parseWhere(t, db, tc.pred), testResolver, w)
			require.NoError(t, err)
			want := make([]string, 0, len(tc.keep))
			for _, k := range tc.keep {
				want = append(want, "t/"+k+".parquet")
			}
			require.Equal(t, want, fileNames(got))
			require.Equal(t, count(t, db, tbl, tbl.Files, tc.pred), count(t, db, tbl, got, tc.pred), "rows lost")
		})
	}

	t.Run("without footers only partitions prune", func(t *testing.T) {
		got, err := Files(ctx, tbl, parseWhere(t, db, "id = 5000"), testResolver, nil)
		require.NoError(t, err)
		require.Equal(t, tbl.Files, got)
	})
	t.Run("footer errors are returned", func(t *testing.T) {
		_, err := Files(ctx, tbl, parseWhere(t, db, "id = 5000"), testResolver, failingFooters{})
		require.ErrorIs(t, err, storage.ErrCorruptFile)
	})
}

// TestPruneFilesNaN writes, with arrow-go, a float column whose min/max
// statistics leave NaN out (as parquet-cpp and parquet-mr writers do); DuckDB
// orders NaN above every number, so the max must not prune.
func TestPruneFilesNaN(t *testing.T) {
	ctx := context.Background()
	db := openPruneDB(t)
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	sc := arrow.NewSchema([]arrow.Field{{Name: "val", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewFloat64Builder(mem)
	b.AppendValues([]float64{1, math.NaN(), 2}, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()
	tbl := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	defer tbl.Release()
	p := filepath.Join(dir, "s", "nan", "f.parquet")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	out, err := os.Create(p)
	require.NoError(t, err)
	props := parquet.NewWriterProperties(parquet.WithAllocator(mem), parquet.WithStats(true))
	// WriteTable closes the file.
	require.NoError(t, pqarrow.WriteTable(tbl, out, 3, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem))))

	w, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	table, err := w.Table(ctx, storage.TableName{Schema: "s", Name: "nan"})
	require.NoError(t, err)
	ft, err := w.Footer(ctx, table.Files[0])
	require.NoError(t, err)
	st := ft.RowGroups[0].Columns[0]
	require.True(t, st.HasMinMax)
	require.Equal(t, 2.0, st.Max, "the writer left NaN out of the max")

	cases := []struct {
		pred string
		kept int
	}{
		{"val > 5", 1},
		{"val <> 1", 1},
		{"val = 'nan'::DOUBLE", 1},
		{"val < 1", 0},
		{"val = 0.5", 0},
	}
	for _, tc := range cases {
		t.Run(tc.pred, func(t *testing.T) {
			got, err := Files(ctx, table, parseWhere(t, db, tc.pred), testResolver, w)
			require.NoError(t, err)
			require.Len(t, got, tc.kept)
			require.Equal(t, count(t, db, table, table.Files, tc.pred), count(t, db, table, got, tc.pred))
		})
	}
}

type failingFooters struct{}

func (failingFooters) Footer(context.Context, storage.File) (*storage.Footer, error) {
	return nil, storage.ErrCorruptFile
}

// count is DuckDB's count of rows of files satisfying pred.
func count(t *testing.T, db *engine.DB, tbl *storage.Table, files []storage.File, pred string) int64 {
	t.Helper()
	if len(files) == 0 {
		return 0
	}
	uris := make([]string, len(files))
	for i, f := range files {
		uris[i] = engine.QuoteString(f.URI)
	}
	src := "read_parquet([" + strings.Join(uris, ", ") + "]"
	if len(tbl.Partitions) > 0 {
		types := make([]string, len(tbl.Partitions))
		for i, p := range tbl.Partitions {
			typ, err := engine.DuckDBType(p.Type)
			require.NoError(t, err)
			types[i] = engine.QuoteString(p.Name) + ": " + engine.QuoteString(typ)
		}
		src += ", hive_partitioning = true, hive_types = {" + strings.Join(types, ", ") + "}"
	}
	src += ")"
	var n int64
	require.NoError(t, db.SQL().QueryRowContext(context.Background(),
		"SELECT count(*) FROM "+src+" AS t WHERE "+pred).Scan(&n), pred)
	return n
}

func TestPruneFilesDifferential(t *testing.T) {
	ctx := context.Background()
	db := openPruneDB(t)
	dir := t.TempDir()
	cols := `i AS id,
		CASE WHEN i % 97 = 0 THEN 'nan'::DOUBLE WHEN i % 89 = 0 THEN NULL ELSE (i % 1000) / 8 END AS val,
		CASE WHEN i % 7 = 0 THEN NULL ELSE chr((97 + (i // 700) % 26)::INTEGER) || repeat('x', 40 + i % 50) END AS name,
		TIMESTAMP '2025-01-01 00:00:00' + to_milliseconds(i * 1500) AS ts,
		(TIMESTAMP '2025-01-01 00:00:00' + to_milliseconds(i * 1500))::TIMESTAMP_MS AS ts_ms,
		make_timestamp_ns(1735689600000000000 + i * 1500000000 + i % 2) AS ts_ns,
		TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_milliseconds(i * 1500) AS tz,
		(i / 4)::DECIMAL(8, 2) AS dec,
		CASE WHEN i % 11 = 0 THEN NULL ELSE i / 8 END AS num,
		(i / 8)::FLOAT AS f32,
		i::UINTEGER AS u32,
		i % 3 = 0 AS flag,
		CASE WHEN i >= 4000 THEN i % 13 END AS sparse`
	parts := []string{"day=2025-01-01/k=a", "day=2025-01-01/k=b", "day=2025-01-02/k=a%20b", "day=2025-01-03/k=" + storage.HiveDefaultPartition,
		"day=" + storage.HiveDefaultPartition + "/k=c", "day=2025-01-04/k=b"}
	for i, p := range parts {
		q := fmt.Sprintf("SELECT %s FROM range(%d, %d) r(i) ORDER BY id", cols, i*1500, i*1500+4100)
		writeParquet(t, db, dir, "s/p/"+p+"/data.parquet", q)
	}
	w, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)
	tbl, err := w.Table(ctx, storage.TableName{Schema: "s", Name: "p"})
	require.NoError(t, err)
	require.Len(t, tbl.Files, len(parts))

	preds := []string{
		"day = '2025-01-02'",
		"day >= DATE '2025-01-03'",
		"day IS NULL",
		"day IS NOT NULL AND k = 'a b'",
		"k IN ('a', 'c')",
		"k > 'a'",
		"k IS NULL OR id < 100",
		"id BETWEEN 3000 AND 3500",
		"id = 8999",
		"id < 1500 OR id > 8000",
		"id > 7000.5",
		"id >= 9e3",
		"id NOT IN (1, 2, 3)",
		"id <> 42",
		"val < 0",
		"val <= 0.125",
		"val > 100",
		"val = 'nan'::DOUBLE",
		"val >= 124.875",
		"val IS NULL",
		"name < 'b'",
		"name = 'a'",
		"name >= 'm'",
		"name IS NULL AND id > 5000",
		"ts < TIMESTAMP '2025-01-01 01:00:00'",
		"ts > '2025-01-01 03:00:00'",
		"ts = '2025-01-01 00:00:01.5'",
		"ts BETWEEN DATE '2025-01-01' AND TIMESTAMP '2025-01-01 00:30:00'",
		"ts_ms > '2025-01-01 03:00:00.0005'",
		"ts_ms <= '2025-01-01 01:00:00.001'",
		"ts_ns <= TIMESTAMP '2025-01-01 00:30:00'",
		"ts_ns > '2025-01-01 04:00:00.000000001'",
		"ts_ns = TIMESTAMP_NS '2025-01-01 00:00:01.500000000'",
		"tz < TIMESTAMPTZ '2025-01-01 01:00:00+01'",
		"tz >= '2025-01-01 03:00:00Z'",
		"tz > '2025-01-01 05:00:00+0200'",
		"tz <= '2025-01-01 02:00:00-01:30'",
		"tz = '2025-01-01 02:00:00'",
		"dec < 1",
		"dec = 1700.25",
		"dec > 2500.24",
		"dec BETWEEN 10 AND 20.5",
		"num < 100",
		"num = 1100.125",
		"num IN (0.5, 1e3)",
		"num <= 375",
		"f32 < 100",
		"f32 <= 0.1",
		"f32 = 1000.125",
		"u32 < 1000",
		"u32 > 4294967296",
		"u32 BETWEEN '3000' AND '3100'",
		"ts >= '2025-01-01T04:00:00'",
		"flag AND id < 10",
		"flag = false AND id > 9000",
		"sparse IS NULL",
		"sparse = 12",
		"sparse > 13",
		"(day = '2025-01-01' AND id > 3000) OR (k = 'b' AND id < 100)",
		"t.id < 50 AND other.id = 3",
		"id = $1 OR id < 10",
	}
	pruned := 0
	for _, pred := range preds {
		t.Run(pred, func(t *testing.T) {
			where := parseWhere(t, db, pred)
			got, err := Files(ctx, tbl, where, testResolver, w)
			require.NoError(t, err)
			require.True(t, isSubsequence(got, tbl.Files), "kept files are not in order")
			pruned += len(tbl.Files) - len(got)
			switch {
			case strings.Contains(pred, "$1"):
				require.Equal(t, tbl.Files, got, "a parameter branch may match anything")
				return
			case strings.Contains(pred, "other."):
				pred = strings.Split(pred, " AND other.")[0] // what pruning may use
			}
			require.Equal(t, count(t, db, tbl, tbl.Files, pred), count(t, db, tbl, got, pred),
				"kept %v", fileNames(got))
		})
	}
	require.Greater(t, pruned, 2*len(preds), "pruning removed too few files to mean anything")
}

// isSubsequence reports whether sub's files appear in all in the same order.
func isSubsequence(sub, all []storage.File) bool {
	j := 0
	for _, f := range all {
		if j < len(sub) && sub[j].URI == f.URI {
			j++
		}
	}
	return j == len(sub) && !slices.ContainsFunc(sub, func(f storage.File) bool { return f.URI == "" })
}
