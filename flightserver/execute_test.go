package flightserver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/systables"
)

func TestExecuteStreamsEveryEndpoint(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	var sku3 int64
	for i := range 30000 {
		if i%7 == 3 {
			sku3++
		}
	}
	for _, c := range []struct {
		sql, column string
		rows        int64
	}{
		{"SELECT line_id FROM shop.lines WHERE sku = ?", "line_id", sku3},                  // one endpoint per fragment
		{"SELECT sku, count(*) AS n FROM shop.lines WHERE sku = ? GROUP BY sku", "sku", 1}, // merged
	} {
		rdr, err := e.srv.Execute(ctx, c.sql, []any{int64(3)})
		require.NoError(t, err, c.sql)
		var n int64
		for rdr.Next() {
			n += rdr.RecordBatch().NumRows()
		}
		require.NoError(t, rdr.Err(), c.sql)
		require.Equal(t, c.rows, n, c.sql)
		require.Equal(t, c.column, rdr.Schema().Field(0).Name)
		rdr.Release()
	}
	require.Eventually(t, func() bool { return len(h.recs) == 2 }, 5*time.Second, 5*time.Millisecond)
	for _, r := range h.recs {
		require.Equal(t, systables.StateFinished, r.State, r.Error)
	}
}

func TestExecuteErrorsAndEarlyRelease(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	_, err := e.srv.Execute(ctx, "SELECT * FROM shop.nope", nil)
	require.Equal(t, codes.NotFound, status.Code(toStatus(err)))

	rdr, err := e.srv.Execute(ctx, "SELECT * FROM shop.lines", nil)
	require.NoError(t, err)
	require.True(t, rdr.Next())
	rdr.Release() // before the end: the query ends, nothing leaks (the allocator is checked)
	require.Eventually(t, func() bool { return len(e.srv.Running()) == 0 }, 5*time.Second, 5*time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.recs, 2)
	require.Equal(t, systables.StateFailed, h.recs[0].State) // the missing table
	require.Equal(t, systables.StateCancelled, h.recs[1].State)
}
