// Package worker is both sides of the coordinator ↔ worker link.
//
// The server side is a `quiver worker` process: one embedded DuckDB behind a
// Flight service whose only RPC is DoGet of a fragment ticket. A ticket is the
// fragment's SQL (already rewritten by the planner to read the pinned
// Parquet files) and its bind parameters, signed by the coordinator with a
// shared secret and valid for a short time; the worker serves no one else.
// DuckDB's Arrow output is written to the stream batch by batch, so a worker
// never holds a whole result either.
//
// The client side is the coordinator's view of its workers: a Pool of Flight
// connections to worker addresses (given with --worker, or processes the
// coordinator started itself with --local-workers and supervises, restarting
// any that exit).
package worker
