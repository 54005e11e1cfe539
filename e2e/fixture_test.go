package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// demoScale keeps every e2e query fast: plays has max(10000, 5e6·F) rows.
const demoScale = 0.01

// bucket is the MinIO bucket S3 fixtures write to.
const bucket = "quiver-e2e"

// fixture is one warehouse with demo data, a server over it and an oracle
// over the same files.
type fixture struct {
	warehouse string
	minio     *harness.MinIO // nil for a local warehouse
	server    *harness.Server
	oracle    *harness.Oracle
}

// newS3Fixture starts MinIO, writes the demo data to s3://quiver-e2e/wh and
// serves it with two local workers.
func newS3Fixture(t *testing.T) *fixture {
	t.Helper()
	harness.QuiverBin(t) // skip before starting anything when it is missing
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := harness.StartMinIO(t)
	require.NoError(t, m.CreateBucket(ctx, bucket))
	wh := "s3://" + bucket + "/wh"
	harness.DemoData(t, wh, demoScale, m.Env(), "--s3-endpoint", m.Endpoint())
	srv := harness.StartServer(t, harness.ServerOptions{
		Warehouse:  wh,
		S3Endpoint: m.Endpoint(),
		Env:        m.Env(),
	})
	return &fixture{
		warehouse: wh,
		minio:     m,
		server:    srv,
		oracle:    harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, MinIO: m}),
	}
}

// newLocalFixture writes the demo data to a temporary directory and serves
// it with two local workers. prepare, when set, may add files to the
// warehouse before the server starts; tables limits the oracle's views.
func newLocalFixture(t *testing.T, prepare func(wh string), tables []string) *fixture {
	t.Helper()
	return newLocalFixtureArgs(t, prepare, tables, nil)
}

// newLocalFixtureArgs is newLocalFixture with more `quiver serve` flags.
func newLocalFixtureArgs(t *testing.T, prepare func(wh string), tables []string, args []string) *fixture {
	t.Helper()
	harness.QuiverBin(t)
	wh := filepath.Join(t.TempDir(), "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	if prepare != nil {
		prepare(wh)
	}
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, Args: args})
	return &fixture{
		warehouse: wh,
		server:    srv,
		oracle:    harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: tables}),
	}
}

// demoTables are the tables `quiver demo-data` writes.
var demoTables = []string{"demo.events", "demo.plays", "demo.profiles", "demo.titles"}

// loadCorpus reads the shared query corpus.
func loadCorpus(t *testing.T) []harness.Query {
	t.Helper()
	queries, err := harness.LoadQueries(filepath.Join(harness.RepoRoot(t), "testdata", "e2e", "queries.sql"))
	require.NoError(t, err)
	require.NotEmpty(t, queries)
	return queries
}

// dialFlightSQL opens a Flight SQL client that is closed in t.Cleanup.
func dialFlightSQL(t *testing.T, addr string, mem memory.Allocator) *flightsql.Client {
	t.Helper()
	cl, err := harness.DialFlightSQL(addr, mem)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// describe renders an error with its gRPC code, for failure messages.
func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("code=%s message=%q", st.Code(), st.Message())
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return fmt.Sprintf("code=%s message=%q (wrapped: %v)", se.GRPCStatus().Code(), se.GRPCStatus().Message(), err)
	}
	return err.Error()
}

// queryCtx bounds one query so a hung server fails the test instead of
// stalling the run.
func queryCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// requireServes checks the server still answers a good query.
func requireServes(t *testing.T, cl *flightsql.Client) {
	t.Helper()
	res, err := harness.RunFlightSQL(queryCtx(t), cl, "SELECT 1 AS one")
	require.NoError(t, err, "server no longer serves: %s", describe(err))
	defer res.Release()
	require.Equal(t, int64(1), res.NumRows())
}
