// Package prune removes, at planning time, the files of a table that
// cannot hold a row the query's WHERE clause keeps: by Hive partition
// values, then by the row groups' footer statistics. It is exact or
// conservative, never wrong: any predicate it does not understand
// completely keeps every file (prune.go explains the rules), and the
// differential tests hold it to one DuckDB reading all files.
package prune
