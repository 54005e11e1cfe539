// Package planner turns SQL into a distributed plan. It parses with DuckDB's
// own parser (json_serialize_sql), so the dialect is exactly DuckDB's, walks
// the statement tree, resolves every table reference to a pinned file
// snapshot of the warehouse, and rewrites those references into read_parquet
// calls over the pinned files. The rewritten tree is serialized back with
// json_deserialize_sql into the SQL each worker fragment runs. Rewrites are
// edits of the tree, never of SQL text, so quoting and precedence are
// DuckDB's problem, not ours.
//
// Besides the fragments a plan carries a "probe" statement: the same tree
// with table references normalized to <schema>.<table>, which the
// coordinator runs against empty tables of the same types to learn the
// result schema without reading data.
//
// The planner does no network I/O of its own: the parser and the catalog
// are interfaces its caller provides.
package planner
