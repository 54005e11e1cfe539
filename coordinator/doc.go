// Package coordinator runs plans. It learns a plan's result schema from a
// shadow catalog — empty DuckDB tables with exactly the types the warehouse
// tables have, in the coordinator's embedded DuckDB — so GetFlightInfo can
// answer without touching data, and it runs fragments on workers.
//
// Scheduling: Partitioner hashes each file's key onto the healthy workers
// with rendezvous hashing, so a file lands on the same worker query after
// query and a worker joining or leaving moves only about 1/N of the files.
// A fragment goes to its group's worker when that one is healthy, to
// another healthy worker otherwise; with none healthy it waits up to a
// grace period, then fails with workerpool.ErrNoWorkers (Unavailable).
//
// Scan plans (no merge) are relayed: the Flight messages a worker sends are
// forwarded to the client without decoding, so memory is one message deep
// and gRPC flow control carries backpressure. Workers attach each batch's
// row offset as app_metadata; when a worker fails mid-stream (unreachable,
// died, reset, or silent — not even a heartbeat — for the stall timeout)
// the fragment is re-run on another worker and the rows the client already
// has are skipped: whole batches by their offsets, a batch straddling the
// resume row decoded, sliced and re-encoded. The client sees every row once
// and one schema message. This relies on a fragment producing the same rows
// in the same order on every run; skipped batches are checked against the
// checksums of what was relayed, and a re-run that differs (DuckDB's
// parallel hash joins do not keep order) fails the query with
// ErrNotResumable rather than return wrong rows. Query errors are never
// retried.
//
// Merge plans run every fragment through one fan-out (fanOut: an errgroup
// with a limit, results[i] for fragments[i], the first final error cancels
// the rest). A fragment's batches are kept until it completes, so a retried
// fragment starts over and no row counts twice; their bytes are bounded per
// query. The union is copied into a connection-local DuckDB table named
// planner.PartialsTable, the merge statement runs over it, and its Arrow
// output is written to the client.
//
// Exchanges run before a plan's fragments (Exchange): every producer of
// every exchange goes through the same fan-out and retries, as a COPY of
// its SELECT into the spool — the warehouse's _spool/<queryID>/, Parquet
// files partitioned by planner.PartitionColumn — and its result is the
// list of files it wrote. Each attempt writes a directory of its own, so
// a retried producer's first, failed attempt is never read. A query's
// spool is deleted when it ends (Release); a marker written before
// anything else, and refreshed while the query runs, lets a sweeper
// (SweepSpool) delete what a crashed coordinator left.
package coordinator
