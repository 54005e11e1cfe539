// Package harness starts and drives the real parts of a Quiver deployment for
// end-to-end tests: a MinIO server on loopback, `quiver` processes (the
// coordinator with its local workers, demo-data, query), and an in-process
// DuckDB oracle that reads the very same Parquet files directly.
//
// The design follows etcd's tests/framework/e2e: every helper takes a
// testing.TB, picks free ports on 127.0.0.1, runs its process in its own
// process group and registers a t.Cleanup that kills the whole group (so the
// coordinator's worker processes die with it) and dumps the captured output
// when the test failed. Nothing here is global; helpers look tools up through
// the QUIVER_TEST_BIN, QUIVER_BIN, QUIVER_MINIO_BIN and QUIVER_EXTENSION_DIR
// environment variables the Makefile exports, fall back to the repository's
// bin/ and .tools/ folders, and skip with a hint only when a tool is
// genuinely absent. The quiver processes are the test binary
// (bin/quiver-test, built with the quivertest tag) when there is one: only
// it has the QUIVER_TEST_* hooks, and tests that need one call
// RequireTestHooks.
//
// Results are compared as data, not text: Compare checks column names and
// exact Arrow types and then the rows as a multiset (or in order), with
// floating-point values equal to nine significant digits and NULL kept
// distinct from the empty string. The shared query corpus
// (testdata/e2e/queries.sql) is parsed by LoadQueries.
package harness
