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
// A worker keeps one fragment's trouble to that fragment. All fragments
// share DuckDB's memory_limit; one that runs out of memory while others are
// active waits for them and runs again, so only a fragment that exceeds the
// limit on its own fails (RESOURCE_EXHAUSTED naming the limits; see
// oom.go). A fragment whose caller goes away is interrupted in DuckDB; if
// it has not returned InterruptGrace later the worker asks to be recycled
// (the worker command exits non-zero and its supervisor restarts it). Drain
// (on SIGTERM) turns the gRPC health service to NOT_SERVING and refuses new
// tickets with UNAVAILABLE while running fragments finish. The
// quiver.worker.status action, with a coordinator-signed token, reports the
// running fragments (query, start, rows so far), the limits and the drain
// state.
//
// The client side is the coordinator's view of its workers: a Pool of Flight
// connections to worker addresses with periodic gRPC health checks (Pick
// and Healthy skip workers that fail them, and workers that answer
// NOT_SERVING because they drain; Status gathers every worker's report). Members come from --worker, from
// DNS names re-resolved periodically (DNS, the Kubernetes headless-service
// way), or from processes the coordinator started itself with
// --local-workers and supervises (Local), restarting any that exit.
package worker
