package flightserver

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/systables"
)

func rootIsAdmin(o *Options) {
	o.Access.IsAdmin = func(ctx context.Context) bool {
		md, _ := metadata.FromIncomingContext(ctx)
		return len(md.Get("x-user")) > 0 && md.Get("x-user")[0] == "root"
	}
}

func TestSystemQueries(t *testing.T) {
	log := systables.NewQueryLog(systables.QueryLogOptions{})
	e := newTestEnvWith(t, envOptions{system: log, tweak: rootIsAdmin})
	log.SetRunning(e.srv.Running)
	ctx := context.Background()
	alice := metadata.AppendToOutgoingContext(ctx, "x-user", "alice")
	bob := metadata.AppendToOutgoingContext(ctx, "x-user", "bob")
	root := metadata.AppendToOutgoingContext(ctx, "x-user", "root")

	info, err := e.client.Execute(alice, "SELECT line_id FROM shop.lines WHERE sku = 1")
	require.NoError(t, err)
	_, recs := e.fetch(t, alice, info)
	aliceID := queryID(t, info)
	info, err = e.client.Execute(bob, "SELECT count(*) FROM shop.orders")
	require.NoError(t, err)
	e.fetch(t, bob, info)
	bobID := queryID(t, info)
	require.Eventually(t, func() bool { _, ok := log.Lookup(bobID); return ok }, 5*time.Second, 5*time.Millisecond)

	info, err = e.client.Execute(alice, `SELECT query_id, principal, state, rows, tables, fragments, fragments_done,
		len(workers) AS workers, finished >= submitted AS ordered FROM system.queries WHERE state <> 'running'`)
	require.NoError(t, err)
	_, got := e.fetch(t, alice, info)
	require.EqualValues(t, 1, rows(got), "alice sees only her own queries")
	r := got[0]
	require.Equal(t, aliceID, r.Column(0).ValueStr(0))
	require.Equal(t, "alice", r.Column(1).ValueStr(0))
	require.Equal(t, "finished", r.Column(2).ValueStr(0))
	require.Equal(t, rows(recs), r.Column(3).(*array.Int64).Value(0))
	require.Equal(t, `["shop.lines"]`, r.Column(4).ValueStr(0))
	require.Equal(t, r.Column(5).(*array.Int64).Value(0), r.Column(6).(*array.Int64).Value(0))
	require.Positive(t, r.Column(7).(*array.Int64).Value(0))
	require.Equal(t, "true", r.Column(8).ValueStr(0))

	// The admin sees everyone's; a running query sees itself.
	info, err = e.client.Execute(root, `SELECT principal, state, tables FROM system.queries
		WHERE principal IN ('alice', 'bob', 'root') ORDER BY submitted`)
	require.NoError(t, err)
	_, got = e.fetch(t, root, info)
	require.EqualValues(t, 4, rows(got))
	require.Equal(t, "bob", got[0].Column(0).ValueStr(1))
	require.Equal(t, "root", got[0].Column(0).ValueStr(3))
	require.Equal(t, "running", got[0].Column(1).ValueStr(3))
	require.Equal(t, `["system.queries"]`, got[0].Column(2).ValueStr(3))

	// Parameters bind; aggregates and CTEs work as in any query.
	stmt, err := e.client.Prepare(bob, "WITH q AS (SELECT * FROM system.queries WHERE principal = ?) SELECT count(*) AS n FROM q")
	require.NoError(t, err)
	defer stmt.Close(bob)
	require.Equal(t, 1, stmt.ParameterSchema().NumFields())
}

func TestSystemTables(t *testing.T) {
	log := systables.NewQueryLog(systables.QueryLogOptions{})
	e := newTestEnvWith(t, envOptions{system: log})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT schema_name, table_name, files, rows, columns, partition_columns FROM system.tables ORDER BY table_name")
	require.NoError(t, err)
	_, got := e.fetch(t, ctx, info)
	require.EqualValues(t, 2, rows(got))
	r := got[0]
	require.Equal(t, "lines", r.Column(1).ValueStr(0))
	require.EqualValues(t, 6, r.Column(2).(*array.Int64).Value(0))
	require.EqualValues(t, 30000, r.Column(3).(*array.Int64).Value(0))
	require.Equal(t, "orders", r.Column(1).ValueStr(1))
	require.Equal(t, `["region"]`, r.Column(5).ValueStr(1))

	for sql, code := range map[string]codes.Code{
		"SELECT * FROM system.queries q JOIN shop.lines l ON true": codes.InvalidArgument,
		"SELECT * FROM system.nope":                                codes.NotFound,
		"SELECT * FROM system.main.queries":                        codes.PermissionDenied,
		"SELECT * FROM quiver_system.queries":                      codes.NotFound,
		"SELECT * FROM quiver_system_queries":                      codes.NotFound,
	} {
		_, err := e.client.Execute(ctx, sql)
		require.Equal(t, code, status.Code(err), "%s: %v", sql, err)
	}
}
