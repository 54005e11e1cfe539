// Package coordinator runs plans. It learns a plan's result schema from a
// shadow catalog — empty DuckDB tables with exactly the types the warehouse
// tables have, in the coordinator's embedded DuckDB — so GetFlightInfo can
// answer without touching data, and it streams fragments from workers.
//
// Streaming is a relay: the Flight messages a worker sends are forwarded to
// the client as they are, without decoding, so the coordinator's memory is
// one message deep and gRPC flow control carries backpressure from the
// client to the worker. A fragment whose worker is unreachable before it
// sent anything is retried on another worker; once rows have been sent a
// failure ends the stream with the worker's error (exactly-once recovery of
// partially streamed fragments belongs to the distributed planner).
package coordinator
