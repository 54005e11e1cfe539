package flightserver

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"golang.org/x/sync/errgroup"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/planner"
)

// analysis is what EXPLAIN ANALYZE collects while its query runs: every
// fragment's and producer's stats and each round of exchanges' wall time.
type analysis struct {
	fragments []coordinator.FragmentStats
	rounds    []time.Duration
}

// countingSink takes a result's messages and keeps only their size.
type countingSink struct {
	mu    sync.Mutex
	bytes int64
}

func (c *countingSink) Send(fd *flight.FlightData) error {
	c.mu.Lock()
	c.bytes += int64(len(fd.DataHeader) + len(fd.DataBody))
	c.mu.Unlock()
	return nil
}

// analyze runs a planned query whose exchanges already ran, the way its
// endpoints would (a merge on the coordinator, or every fragment relayed),
// into a sink that drops the rows, and returns EXPLAIN's rows followed by
// what each stage and fragment did.
func (s *Server) analyze(ctx context.Context, lq *liveQuery, plan *planner.Plan, job coordinator.Job) ([]explainRow, error) {
	rows := explain(plan)
	job.Codec = flightwire.Uncompressed // the sink drops the rows
	if plan.Local {
		return append(rows, explainRow{"analyze", "system tables are read on the coordinator: there are no fragments to measure"}), nil
	}
	qctx, cancel := context.WithCancel(lq.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	qctx = coordinator.WithTrace(qctx, lq.trace())
	sink := &countingSink{}
	start := time.Now()
	var err error
	if plan.Merge != nil {
		err = s.opts.Runner.Merge(qctx, job, plan, sink)
	} else {
		g, gctx := errgroup.WithContext(qctx)
		for i, frag := range plan.Fragments {
			g.Go(func() error {
				return s.opts.Runner.Stream(gctx, coordinator.FragmentJob{Job: job, Index: i, Fragment: frag}, sink.Send)
			})
		}
		err = g.Wait()
	}
	if err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			if cause := context.Cause(lq.ctx); cause != nil {
				return nil, cause
			}
		}
		return nil, err
	}
	wall := time.Since(start)
	lq.mu.Lock()
	a := *lq.analysis
	a.fragments = append([]coordinator.FragmentStats(nil), a.fragments...)
	result := lq.rec.Rows
	lq.mu.Unlock()
	return append(rows, analyzeRows(plan, &a, wall, result, sink.bytes)...), nil
}

// analyzeRows are EXPLAIN ANALYZE's own rows: per stage its fragments,
// rows, bytes, wall time and busiest worker, then each fragment, then the
// result.
func analyzeRows(plan *planner.Plan, a *analysis, wall time.Duration, resultRows, resultBytes int64) []explainRow {
	rounds := len(a.rounds)
	stageOf := func(st coordinator.FragmentStats) int {
		if st.Exchange < 0 {
			return rounds // the plan's fragments come after every round
		}
		return plan.RoundOf(st.Exchange)
	}
	sort.SliceStable(a.fragments, func(i, j int) bool {
		x, y := a.fragments[i], a.fragments[j]
		if stageOf(x) != stageOf(y) {
			return stageOf(x) < stageOf(y)
		}
		if x.Exchange != y.Exchange {
			return x.Exchange < y.Exchange
		}
		return x.Index < y.Index
	})
	var rows []explainRow
	for stage := 0; stage <= rounds; stage++ {
		var in []coordinator.FragmentStats
		for _, st := range a.fragments {
			if stageOf(st) == stage {
				in = append(in, st)
			}
		}
		kind, stageWall := "fragments", wall
		if stage < rounds {
			kind, stageWall = "exchange producers", a.rounds[stage]
		}
		var n, b, spill int64
		// A worker was busy with the stage from its first fragment's
		// start to its last one's end, in process CPU time.
		type span struct{ start, end time.Duration }
		spans := map[string]span{}
		for _, st := range in {
			n, b, spill = n+st.Rows, b+st.Bytes, max(spill, st.Spill)
			sp, ok := spans[st.Worker]
			if !ok {
				sp = span{st.CPUStart, st.CPUEnd}
			}
			spans[st.Worker] = span{min(sp.start, st.CPUStart), max(sp.end, st.CPUEnd)}
		}
		busiest, most := "", time.Duration(-1)
		for w, sp := range spans {
			if c := sp.end - sp.start; c > most || c == most && w < busiest {
				busiest, most = w, c
			}
		}
		detail := fmt.Sprintf("%d %s, rows=%d bytes=%d spill=%d wall=%s", len(in), kind, n, b, spill, ms(stageWall))
		if busiest != "" {
			detail += fmt.Sprintf(" busiest worker=%s cpu=%s", busiest, ms(most))
		}
		rows = append(rows, explainRow{fmt.Sprintf("analyze stage %d", stage), detail})
		for _, st := range in {
			name := fmt.Sprintf("analyze stage %d fragment %d", stage, st.Index)
			if st.Exchange >= 0 {
				name = fmt.Sprintf("analyze stage %d exchange %d producer %d", stage, st.Exchange, st.Index)
			}
			rows = append(rows, explainRow{name, fmt.Sprintf("worker=%s attempts=%d rows=%d bytes=%d spill=%d wall=%s cpu=%s",
				st.Worker, st.Attempts, st.Rows, st.Bytes, st.Spill, ms(st.Wall), ms(st.CPU))})
		}
	}
	notes := []string{fmt.Sprintf("rows=%d bytes=%d wall=%s (after planning and exchanges)", resultRows, resultBytes, ms(wall))}
	if plan.Merge != nil {
		notes = append(notes, "merged on the coordinator")
	}
	notes = append(notes, "cpu is each worker process's while the fragment ran (fragments it ran at the same time count in each; "+
		"a stage's busiest worker is the one its fragments kept busiest, first start to last end)",
		"spill is the largest size the worker's DuckDB temp directory reached while the fragment ran (sampled every 100 ms; "+
			"what other fragments spilled there counts too)")
	return append(rows, explainRow{"analyze result", strings.Join(notes, "; ")})
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
