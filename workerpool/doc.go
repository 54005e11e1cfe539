// Package workerpool is the coordinator's view of its workers: the client
// side of the coordinator ↔ worker link.
//
// A Pool holds Flight connections (Conn) to worker addresses, dialled with
// flightwire's codec, and checks each member's gRPC health service
// periodically: Pick and Healthy skip workers that fail the check and
// workers that answer NOT_SERVING because they drain, and Pick fails with
// ErrNoWorkers when none is left. Status asks every member for its
// fragwire.StatusAction report with a signed token; SmallestMemory keeps
// the smallest memory_limit they report, for sizing broadcasts. Members
// come from --worker, from DNS names re-resolved periodically (DNS, the
// Kubernetes headless-service way), or from processes the coordinator
// started itself with --local-workers and supervises (Local), restarting
// any that exit; a local worker announces its address on stdout after
// ListeningPrefix.
//
// What travels on these connections (tickets, batch metadata, trailers,
// the status report) is package fragwire; the worker's server is package
// worker, which this package does not import.
package workerpool
