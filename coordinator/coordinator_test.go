package coordinator

import (
	"context"
	"net"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/worker"
)

func liveWorker(t *testing.T, signer *worker.Signer) string {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	flight.RegisterFlightServiceServer(gs, worker.NewServer(worker.ServerOptions{DB: db, Signer: signer}))
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestStreamRetriesUnreachableWorker(t *testing.T) {
	signer, err := worker.NewSigner([]byte("coordinator-test-secret"))
	require.NoError(t, err)
	db, err := engine.Open(context.Background(), engine.Options{})
	require.NoError(t, err)
	defer db.Close()
	pool := worker.NewPool()
	defer pool.Close()
	dead := deadAddr(t)
	require.NoError(t, pool.Set([]string{dead, liveWorker(t, signer)}))
	reg := prometheus.NewRegistry()
	c := New(Options{DB: db, Workers: pool, Signer: signer, Registerer: reg})

	// Run enough fragments that round robin hands some to the dead worker first.
	for i := 0; i < 4; i++ {
		var msgs int
		err := c.Stream(context.Background(), "q", planner.Fragment{SQL: "SELECT 42 AS x"}, nil, func(*flight.FlightData) error {
			msgs++
			return nil
		})
		require.NoError(t, err)
		require.GreaterOrEqual(t, msgs, 2, "schema and one batch")
	}
	require.GreaterOrEqual(t, testutil.ToFloat64(c.retries), 1.0)

	t.Run("no worker left", func(t *testing.T) {
		require.NoError(t, pool.Set([]string{dead}))
		err := c.Stream(context.Background(), "q", planner.Fragment{SQL: "SELECT 1"}, nil, func(*flight.FlightData) error { return nil })
		require.ErrorIs(t, err, worker.ErrNoWorkers)
	})
	t.Run("query errors are not retried", func(t *testing.T) {
		require.NoError(t, pool.Set([]string{liveWorker(t, signer)}))
		before := testutil.ToFloat64(c.retries)
		err := c.Stream(context.Background(), "q", planner.Fragment{SQL: "SELECT nope"}, nil, func(*flight.FlightData) error { return nil })
		require.Equal(t, codes.InvalidArgument, status.Code(err))
		require.Equal(t, before, testutil.ToFloat64(c.retries))
	})
}
