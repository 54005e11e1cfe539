package planner

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/planner/ast"
	"github.com/quiver-data/quiver/storage"
)

type arrowType = arrow.DataType

// tableRef is one BASE_TABLE node of the tree that names a warehouse table.
type tableRef struct {
	node  node
	table *storage.Table // resolved snapshot
	// name tells the plan's tables apart: base, with at's suffix for a
	// reference to another snapshot than the current one (a query may
	// read two snapshots of one table).
	name storage.TableName
	// base is the table's name in the catalog; policies and lineage use it.
	base    storage.TableName
	display string // as written, for messages
	// at is the snapshot an `AT (…)` clause asks for (atErr: why the
	// clause cannot be read).
	at    storage.AsOf
	atErr error
	// restricted is a reference a policy rewrote into a subquery.
	restricted bool
}

// tableRefs finds every reference to a warehouse table. Unqualified names
// that match a CTE defined anywhere in the statement are CTE references, not
// tables (a conservative reading of scoping: a CTE name shadows a table of
// the default schema everywhere in the statement).
func tableRefs(root node) []tableRef {
	ctes := map[string]bool{}
	ast.Walk(root, func(n node) {
		m, ok := n[ast.FieldCTEMap].(node)
		if !ok {
			return
		}
		entries, _ := m["map"].([]any)
		for _, e := range entries {
			if en, ok := e.(node); ok {
				ctes[strings.ToLower(en.Str("key"))] = true
			}
		}
	})
	var refs []tableRef
	ast.Walk(root, func(n node) {
		if n.Type() != ast.BaseTable {
			return
		}
		catalog, schema, table := n.Str(ast.FieldCatalogName), n.Str(ast.FieldSchemaName), n.Str(ast.FieldTableName)
		if catalog == "" && schema == "" && ctes[strings.ToLower(table)] {
			return
		}
		display := table
		if schema != "" {
			display = schema + "." + table
		}
		if catalog != "" {
			display = catalog + "." + display
		}
		if schema == "" {
			schema = DefaultSchema
		}
		name := storage.TableName{Schema: schema, Name: table}
		if catalog != "" && !strings.EqualFold(catalog, CatalogName) {
			// Another catalog cannot hold warehouse tables: make the
			// lookup fail with a name that says so.
			name = storage.TableName{Schema: catalog + "." + schema, Name: table}
		}
		at, atErr := asOf(n)
		ref := tableRef{node: n, name: name, base: name, display: display, at: at, atErr: atErr}
		ref.name.Name += at.Suffix()
		refs = append(refs, ref)
	})
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].display < refs[j].display })
	return refs
}

// normalize rewrites a reference to the canonical <schema>.<table>
// (a snapshot's name for a time-travelling reference, without its AT
// clause: the shadow catalog has a table per snapshot).
func normalize(ref tableRef) {
	ref.node[ast.FieldCatalogName] = ""
	ref.node[ast.FieldAtClause] = nil
	ref.node[ast.FieldSchemaName] = ref.name.Schema
	ref.node[ast.FieldTableName] = ref.name.Name
}

