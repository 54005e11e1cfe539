package coordinator

import "context"

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

func (t *Trace) retry() {
	if t != nil && t.Retry != nil {
		t.Retry()
	}
}
