package worker

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/errkind"
)

// oomAttempts bounds how often one fragment runs when it keeps running out
// of memory in company.
const oomAttempts = 3

// query runs a fragment's SQL so that a fragment that exceeds the worker's
// memory fails alone.
//
// All fragments share one DuckDB buffer pool (memory_limit). When one of
// them takes all of it, whichever asks for memory next fails, often a small
// fragment next to the hungry one. So an out-of-memory error in company is
// not yet a verdict: the fragment waits (holding nothing) until the
// fragments active at that moment have finished, then runs again. A
// fragment that runs out of memory with no other fragment active has only
// itself to blame and fails; so does one that failed oomAttempts times.
// Only errors from QueryArrow are retried: it returns once the first
// batch exists, so they come before anything was streamed and a new
// attempt cannot duplicate rows. That covers the blocking phases where
// memory runs out (aggregates, sorts, join builds); an out-of-memory error
// later in a streaming result ends the fragment like any other error.
//
// ctx is the fragment's context; qctx is what DuckDB sees (the same, but
// for the IgnoreInterrupts test hook).
func (s *Server) query(ctx, qctx context.Context, r *fragmentRun, sql string, args []any) (array.RecordReader, error) {
	for n := 1; ; n++ {
		if n > 1 {
			s.track.attempt(r)
		}
		rdr, err := s.runOnce(ctx, qctx, n > 1, sql, args)
		if err == nil || engine.Classify(err) != errkind.Exhausted || ctx.Err() != nil {
			return rdr, err
		}
		if !s.track.hadCompany(r) {
			s.logger.Warn("fragment ran out of memory on its own", "queryID", r.queryID, "attempt", n)
			return nil, err
		}
		if n == oomAttempts {
			s.logger.Warn("fragment ran out of memory in company too often; giving up", "queryID", r.queryID, "attempts", n)
			return nil, err
		}
		s.oomRetries.Inc()
		waited, werr := s.track.waitOthers(ctx, r)
		if werr != nil {
			return nil, err
		}
		s.logger.Info("fragment ran out of memory while others ran; running it again now they are done",
			"queryID", r.queryID, "attempt", n, "waitedFor", waited, "err", firstLine(err))
	}
}

// runOnce runs the statement; a re-run (after running out of memory)
// first takes the worker's re-run turn and holds it until the statement
// returned.
func (s *Server) runOnce(ctx, qctx context.Context, rerun bool, sql string, args []any) (array.RecordReader, error) {
	if rerun {
		select {
		case s.rerun <- struct{}{}:
			defer func() { <-s.rerun }()
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return s.opts.DB.QueryArrow(qctx, sql, args...)
}