// readParquet builds read_parquet([files…], hive_partitioning=…, hive_types=…)
// over a table's pinned files, with partition types fixed to what the
// catalog declared so workers and the catalog agree.
func (p *Planner) readParquet(t *storage.Table, fs []storage.File) (node, error) {
	files := make([]any, 0, len(fs))
	for _, f := range fs {
		files = append(files, ast.Constant("VARCHAR", f.URI))
	}
	args := []any{function("list_value", files)}
	if len(t.Partitions) == 0 {
		// DuckDB detects Hive partitioning by default: a `key=value`
		// directory anywhere in the path (above the warehouse, too) would
		// become a column.
		args = append(args, ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", false)))
	} else {
		types := make([]any, 0, len(t.Partitions))
		for _, c := range t.Partitions {
			name, err := p.opts.TypeName(c.Type)
			if err != nil {
				return nil, fmt.Errorf("table %s: partition column %s: %w", t.Name, c.Name, err)
			}
			typ := ast.Constant("VARCHAR", name)
			typ[ast.FieldAlias] = c.Name
			types = append(types, typ)
		}
		args = append(args,
			ast.NamedParam("hive_partitioning", ast.Constant("BOOLEAN", true)),
			ast.NamedParam("hive_types", function("struct_pack", types)),
		)
	}
	return function("read_parquet", args), nil
}

// tableSource is what replaces a BASE_TABLE node of table t: the
// TABLE_FUNCTION fn under the reference's alias (or the table's name, so
// `plays.col` still resolves) with its column aliases. A table with Hive
// partitions reads through a subquery that names every column in the
// catalog's order: DuckDB appends partition columns after the file's in
// an order of its own (alphabetical, whatever hive_types says) while the
// catalog, and so the announced schema, lists them in directory order,
// and it takes every `key=value` directory of a path for a partition,
// including those above the table (a warehouse under /data/env=prod/).
func tableSource(base node, t *storage.Table, fn node) node {
	if len(t.Partitions) == 0 {
		scan := ast.TableFunctionRef(fn, refAlias(base))
		scan[ast.FieldSample], scan[ast.FieldQueryLocation] = base[ast.FieldSample], base[ast.FieldQueryLocation]
		if cols := base[ast.FieldColumnAliases]; cols != nil {
			scan[ast.FieldColumnAliases] = cols
		}
		return scan
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	return projection(base, ast.TableFunctionRef(fn, ""), cols, nil)
}

// source reads files of t in place of the reference base: the files
// whole (readParquet), or, for slices of one file, its rows in their
// ranges (DuckDB skips the row groups outside them); an Iceberg table's
// by field id, minus deleted rows (icebergSource).
func (p *Planner) source(base node, t *storage.Table, fs []storage.File) (node, error) {
	if t.Iceberg != nil {
		return p.icebergSource(base, t, fs)
	}
	fn, err := p.readParquet(t, fs[:sliceEnd(fs)])
	if err != nil {
		return nil, err
	}
	if fs[0].Slice == nil {
		return tableSource(base, t, fn), nil
	}
	args, _ := fn[ast.FieldChildren].([]any)
	fn[ast.FieldChildren] = append(args, ast.NamedParam("file_row_number", ast.Constant("BOOLEAN", true)))
	where := sliceWhere(fs, ast.ColumnRef("file_row_number"))
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	return projection(base, ast.TableFunctionRef(fn, ""), cols, where), nil
}

// sliceWhere keeps the rows of slices fs of one file: rows of the ranges
// of row number rowNumber.
func sliceWhere(fs []storage.File, rowNumber node) node {
	var where node
	for _, r := range sliceRanges(fs) {
		in := ast.And(
			node{ast.FieldClass: ast.ClassComparison, ast.FieldType: "COMPARE_GREATERTHANOREQUALTO", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
				ast.FieldLeft: ast.Clone(rowNumber), ast.FieldRight: ast.Constant("BIGINT", r.Start)},
			node{ast.FieldClass: ast.ClassComparison, ast.FieldType: "COMPARE_LESSTHAN", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
				ast.FieldLeft: ast.Clone(rowNumber), ast.FieldRight: ast.Constant("BIGINT", r.End)})
		if where == nil {
			where = in
		} else {
			where = node{ast.FieldClass: ast.ClassConjunction, ast.FieldType: "CONJUNCTION_OR", ast.FieldAlias: "", ast.FieldQueryLocation: ast.NoLocation,
				ast.FieldChildren: []any{where, in}}
		}
	}
	return where
}

// firstFile is t's first file, for a reference whose files were all
// pruned: read it and let the filter remove its rows, so the statement
// stays valid (none for a table without files).
func firstFile(t *storage.Table) []storage.File { return t.Files[:min(1, len(t.Files))] }

// sliceEnd is how many of fs read_parquet lists: one file for slices of
// it, all of them otherwise.
func sliceEnd(fs []storage.File) int {
	if len(fs) > 0 && fs[0].Slice != nil {
		return 1
	}
	return len(fs)
}

// sliceRanges are the row ranges of slices of one file, sorted, adjacent
// ones merged.
func sliceRanges(fs []storage.File) []storage.Slice {
	rs := make([]storage.Slice, 0, len(fs))
	for _, f := range fs {
		rs = append(rs, *f.Slice)
	}
	slices.SortFunc(rs, func(a, b storage.Slice) int { return cmp.Compare(a.Start, b.Start) })
	out := rs[:1]
	for _, r := range rs[1:] {
		if last := &out[len(out)-1]; r.Start == last.End {
			last.End = r.End
		} else {
			out = append(out, r)
		}
	}
	return out
}

// maxSlices bounds the slices a table of one file is split into.
const maxSlices = 16

// sliceFile splits a file into up to maxSlices slices of whole row groups
// with about as many rows each; none when it has one row group (or its
// footer does not say).
func (p *Planner) sliceFile(ctx context.Context, t *storage.Table, f storage.File) ([]storage.File, error) {
	if p.opts.Footers == nil {
		return nil, nil
	}
	ft, err := p.opts.Footers.Footer(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("footer of %s: %w", t.Name, err)
	}
	if len(ft.RowGroups) < 2 {
		return nil, nil
	}
	target := max(ft.Rows/maxSlices, 1)
	var out []storage.File
	var start, n int64
	for i, rg := range ft.RowGroups {
		n += rg.Rows
		if n-start < target && i < len(ft.RowGroups)-1 {
			continue
		}
		s := f
		s.Slice, s.Rows = &storage.Slice{Start: start, End: n}, n-start
		out = append(out, s)
		start = n
	}
	if len(out) < 2 {
		return nil, nil
	}
	return out, nil
}

// refAlias is the name a replaced table reference is known by: its alias,
// or the table's name (so `plays.col` still resolves).
func refAlias(base node) string {
	if a := base.Alias(); a != "" {
		return a
	}
	return base.Str(ast.FieldTableName)
}

// projection is `(SELECT cols FROM from [WHERE where]) AS <base's alias>`
// in place of the reference base, keeping its sample, location and
// column aliases.
func projection(base, from node, cols []string, where node) node {
	sel := ast.Select(from)
	list := make([]any, len(cols))
	for i, c := range cols {
		list[i] = ast.ColumnRef(c)
	}
	sel[ast.FieldSelectList] = list
	if where != nil {
		sel[ast.FieldWhere] = where
	}
	sub := ast.SubqueryRef(sel, refAlias(base))
	sub[ast.FieldSample], sub[ast.FieldQueryLocation] = base[ast.FieldSample], base[ast.FieldQueryLocation]
	if aliases := base[ast.FieldColumnAliases]; aliases != nil {
		sub[ast.FieldColumnAliases] = aliases
	}
	return sub
}
