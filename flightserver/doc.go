// Package flightserver is Quiver's client-facing service: Arrow Flight SQL
// (embedding flightsql.BaseServer) plus the plain-Flight form in which a
// descriptor's command is UTF-8 SQL text.
//
// GetFlightInfo plans the query, learns its result schema from the
// coordinator's shadow catalog and answers with endpoints whose tickets are
// random, short-lived and bound to the principal that planned the query; the
// plan stays on the server. A scan plan gets one endpoint per fragment, a
// merge plan one endpoint for the merged result; with direct result routing
// scan endpoints instead name the worker (grpc://host:port) and carry a
// worker ticket, so clients read from workers themselves. `EXPLAIN <query>`
// answers with (step, detail) rows describing the plan. Metadata calls
// (catalogs, schemas, tables with their Arrow schemas, table types, SQL
// info, XDBC type info) are answered from the warehouse catalog.
//
// Handlers return plain errors: the interceptors of NewGRPCServer turn each
// into its gRPC status once (toStatus, errors.go: the error's kind through
// flightwire.Code, the one table), and turn a panic into Internal instead
// of a dead server. Messages are in the client's terms: DuckDB's context lines
// quote the statement as the client sent it, not the probe or a fragment
// the planner rendered from it, and no message shows the warehouse's
// paths (planner.ErrorText). Bound values are checked against the
// statement's parameters when they are bound or planned, so a missing,
// extra or impossible value is an InvalidArgument naming its placeholder.
package flightserver
