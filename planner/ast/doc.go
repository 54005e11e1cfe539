// Package ast is a small typed layer over DuckDB's serialized statement
// tree (json_serialize_sql / json_deserialize_sql).
//
// DuckDB's serializer writes every query node, table reference, modifier
// and expression as a JSON object with a "type" (and, for expressions, a
// "class") and fields that vary by kind and by DuckDB version. The
// planner rewrites that tree and hands it back to DuckDB, so every field
// it does not understand must survive untouched: a Node is the JSON
// object itself, and this package gives it names. The kinds are
// constants (kinds.go), fields are read through accessors (this file),
// and new nodes are made by builders (build.go) in the shapes DuckDB's
// own parser produces, so no other package spells a kind or a field.
// Loki's syntax.Expr and Vitess's sqlparser are the models; unlike them
// the tree's grammar stays DuckDB's.
package ast
