package lineage

import (
	"context"
	"strings"
)

// Kind says how a source column reaches a query's result.
type Kind string

// Direct kinds: an output column's values are computed from the source
// column's. They rank identity < expression < aggregate: a column that
// reaches an output along several paths takes the highest.
const (
	// Identity: the output is the source column's values, unchanged.
	Identity Kind = "identity"
	// Expression: the output is computed from the source column row by
	// row (a function, a cast, a CASE, a policy mask).
	Expression Kind = "expression"
	// Aggregate: the output is computed over groups or windows of the
	// source column's rows.
	Aggregate Kind = "aggregate"
)

// Indirect kinds: the source column decides which rows the result has or
// in what order, not what an output column holds. They belong to the
// whole result, not to one output column.
const (
	Filter  Kind = "filter"   // WHERE, HAVING, QUALIFY, IN/EXISTS subqueries, EXCEPT/INTERSECT
	Join    Kind = "join"     // ON and USING conditions
	GroupBy Kind = "group_by" // GROUP BY keys, DISTINCT ON
	Sort    Kind = "sort"     // ORDER BY
	Window  Kind = "window"   // a window's PARTITION BY and ORDER BY
)

// Direct reports whether k is a direct kind (an output column's value).
func (k Kind) Direct() bool { return k == Identity || k == Expression || k == Aggregate }

func (k Kind) rank() int {
	switch k {
	case Identity:
		return 0
	case Expression:
		return 1
	}
	return 2
}

// Column is a source column: a column of a table of the catalog.
type Column struct {
	// Catalog is "quiver" for warehouse tables, the Iceberg catalog's name
	// for Iceberg tables.
	Catalog, Schema, Table, Column string
}

// String is "catalog.schema.table.column".
func (c Column) String() string {
	return strings.Join([]string{c.Catalog, c.Schema, c.Table, c.Column}, ".")
}

// Edge is one source column of a query's result.
type Edge struct {
	// Output is the result column a direct edge computes; "" for an
	// indirect edge (Kind Filter, Join, …), which concerns every row.
	Output string
	Source Column
	Kind   Kind
	// Policy is set where the edge is the principal's policy's: the
	// column reaches the output through a mask, or a row filter reads it.
	Policy bool
}

// Run is the report run a query belongs to: the report's name, the run's
// id and the object it publishes (the run's output dataset).
type Run struct {
	Report, RunID, Output string
}

type runKey struct{}

// WithRun marks ctx's query as run r's.
func WithRun(ctx context.Context, r Run) context.Context {
	return context.WithValue(ctx, runKey{}, r)
}

// RunFrom is the report run WithRun set on ctx, if any.
func RunFrom(ctx context.Context) (Run, bool) {
	r, ok := ctx.Value(runKey{}).(Run)
	return r, ok
}

// Dataset is a table a query read, with its columns.
type Dataset struct {
	Catalog, Schema, Table string
	Fields                 []Field
}

// Field is a column and its DuckDB type.
type Field struct {
	Name, Type string
}
