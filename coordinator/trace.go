package coordinator

import (
	"context"
	"sync/atomic"
	"time"
)

// Trace observes one query's execution: the server uses it for progress,
// result limits and query history. Every field is optional.
type Trace struct {
	// Rows is called with the row count of every batch sent to the client,
	// before it is sent; an error aborts the query with that error.
	Rows func(n int64) error
	// Worker is called with the address of each worker a fragment is sent to.
	Worker func(addr string)
	// FragmentDone is called when a fragment's whole result has arrived.
	FragmentDone func()
	// Retry is called when a fragment is re-run on another worker.
	Retry func()
	// Spooled is called with what each exchange wrote to the spool.
	Spooled func(rows, bytes int64)
	// Fragment is called with what each fragment and exchange producer
	// did, once it succeeded (EXPLAIN ANALYZE).
	Fragment func(FragmentStats)
}

// FragmentStats are what one fragment or exchange producer did.
type FragmentStats struct {
	// Exchange is the exchange a producer wrote (numbered across a plan's
	// rounds, planner.Round.First on), -1 for a fragment of the plan.
	Exchange int
	// Index is the producer's or fragment's index.
	Index int
	// Worker ran the successful attempt; Attempts counts every attempt.
	Worker   string
	Attempts int
	// Wall is the successful attempt's time from dispatch to its end.
	Wall time.Duration
	// CPU is the worker process's CPU time during that attempt, as the
	// worker reports it (fragwire.CPUTrailer): other fragments it ran
	// meanwhile count too. CPUStart and CPUEnd are the process's CPU time
	// at the attempt's start and end: a worker's fragments of one stage
	// kept it busy for max(CPUEnd) - min(CPUStart).
	CPU, CPUStart, CPUEnd time.Duration
	// Rows are the rows it returned (a producer: wrote to the spool);
	// Bytes the Arrow IPC bytes the worker sent (a producer: the Parquet
	// bytes it wrote).
	Rows, Bytes int64
	// Spill is the largest size the worker's DuckDB temp directory
	// reached while the attempt ran (fragwire.SpillTrailer).
	Spill int64
}

// fragmentCounts are what one attempt measured, filled by the stream
// reading it.
type fragmentCounts struct {
	rows, bytes, spill atomic.Int64
	cpuStart, cpuEnd   atomic.Int64
}

type countsKey struct{}

func withCounts(ctx context.Context, c *fragmentCounts) context.Context {
	return context.WithValue(ctx, countsKey{}, c)
}

// countsOf returns the attempt's counts; a throwaway when there are none.
func countsOf(ctx context.Context) *fragmentCounts {
	if c, ok := ctx.Value(countsKey{}).(*fragmentCounts); ok {
		return c
	}
	return &fragmentCounts{}
}

type traceKey struct{}

// WithTrace returns ctx carrying t; Stream and Merge report to it.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func traceOf(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

func (t *Trace) rows(n int64) error {
	if t == nil || t.Rows == nil {
		return nil
	}
	return t.Rows(n)
}

func (t *Trace) worker(addr string) {
	if t != nil && t.Worker != nil {
		t.Worker(addr)
	}
}

func (t *Trace) fragmentDone() {
	if t != nil && t.FragmentDone != nil {
		t.FragmentDone()
	}
}

func (t *Trace) spooled(rows, bytes int64) {
	if t != nil && t.Spooled != nil {
		t.Spooled(rows, bytes)
	}
}

func (t *Trace) retry() {
	if t != nil && t.Retry != nil {
		t.Retry()
	}
}

func (t *Trace) fragment(st FragmentStats) {
	if t != nil && t.Fragment != nil {
		t.Fragment(st)
	}
}
