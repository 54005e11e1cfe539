// Package rego decides what a principal may read with a Rego policy
// written for Trino's OPA access control
// (https://trino.io/docs/current/security/opa-access-control.html), so a
// platform's Trino policies apply to Quiver unchanged. An Engine is a
// policy.Decider: Load compiles a bundle (a directory, a bundle .tar.gz
// or one .rego file, Rego v1) and prepares its queries once; a decision
// is evaluations only.
//
// # Input
//
// Every query's input has Trino's shape:
//
//	{"context": {"identity": {"user": sub, "groups": roles, "claims": {…}},
//	             "softwareStack": {"trinoVersion": "quiver"}},
//	 "action": {"operation": …, "resource": …}}
//
// A warehouse table is catalog "quiver" (quiver.demo.plays); an Iceberg
// table is its catalog, namespace and name (ice.sales.orders). Quiver
// adds three fields Trino does not send: identity.claims, the token's
// claims; table.columnTags, each column's catalog tags ({"email":
// ["pii:email"]}); and column.tags, the masked column's.
//
// # Rules
//
// The rules are those Trino queries, under Options.Package ("trino"):
//
//   - allow, operation SelectFromColumns with resource {"table":
//     {catalogName, schemaName, tableName, columns, columnTags}}: the
//     table is granted when allow is true with columns [] (otherwise the
//     decision wraps planner.ErrNotGranted), and each column is denied
//     when allow is not true with columns [that column]. allow must exist.
//   - batch (Trino's opa.policy.batched-uri), operation FilterColumns
//     with filterResources [{"table": {…, columns: [every column]}}]: the
//     set of indices of the columns the caller may read. When the bundle
//     has it, it answers for all columns in one evaluation instead of
//     allow per column (half the time of a 10-column decision in
//     BenchmarkDecide).
//   - rowFilters, operation GetRowFilters with resource {"table":
//     {catalogName, schemaName, tableName}}: a set of {"expression": sql},
//     every one applied. Expressions may name $claims.<key>, bound as
//     typed parameters (policy.BindClaims), never spliced into SQL.
//   - batchColumnMasks, operation GetColumnMask with filterResources
//     [{"column": …}, …]: [{"index": i, "viewExpression": {"expression":
//     sql}}]; or, without it, columnMask per column, with resource
//     {"column": {catalogName, schemaName, tableName, columnName,
//     columnType, tags}}: {"expression": sql}. Denied columns are not
//     asked. Masks are planner.Restriction TypedMasks: cast back to the
//     column's type, as Trino requires a mask to keep it.
//
// An undefined rule grants nothing (allow) or restricts nothing
// (rowFilters, masks). The "identity" Trino lets a filter or mask run as
// is ignored: Quiver evaluates expressions over the table as the policy
// leaves it.
//
// # Failure
//
// A policy that cannot decide refuses the query: a runtime error (a
// builtin's error — strict, so a failing mask never unmasks — or
// conflicting outputs) or a result of the wrong shape is an error
// wrapping ErrDecision (errkind.Internal), never a restriction. A bundle
// that does not parse or compile, or has no allow rule, wraps
// policy.ErrInvalid and names the file and line; Loader reads the path
// again on every reload, and a Store keeps the decider in force when it
// fails.
package rego
