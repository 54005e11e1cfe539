package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quiver-data/quiver/errkind"
	"github.com/stretchr/testify/require"
)

// QueryArrow runs the blocking phases of a query (here: the aggregate)
// before it returns and the rest while the reader fetches; either way a
// context that ends interrupts DuckDB, again every 500ms until the query
// stopped. These tests pin that down for QueryArrow, the call workers use
// (stream_test.go covers a cancel in the middle of a fetch).

func TestQueryArrowInterruptedDuringExecution(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	// Minutes of work on two threads if nothing interrupted it.
	rdr, err := db.QueryArrow(ctx, "SELECT sum(i * i % 7) FROM range(100000000000) t(i)")
	took := time.Since(start)
	if rdr != nil {
		rdr.Release()
	}
	require.Error(t, err)
	require.Equal(t, errkind.Canceled, Classify(err), "%v", err)
	require.Less(t, took, 3*time.Second, "interrupted within a few seconds of the cancel")
	// The connection is usable afterwards.
	var n int64
	require.NoError(t, db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM range(10)").Scan(&n))
	require.EqualValues(t, 10, n)
}

func TestQueryArrowStopsStreamingOnCancel(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rdr, err := db.QueryArrow(ctx, "SELECT i FROM range(1000000) t(i)")
	require.NoError(t, err)
	defer rdr.Release()
	require.True(t, rdr.Next())
	cancel()
	require.False(t, rdr.Next(), "no batch after the cancel")
	require.True(t, errors.Is(rdr.Err(), context.Canceled), "%v", rdr.Err())
}

func TestQueryArrowDeadline(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rdr, err := db.QueryArrow(ctx, "SELECT sum(i * i % 7) FROM range(100000000000) t(i)")
	if rdr != nil {
		rdr.Release()
	}
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second)
}

// TestInterruptedConnectionIsDiscarded: the connection of an interrupted
// query is closed, not handed to the next query.
func TestInterruptedConnectionIsDiscarded(t *testing.T) {
	db, err := Open(context.Background(), Options{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	rdr, err := db.QueryArrow(context.Background(), "SELECT 1")
	require.NoError(t, err)
	rdr.Release()
	open := db.SQL().Stats().OpenConnections
	require.Positive(t, open)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rdr, err = db.QueryArrow(ctx, "SELECT sum(i * i % 7) FROM range(100000000000) t(i)")
	require.Error(t, err)
	require.Nil(t, rdr)
	require.Equal(t, open-1, db.SQL().Stats().OpenConnections, "the interrupted query's connection was closed")

	// Canceled while streaming: closed on Release.
	rdr, err = db.QueryArrow(context.Background(), "SELECT 1")
	require.NoError(t, err)
	rdr.Release()
	open = db.SQL().Stats().OpenConnections
	ctx, cancel = context.WithCancel(context.Background())
	rdr, err = db.QueryArrow(ctx, "SELECT i FROM range(100000) t(i)")
	require.NoError(t, err)
	cancel()
	rdr.Release()
	require.Equal(t, open-1, db.SQL().Stats().OpenConnections)

	var n int64
	require.NoError(t, db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM range(7)").Scan(&n))
	require.EqualValues(t, 7, n)
}
