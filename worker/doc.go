// Package worker is both sides of the coordinator ↔ worker link.
//
// The server side is a `quiver worker` process: one embedded DuckDB behind a
// Flight service whose only RPC is DoGet of a fragment ticket. A ticket is the
// fragment's SQL (already rewritten by the planner to read the pinned
// Parquet files) and its bind parameters, signed by the coordinator with a
// shared secret and valid for a short time; the worker serves no one else
// (with direct result routing, clients redeem tickets the coordinator
// signed for them). DuckDB's Arrow output is written to the stream batch by
// batch, each batch carrying its row offset in the fragment as app_metadata
// (BatchMeta) so the coordinator can resume a fragment elsewhere; while the
// worker computes it sends heartbeats if the ticket asks for them.
//
// The client side is the coordinator's view of its workers: a Pool of Flight
// connections to worker addresses with periodic gRPC health checks (Pick
// and Healthy skip workers that fail them). Members come from --worker, from
// DNS names re-resolved periodically (DNS, the Kubernetes headless-service
// way), or from processes the coordinator started itself with
// --local-workers and supervises (Local), restarting any that exit.
package worker
