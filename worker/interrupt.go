package worker

import (
	"context"
	"sync"
	"time"
)

// watchInterrupt watches one fragment's context. When it ends (the
// coordinator canceled, the client went away, a deadline passed) DuckDB is
// being interrupted by duckdb-go; if the fragment has still not returned
// InterruptGrace later, the interrupt did not take and the worker is no
// longer trustworthy: OnStuck is called (the worker command exits non-zero
// there so its supervisor restarts it). The returned stop ends the watch and
// waits for its goroutine.
func (s *Server) watchInterrupt(ctx context.Context, r *fragmentRun) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		r.canceled.Store(true)
		s.logger.Info("fragment canceled; interrupting duckdb", "queryID", r.queryID, "cause", context.Cause(ctx), "rows", r.rows.Load())
		if s.opts.InterruptGrace < 0 {
			return
		}
		timer := time.NewTimer(s.opts.InterruptGrace)
		defer timer.Stop()
		select {
		case <-done:
			return
		case <-timer.C:
		}
		s.stuck.Inc()
		s.logger.Error("interrupt did not take: the canceled fragment is still running; recycling the worker",
			"queryID", r.queryID, "grace", s.opts.InterruptGrace, "started", r.started)
		if s.opts.OnStuck != nil {
			s.opts.OnStuck(r.queryID)
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
