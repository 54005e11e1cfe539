package flightserver

import (
	"context"
	"time"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/planner"
)

// releaseTimeout bounds removing a query's spool when it ends.
const releaseTimeout = 30 * time.Second

// exchange runs the rounds of exchanges of a planned query before its
// endpoints are handed out (the tables', then a final aggregate's
// partials), binding its fragments to their parts after each, and returns
// how many stages the query has: the rounds, then the fragments. The
// producers run under the query's context (a cancel, the query timeout or
// the client giving up on GetFlightInfo stops them); the query's end
// removes what they wrote.
func (s *Server) exchange(ctx context.Context, lq *liveQuery, plan *planner.Plan, job coordinator.Job) (int, error) {
	lq.mu.Lock()
	lq.spooled = true
	lq.mu.Unlock()
	qctx, cancel := context.WithCancel(lq.ctx)
	defer cancel()
	// Producers count in progress, retries, workers and the spool's size.
	qctx = coordinator.WithTrace(qctx, lq.trace())
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	stages := 1
	for round := plan.Next(); round != nil; round = plan.Next() {
		start := time.Now()
		parts, err := s.opts.Runner.Exchange(qctx, job, round)
		lq.mu.Lock()
		if lq.analysis != nil {
			lq.analysis.rounds = append(lq.analysis.rounds, time.Since(start))
		}
		lq.mu.Unlock()
		if err != nil {
			if qctx.Err() != nil && ctx.Err() == nil {
				if cause := context.Cause(lq.ctx); cause != nil {
					return 0, cause
				}
			}
			return 0, err
		}
		if err := plan.Bind(ctx, parts); err != nil {
			return 0, err
		}
		stages++
	}
	return stages, nil
}
