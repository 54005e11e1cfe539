// Package worker is the worker's side of the coordinator ↔ worker link: a
// `quiver worker` process's Flight service.
//
// A worker is one embedded DuckDB behind a Flight service whose only RPC is
// DoGet of a fragment ticket (package fragwire: the fragment's SQL, already
// rewritten by the planner to read the pinned Parquet files, and its bind
// parameters, signed by the coordinator with a shared secret and valid for
// a short time); the worker serves no one else (with direct result
// routing, clients redeem tickets the coordinator signed for them).
// DuckDB's Arrow output is written to the stream batch by batch, each batch
// carrying its row offset in the fragment as app_metadata
// (fragwire.BatchMeta) so the coordinator can resume a fragment elsewhere;
// while the worker computes it sends heartbeats if the ticket asks for
// them, and it ends every stream with the CPU and spill trailers.
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
// fragwire.StatusAction action, with a coordinator-signed token, reports
// the running fragments (query, start, rows so far), the limits and the
// drain state.
//
// The coordinator's side — the pool of connections, health checks, DNS
// members and local worker processes — is package workerpool; neither the
// coordinator nor flightserver imports this package.
package worker
