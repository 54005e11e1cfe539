package fragwire

import "time"

// StatusAction is the Flight action that reports what a worker is doing.
// Its body must be a token from Signer.SignAction(StatusAction, ttl): only
// the coordinator holding the shared secret may ask.
const StatusAction = "quiver.worker.status"

// Status is a worker's report: the JSON body of StatusAction's one result.
type Status struct {
	// Running is how many fragments the worker is executing or streaming.
	Running   int              `json:"running"`
	Fragments []FragmentStatus `json:"fragments"`
	// Served counts the fragments this process has finished, whatever
	// their outcome (refused tickets are not counted).
	Served      int64  `json:"served"`
	MemoryLimit string `json:"memory_limit"`
	MaxTempSize string `json:"max_temp_size"`
	Threads     int    `json:"threads"`
	// Draining is set once the worker was asked to stop: it finishes
	// what runs and takes nothing new.
	Draining bool   `json:"draining"`
	Version  string `json:"version"`
}

// FragmentStatus is one running fragment.
type FragmentStatus struct {
	QueryID string    `json:"query_id"`
	Started time.Time `json:"started"`
	// Rows is how many rows were streamed so far.
	Rows int64 `json:"rows"`
	// Canceled is set once the fragment's caller has gone (cancel,
	// disconnect, deadline) and DuckDB is being interrupted.
	Canceled bool `json:"canceled,omitempty"`
}
