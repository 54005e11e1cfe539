package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

// Reading Iceberg data files. A fragment reads its data files with
// read_parquet mapping columns by field id (`schema = MAP {id: {name,
// type, default_value}}`), so files written before a rename, a reorder, a
// widening or a drop-and-re-add read as the pinned schema says, and then
// removes the rows the files' delete files delete (merge-on-read):
//
//	SELECT d.c1, … FROM read_parquet([files], schema = …, filename = '…') AS d
//	ANTI JOIN (SELECT <path>, pos FROM read_parquet([position deletes])
//	           WHERE <path> IN [files]) AS p
//	       ON d.<file> = p.<path> AND d.file_row_number = p.pos
//	ANTI JOIN (SELECT <path>, unnest(range(lo, hi)) AS pos FROM <deletion vectors' runs>) AS v
//	       ON d.<file> = v.<path> AND d.file_row_number = v.pos
//	ANTI JOIN (SELECT k1, k2 FROM read_parquet([equality deletes], schema = …)) AS e1
//	       ON d.k1 IS NOT DISTINCT FROM e1.k1 AND … [AND d.<file> IN [files it applies to]]
//
// The catalog has already applied Iceberg's sequence-number rules: each
// data file lists only the delete files that apply to it. Equality delete
// files are grouped by their columns and by the data files they apply to,
// one anti join per group; an equality delete matches NULL with NULL, as
// the spec says. Deletion vectors (v3) were read by the catalog: their
// runs of deleted positions come as one string per data file, "lo-hi,…".

// Names inside an Iceberg source; the data alias and the file column
// cannot collide with a table's columns, which the source projects by name.
const (
	icebergData     = "__quiver_data"
	icebergFile     = "__quiver_file"
	icebergPosition = "__quiver_pos"
	icebergPath     = "__quiver_path"
)

// icebergSource is what replaces reference base to read data files fs of
// Iceberg table t.
func (p *Planner) icebergSource(base node, t *storage.Table, fs []storage.File) (node, error) {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	if len(fs) == 0 {
		return p.emptySource(base, t)
	}
	schema, err := p.fieldMap(t, t.Iceberg.FieldIDs)
	if err != nil {
		return nil, err
	}
	data := ast.Function("read_parquet", ast.Function("list_value", uriConstants(fs)...),
		ast.NamedParam("schema", schema),
		ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", false)),
		ast.NamedParam("filename", ast.Constant("VARCHAR", icebergFile)))
	var from node = ast.TableFunctionRef(data, icebergData)
	if pos := positionDeletes(fs); len(pos) > 0 {
		from = ast.JoinRef(from, positionDeleteRef(pos, fs), ast.And(
			ast.Equal(ast.ColumnRef(icebergData, icebergFile), ast.ColumnRef("p", icebergPath)),
			ast.Equal(ast.ColumnRef(icebergData, "file_row_number"), ast.ColumnRef("p", icebergPosition))), ast.JoinAnti)
	}
	if dv := deletionVectorRef(fs); dv != nil {
		from = ast.JoinRef(from, dv, ast.And(
			ast.Equal(ast.ColumnRef(icebergData, icebergFile), ast.ColumnRef("v", icebergPath)),
			ast.Equal(ast.ColumnRef(icebergData, "file_row_number"), ast.ColumnRef("v", icebergPosition))), ast.JoinAnti)
	}
	for i, g := range equalityGroups(fs) {
		alias := fmt.Sprintf("e%d", i+1)
		ref, on, err := p.equalityDeleteRef(t, g, alias)
		if err != nil {
			return nil, err
		}
		if len(g.applies) < len(fs) {
			on = ast.And(on, ast.Function("list_contains", ast.Function("list_value", stringConstants(g.applies)...), ast.ColumnRef(icebergData, icebergFile)))
		}
		from = ast.JoinRef(from, ref, on, ast.JoinAnti)
	}
	sel := ast.Select(from)
	list := make([]any, len(cols))
	for i, c := range cols {
		e := ast.ColumnRef(icebergData, c)
		e[ast.FieldAlias] = c
		list[i] = e
	}
	sel[ast.FieldSelectList] = list
	if fs[0].Slice != nil {
		sel[ast.FieldWhere] = sliceWhere(fs, ast.ColumnRef(icebergData, "file_row_number"))
	}
	return subquerySource(base, sel), nil
}

// subquerySource is `(sel) AS <base's alias>` in place of base, keeping
// its sample, location and column aliases.
func subquerySource(base, sel node) node {
	sub := ast.SubqueryRef(sel, refAlias(base))
	sub[ast.FieldSample], sub[ast.FieldQueryLocation] = base[ast.FieldSample], base[ast.FieldQueryLocation]
	if aliases := base[ast.FieldColumnAliases]; aliases != nil {
		sub[ast.FieldColumnAliases] = aliases
	}
	return sub
}

