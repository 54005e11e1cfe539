package systables

import (
	"time"

	"github.com/quiver-data/quiver/lineage"
)

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
	// Stages are the worker stages of its plan: 1, or 2 when exchanges'
	// producers ran before its fragments (0 for plans without fragments).
	Stages int
	// SpoolRows and SpoolBytes are what its exchanges wrote to the spool.
	SpoolRows, SpoolBytes int64
	// SpillBytes is the most any worker had spilled to its temp directory
	// while one of the query's fragments ran there.
	SpillBytes int64
	// Run is the report run the query is, zero for others.
	Run lineage.Run
	// Lineage is its column lineage; nil where none was derived
	// (system tables, statements lineage.Bind cannot bind).
	Lineage []lineage.Edge
}
