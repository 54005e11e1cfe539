// Package lineage derives exact column lineage from DuckDB's parsed
// statement tree: for each result column, the source columns its values
// are computed from (identity, expression, aggregate), and the columns
// that only decide which rows come out or in what order (filter, join,
// group_by, sort, window), with the policy's masks and row filters marked.
//
// Bind resolves names as DuckDB's binder does, over the tree the planner
// runs after the policy's rewrite, so what it reports is what ran.
package lineage
