package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/storage"
)

type arrowType = arrow.DataType

// tableRef is one BASE_TABLE node of the tree that names a warehouse table.
type tableRef struct {
	node    node
	table   *storage.Table // resolved snapshot
	name    storage.TableName
	display string // as written, for messages
}

// tableRefs finds every reference to a warehouse table. Unqualified names
// that match a CTE defined anywhere in the statement are CTE references, not
// tables (a conservative reading of scoping: a CTE name shadows a table of
// the default schema everywhere in the statement).
func tableRefs(root node) []tableRef {
	ctes := map[string]bool{}
	walk(root, func(n node) {
		m, ok := n["cte_map"].(node)
		if !ok {
			return
		}
		entries, _ := m["map"].([]any)
		for _, e := range entries {
			if en, ok := e.(node); ok {
				ctes[strings.ToLower(str(en, "key"))] = true
			}
		}
	})
	var refs []tableRef
	walk(root, func(n node) {
		if str(n, "type") != "BASE_TABLE" {
			return
		}
		catalog, schema, table := str(n, "catalog_name"), str(n, "schema_name"), str(n, "table_name")
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
		refs = append(refs, tableRef{node: n, name: name, display: display})
	})
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].display < refs[j].display })
	return refs
}

// normalize rewrites a reference to the canonical <schema>.<table>.
func normalize(ref tableRef) {
	ref.node["catalog_name"] = ""
	ref.node["schema_name"] = ref.name.Schema
	ref.node["table_name"] = ref.name.Name
}

// readParquet builds read_parquet([files…], hive_partitioning=…, hive_types=…)
// over a table's pinned files, with partition types fixed to what the
// catalog declared so workers and the catalog agree.
func (p *Planner) readParquet(t *storage.Table, fs []storage.File) (node, error) {
	files := make([]any, 0, len(fs))
	for _, f := range fs {
		files = append(files, constant("VARCHAR", f.URI))
	}
	args := []any{function("list_value", files)}
	if len(t.Partitions) > 0 {
		types := make([]any, 0, len(t.Partitions))
		for _, c := range t.Partitions {
			name, err := p.opts.TypeName(c.Type)
			if err != nil {
				return nil, fmt.Errorf("table %s: partition column %s: %w", t.Name, c.Name, err)
			}
			typ := constant("VARCHAR", name)
			typ["alias"] = c.Name
			types = append(types, typ)
		}
		args = append(args,
			namedParam("hive_partitioning", constant("BOOLEAN", true)),
			namedParam("hive_types", function("struct_pack", types)),
		)
	}
	return function("read_parquet", args), nil
}

// tableFunction is the TABLE_FUNCTION node that replaces a BASE_TABLE node;
// it keeps the reference's alias (or the table's name, so `plays.col`
// still resolves) and column aliases.
func tableFunction(base node, fn node) node {
	alias := str(base, "alias")
	if alias == "" {
		alias = str(base, "table_name")
	}
	cols := base["column_name_alias"]
	if cols == nil {
		cols = []any{}
	}
	return node{
		"type": "TABLE_FUNCTION", "alias": alias, "sample": base["sample"],
		"query_location": base["query_location"], "column_name_alias": cols,
		"with_ordinality": "WITHOUT_ORDINALITY", "function": fn,
	}
}
