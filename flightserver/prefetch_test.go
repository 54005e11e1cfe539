package flightserver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/systables"
)

// streamSpy records the fragment streams and merges a Runner starts, and
// how they end.
type streamSpy struct {
	Runner
	mu      sync.Mutex
	started int
	ended   []error
}

func (s *streamSpy) Stream(ctx context.Context, job coordinator.FragmentJob, send func(*flight.FlightData) error) error {
	s.mu.Lock()
	s.started++
	s.mu.Unlock()
	err := s.Runner.Stream(ctx, job, send)
	s.mu.Lock()
	s.ended = append(s.ended, err)
	s.mu.Unlock()
	return err
}

func (s *streamSpy) counts() (started, ended int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, len(s.ended)
}

func TestPrefetchStartsSingleEndpointResultBeforeDoGet(t *testing.T) {
	spy := &streamSpy{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { spy.Runner = o.Runner; o.Runner = spy }})
	ctx := context.Background()
	// Footer statistics prune shop.lines to the one file holding the row.
	info, err := e.client.Execute(ctx, "SELECT line_id, sku FROM shop.lines WHERE line_id = 7003")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 1)
	require.Eventually(t, func() bool { _, ended := spy.counts(); return ended == 1 }, 10*time.Second, time.Millisecond,
		"the fragment runs to its end (into the prefetch buffer) before any DoGet")
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 1, rows(recs))
	require.EqualValues(t, 7003, recs[0].Column(0).(*array.Int64).Value(0))
	started, _ := spy.counts()
	require.Equal(t, 1, started, "the DoGet drained the prefetched stream instead of running the fragment again")
}

func TestPrefetchOffWaitsForDoGet(t *testing.T) {
	spy := &streamSpy{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		spy.Runner = o.Runner
		o.Runner = spy
		o.Limits.PrefetchMessages = 0
	}})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT line_id FROM shop.lines WHERE line_id = 7003")
	require.NoError(t, err)
	require.Never(t, func() bool { started, _ := spy.counts(); return started > 0 }, 300*time.Millisecond, 10*time.Millisecond)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 1, rows(recs))
	started, _ := spy.counts()
	require.Equal(t, 1, started)
}

func TestPrefetchedMergeKeepsEveryBatch(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	// A top-k merge written by the coordinator in several batches: arrow-go's
	// record writer reuses its buffers, so a prefetch that kept them without
	// copying would hand the client the last batch's bytes several times.
	info, err := e.client.Execute(ctx, "SELECT line_id, country FROM shop.lines ORDER BY line_id LIMIT 9000")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 1)
	_, recs := e.fetch(t, ctx, info)
	require.Greater(t, len(recs), 1, "the merge must write several batches for this test to mean anything")
	next := int64(0)
	for _, rec := range recs {
		ids := rec.Column(0).(*array.Int64)
		for i := range ids.Len() {
			require.Equal(t, next, ids.Value(i))
			next++
		}
	}
	require.EqualValues(t, 9000, next)
}

func TestPrefetchOfAbandonedQueryStopsAtIdleTimeout(t *testing.T) {
	h := &historySink{}
	spy := &streamSpy{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		spy.Runner = o.Runner
		o.Runner = spy
		o.History = h
		o.Limits.IdleTimeout = 300 * time.Millisecond
	}})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, slowSQL)
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 1)
	require.Eventually(t, func() bool { started, _ := spy.counts(); return started == 1 }, 10*time.Second, time.Millisecond)
	rec := h.waitEnded(t, queryID(t, info))
	require.Equal(t, systables.StateFailed, rec.State)
	require.Contains(t, rec.Error, "abandoned")
	require.Eventually(t, func() bool { _, ended := spy.counts(); return ended == 1 }, 20*time.Second, 5*time.Millisecond,
		"the prefetching worker stream is canceled with its query")
	spy.mu.Lock()
	require.Error(t, spy.ended[0])
	spy.mu.Unlock()
	err = drainStream(ctx, e, info)
	require.ErrorContains(t, err, "abandoned", "a late DoGet learns why the query ended")
}

func TestPrefetchNegativeRefused(t *testing.T) {
	_, err := New(Options{Limits: Limits{PrefetchMessages: -1}})
	require.ErrorContains(t, err, "--prefetch-messages")
}
