// Package e2e holds Quiver's end-to-end tests: real `quiver` processes, a
// real MinIO and real third-party clients, checked against an in-process
// DuckDB that reads the same Parquet files.
//
// The layers, bottom up: package harness starts processes (MinIO, `quiver
// serve` with its local workers, `quiver demo-data`, `quiver query`) in their
// own process groups on free loopback ports and kills them in t.Cleanup; it
// also provides the oracle (DuckDB with one view per warehouse table) and a
// comparison that checks column names, exact Arrow types and rows as a
// multiset. On top of it, each top-level test builds one fixture per
// warehouse kind (an S3 warehouse in MinIO, a local directory) — demo data
// at scale 0.01 plus a server with two local workers — and shares it across
// its subtests: the shared corpus testdata/e2e/queries.sql through arrow-go's
// flightsql.Client and its database/sql driver, prepared statements with
// bound parameters, the metadata calls, bad input that must fail with the
// right gRPC code while the server keeps serving, plain Flight with a SQL
// descriptor, and the `quiver query` CLI.
//
// Distributed execution has four more: TestTPCH (the 22 TPC-H queries at
// scale 0.1 in MinIO with 1, 2 and 3 workers, against the oracle and
// DuckDB's tpch_answers), TestDifferential (the corpus and the planner's
// golden queries with 1, 2 and 3 workers), TestFaults (workers killed with
// SIGKILL before their first batch, while streaming, and all of them, for
// a scan, an aggregate and a join: exact rows or UNAVAILABLE within the
// grace period, and the retries counted) and TestSplitAndPruning (fragments
// per worker and pruned Hive partitions seen through EXPLAIN and metrics).
//
// What e2e may import: the harness, public libraries (arrow-go's Flight,
// Flight SQL, database/sql driver and Parquet reader, gRPC, the AWS SDK,
// jwt, bcrypt, Prometheus' text format, yaml), and of Quiver's own packages
// only the wire-level ones a client or a worker's peer speaks — flightwire
// (to read each batch's IPC compression off the raw stream), fragwire and
// workerpool (to sign fragment tickets and talk to workers the way a
// coordinator, or a forger, would) — plus policy, to check that the
// deployment example's policy file loads. Nothing that runs the server
// (flightserver, coordinator, planner, engine, storage, worker) is imported:
// the tests see Quiver from the outside.
//
// Run with `make test` (which builds bin/quiver and installs MinIO and the
// httpfs extension), or `go test -tags duckdb_arrow ./e2e/...` once those
// exist; tests skip with a hint when a tool is missing.
package e2e
