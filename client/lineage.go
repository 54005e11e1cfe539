package client

import (
	"errors"
	"fmt"
	"strings"
)

// warehouseCatalog is the catalog of the warehouse's tables; Iceberg
// tables name theirs.
const warehouseCatalog = "quiver"

// LineageQuery is the system.lineage query for a source column
// ("schema.table.column", or "catalog.schema.table.column" for an Iceberg
// table; case-insensitive) and/or one query's id, with its parameters:
// who read the column, and how. Run it with Conn.Query.
func LineageQuery(column, queryID string) (string, []Param, error) {
	var where []string
	var params []Param
	bind := func(cond, value string) {
		params = append(params, Param{Name: fmt.Sprint(len(params) + 1), Value: value})
		where = append(where, fmt.Sprintf(cond, len(params)))
	}
	if column != "" {
		parts := strings.Split(column, ".")
		if len(parts) == 3 {
			parts = append([]string{warehouseCatalog}, parts...)
		}
		if len(parts) != 4 || strings.Contains(column, "..") || strings.HasPrefix(column, ".") || strings.HasSuffix(column, ".") {
			return "", nil, fmt.Errorf("%w: column %q: want schema.table.column or catalog.schema.table.column", ErrBadParameter, column)
		}
		for i, field := range []string{"catalog", "schema", "table", "column"} {
			bind("lower(source_"+field+") = lower($%d)", parts[i])
		}
	}
	if queryID != "" {
		bind("query_id = $%d", queryID)
	}
	if len(where) == 0 {
		return "", nil, errors.New("lineage: name a column or a query")
	}
	return "SELECT * FROM system.lineage WHERE " + strings.Join(where, " AND ") +
		" ORDER BY submitted, query_id, output_column NULLS LAST", params, nil
}
