package systables

import "time"

// Query states, as system.queries shows them.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateFinished  = "finished"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// QueryRecord is one query: a row of system.queries.
type QueryRecord struct {
	ID        string
	Principal string
	SQL       string
	State     string
	// Error is the message the client got, for failed and cancelled queries.
	Error     string
	Submitted time.Time
	// Finished is zero while the query runs.
	Finished time.Time
	// Queued is the wait for an admission slot, Planning the time to plan
	// and type it, Execution from admission to the end of the last stream.
	Queued, Planning, Execution time.Duration
	Rows, Bytes                 int64
	// Tables are the tables read, "<schema>.<table>".
	Tables    []string
	Strategy  string
	Fragments int
	// FragmentsDone counts fragments whose whole result has arrived.
	FragmentsDone int
	Workers       []string
	Retries       int
}
