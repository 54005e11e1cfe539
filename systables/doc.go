// Package systables serves Quiver's system tables (system.queries,
// system.workers, system.tables, system.report_runs) over the ordinary SQL
// interface: the planner resolves `system.<name>` to a Table here and the
// coordinator runs the query over the snapshot the viewer may see.
package systables
