// Package flightserver is Quiver's client-facing service: Arrow Flight SQL
// (embedding flightsql.BaseServer) plus the plain-Flight form in which a
// descriptor's command is UTF-8 SQL text.
//
// GetFlightInfo plans the query, learns its result schema from the
// coordinator's shadow catalog and answers with endpoints whose tickets are
// random, short-lived and bound to the principal that planned the query; the
// plan stays on the server. DoGet of such a ticket streams the fragments
// through the coordinator. Metadata calls (catalogs, schemas, tables with
// their Arrow schemas, table types, SQL info, XDBC type info) are answered
// from the warehouse catalog.
//
// This package is the one place where errors become gRPC status codes
// (errors.go), and its interceptors turn a panic into Internal instead of a
// dead server.
package flightserver
