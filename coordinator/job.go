package coordinator

import (
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Job is what every fragment of one query runs with. It lives here, not
// in planner: the arguments and the codec are how a plan is run, not
// what was planned.
type Job struct {
	// QueryID names the query in worker tickets, logs and the spool.
	QueryID string
	// Args are the statement's bind arguments, as workers take them.
	Args []fragwire.Arg
	// Codec compresses the batches that go to the client, relayed or
	// fetched directly; exchange producers, which write the spool, and
	// a merge's partials, which the coordinator decodes, ignore it.
	Codec flightwire.Compression
	// Credentials are the S3 credentials catalogs vended for the query's
	// tables (planner.Plan.Credentials), sealed into every worker ticket.
	Credentials []storage.S3Credential
}

// Uncompressed is j for streams the coordinator itself reads (exchange
// producers' file lists, a merge's partials): everything else the same.
func (j Job) Uncompressed() Job {
	j.Codec = flightwire.Uncompressed
	return j
}

// FragmentJob is fragment Index of a Job's plan: what Stream and Route run.
type FragmentJob struct {
	Job
	Index    int
	Fragment planner.Fragment
}