// emptySource reads no rows of t's columns: a table whose snapshot has no
// data files (or none left after pruning).
func (p *Planner) emptySource(base node, t *storage.Table) (node, error) {
	sel := ast.Select(node{ast.FieldType: ast.EmptyFrom, ast.FieldAlias: "", ast.FieldSample: nil, ast.FieldQueryLocation: ast.NoLocation})
	list := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		typ, err := p.opts.TypeName(c.Type)
		if err != nil {
			return nil, fmt.Errorf("table %s: column %s: %w", t.Name, c.Name, err)
		}
		e := ast.Cast(ast.Null(), typ)
		e[ast.FieldAlias] = c.Name
		list[i] = e
	}
	sel[ast.FieldSelectList] = list
	sel[ast.FieldWhere] = ast.Constant("BOOLEAN", false)
	return subquerySource(base, sel), nil
}

// fieldMap is read_parquet's schema argument for the columns of t with
// field ids ids: MAP {id: {name, type, default_value: NULL}}. A field a
// file lacks (added after it was written) reads as NULL.
func (p *Planner) fieldMap(t *storage.Table, ids []int) (node, error) {
	keys := make([]node, 0, len(ids))
	values := make([]node, 0, len(ids))
	for _, id := range ids {
		i := slices.Index(t.Iceberg.FieldIDs, id)
		if i < 0 {
			return nil, fmt.Errorf("table %s: no column has field id %d", t.Name, id)
		}
		c := t.Columns[i]
		typ, err := p.opts.TypeName(c.Type)
		if err != nil {
			return nil, fmt.Errorf("table %s: column %s: %w", t.Name, c.Name, err)
		}
		name, typName, def := ast.Constant("VARCHAR", c.Name), ast.Constant("VARCHAR", typ), ast.Null()
		name[ast.FieldAlias], typName[ast.FieldAlias], def[ast.FieldAlias] = "name", "type", "default_value"
		keys = append(keys, ast.Constant("INTEGER", id))
		values = append(values, ast.Function("struct_pack", name, typName, def))
	}
	return ast.Function("map", ast.Function("list_value", keys...), ast.Function("list_value", values...)), nil
}

