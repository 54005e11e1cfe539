package coordinator

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
)

// Route picks the worker a client should fetch a fragment from itself
// (--result-routing direct) and returns its address and a ticket that
// worker accepts until ttl passes. Nothing is relayed, so nothing is
// retried: a worker that fails mid-stream fails the client's DoGet. The
// worker compresses batches with job.Codec, refuses to stream any schema
// but the announced one (the coordinator does not see the stream to check
// it) and words its errors in terms of the client's statement.
func (c *Coordinator) Route(ctx context.Context, job FragmentJob, announced *arrow.Schema, statement string, ttl time.Duration) (string, []byte, error) {
	w, err := c.pick(ctx, job.Fragment.Group, nil)
	if err != nil {
		return "", nil, err
	}
	// No heartbeats: the client reads this stream, not the coordinator.
	ticket, err := c.sign(fragmentRef{FragmentJob: job,
		schema: flight.SerializeSchema(announced, c.mem), statement: statement}, ttl, 0)
	if err != nil {
		return "", nil, err
	}
	c.logger.Info("fragment dispatched", "queryID", job.QueryID, "fragment", job.Index, "worker", w.Addr, "routing", "direct")
	return w.Addr, ticket, nil
}