// positionDeletes are the distinct position delete files of fs, by path.
func positionDeletes(fs []storage.File) []storage.DeleteFile {
	var out []storage.DeleteFile
	for _, f := range fs {
		for _, d := range f.Deletes {
			if d.Kind == storage.PositionDeletes && !slices.ContainsFunc(out, func(o storage.DeleteFile) bool { return o.Path == d.Path }) {
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(a, b storage.DeleteFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// pathExpr turns a file_path column of a position delete file into the
// URI the data file was read by: file: URLs (file:///x, file:/x) become
// local paths, as the catalog turns data file paths into URIs.
func pathExpr(col node) node {
	return ast.Function("regexp_replace", col, ast.Constant("VARCHAR", "^file:(//)?"), ast.Constant("VARCHAR", ""))
}

// positionDeleteRef reads the rows of position delete files dels that
// name one of fs.
func positionDeleteRef(dels []storage.DeleteFile, fs []storage.File) node {
	uris := make([]node, len(dels))
	for i, d := range dels {
		uris[i] = ast.Constant("VARCHAR", d.URI)
	}
	read := ast.Function("read_parquet", ast.Function("list_value", uris...),
		ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", false)))
	sel := ast.Select(ast.TableFunctionRef(read, ""))
	path := pathExpr(ast.ColumnRef("file_path"))
	path[ast.FieldAlias] = icebergPath
	pos := ast.ColumnRef("pos")
	pos[ast.FieldAlias] = icebergPosition
	sel[ast.FieldSelectList] = []any{path, pos}
	sel[ast.FieldWhere] = ast.Function("list_contains", ast.Function("list_value", uriConstants(fs)...), pathExpr(ast.ColumnRef("file_path")))
	return ast.SubqueryRef(sel, "p")
}

// deletionVectorRef lists the positions the deletion vectors of fs
// delete, as (path, pos) rows, or is nil when none of fs has one. A file
// in several slices is listed once; the fragment's slice condition drops
// the rows outside its slices anyway.
//
//	SELECT path AS <path>, unnest(range(CAST(split_part(run, '-', 1) AS BIGINT),
//	                                    CAST(split_part(run, '-', 2) AS BIGINT))) AS <pos>
//	FROM (SELECT path, unnest(string_split(runs, ',')) AS run
//	      FROM (SELECT unnest([uri, …]) AS path, unnest(['lo-hi,lo-hi', …]) AS runs))
func deletionVectorRef(fs []storage.File) node {
	var uris, lists []node
	seen := map[string]bool{}
	for _, f := range fs {
		var sb strings.Builder
		for _, d := range f.Deletes {
			if d.Kind != storage.DeletionVector || seen[f.URI] {
				continue
			}
			for _, r := range d.Positions {
				if sb.Len() > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, "%d-%d", r.Start, r.End)
			}
		}
		if sb.Len() > 0 {
			seen[f.URI] = true
			uris = append(uris, ast.Constant("VARCHAR", f.URI))
			lists = append(lists, ast.Constant("VARCHAR", sb.String()))
		}
	}
	if len(uris) == 0 {
		return nil
	}
	alias := func(e node, name string) node {
		e[ast.FieldAlias] = name
		return e
	}
	perFile := ast.Select(node{ast.FieldType: ast.EmptyFrom, ast.FieldAlias: "", ast.FieldSample: nil, ast.FieldQueryLocation: ast.NoLocation})
	perFile[ast.FieldSelectList] = []any{
		alias(ast.Function("unnest", ast.Function("list_value", uris...)), icebergPath),
		alias(ast.Function("unnest", ast.Function("list_value", lists...)), "runs"),
	}
	perRun := ast.Select(ast.SubqueryRef(perFile, "f"))
	perRun[ast.FieldSelectList] = []any{
		ast.ColumnRef(icebergPath),
		alias(ast.Function("unnest", ast.Function("string_split", ast.ColumnRef("runs"), ast.Constant("VARCHAR", ","))), "run"),
	}
	bound := func(i int) node {
		return ast.Cast(ast.Function("split_part", ast.ColumnRef("run"), ast.Constant("VARCHAR", "-"), ast.Constant("INTEGER", i)), "BIGINT")
	}
	perPos := ast.Select(ast.SubqueryRef(perRun, "r"))
	perPos[ast.FieldSelectList] = []any{
		ast.ColumnRef(icebergPath),
		alias(ast.Function("unnest", ast.Function("range", bound(1), bound(2))), icebergPosition),
	}
	return ast.SubqueryRef(perPos, "v")
}

// equalityGroup is equality delete files over the same columns that apply
// to the same data files.
type equalityGroup struct {
	ids     []int
	files   []storage.DeleteFile
	applies []string // URIs of the data files the deletes apply to
}

// equalityGroups groups the equality delete files of fs.
func equalityGroups(fs []storage.File) []equalityGroup {
	type entry struct {
		del     storage.DeleteFile
		applies []string
	}
	var entries []entry
	for _, f := range fs {
		for _, d := range f.Deletes {
			if d.Kind != storage.EqualityDeletes {
				continue
			}
			i := slices.IndexFunc(entries, func(e entry) bool { return e.del.Path == d.Path })
			if i < 0 {
				entries = append(entries, entry{del: d})
				i = len(entries) - 1
			}
			entries[i].applies = append(entries[i].applies, f.URI)
		}
	}
	var groups []equalityGroup
	for _, e := range entries {
		i := slices.IndexFunc(groups, func(g equalityGroup) bool {
			return slices.Equal(g.ids, e.del.EqualityIDs) && slices.Equal(g.applies, e.applies)
		})
		if i < 0 {
			groups = append(groups, equalityGroup{ids: e.del.EqualityIDs, applies: e.applies})
			i = len(groups) - 1
		}
		groups[i].files = append(groups[i].files, e.del)
	}
	return groups
}

// equalityDeleteRef reads group g's delete files by field id under alias,
// with the anti join's condition on the data.
func (p *Planner) equalityDeleteRef(t *storage.Table, g equalityGroup, alias string) (node, node, error) {
	if len(g.ids) == 0 {
		return nil, nil, fmt.Errorf("table %s: equality delete file %s names no columns", t.Name, g.files[0].Path)
	}
	schema, err := p.fieldMap(t, g.ids)
	if err != nil {
		return nil, nil, err
	}
	uris := make([]node, len(g.files))
	for i, d := range g.files {
		uris[i] = ast.Constant("VARCHAR", d.URI)
	}
	read := ast.Function("read_parquet", ast.Function("list_value", uris...),
		ast.NamedParam("schema", schema),
		ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", false)))
	var on node
	for _, id := range g.ids {
		c := t.Columns[slices.Index(t.Iceberg.FieldIDs, id)].Name
		eq := ast.NotDistinct(ast.ColumnRef(icebergData, c), ast.ColumnRef(alias, c))
		if on == nil {
			on = eq
		} else {
			on = ast.And(on, eq)
		}
	}
	return ast.TableFunctionRef(read, alias), on, nil
}

// uriConstants are the URIs of fs as VARCHAR constants (a file's slices
// once).
func uriConstants(fs []storage.File) []node {
	out := make([]node, 0, len(fs))
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.URI] {
			seen[f.URI] = true
			out = append(out, ast.Constant("VARCHAR", f.URI))
		}
	}
	return out
}

// stringConstants are ss as VARCHAR constants.
func stringConstants(ss []string) []node {
	out := make([]node, len(ss))
	for i, s := range ss {
		out[i] = ast.Constant("VARCHAR", s)
	}
	return out
}
