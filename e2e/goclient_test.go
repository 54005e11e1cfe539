package e2e_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
)

// TestGoClient drives package client, which `quiver query`, `sql` and
// `report` stand on, against a real server over the demo fixture: named
// and positional parameters, the catalog with columns, progress of a
// running query and a server-side cancel.
func TestGoClient(t *testing.T) {
	fx := newLocalFixture(t, nil, nil)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	ctx := queryCtx(t)
	c, err := client.Dial(ctx, client.Options{Server: "grpc://" + fx.server.Addr(), Allocator: mem})
	require.NoError(t, err)
	defer c.Close()

	t.Run("parameters by name and by position", func(t *testing.T) {
		want := scalar(t, dialFlightSQL(t, fx.server.Addr(), nil), "SELECT count(*) FROM demo.titles WHERE title_id <= 40 AND kind = 'movie'")
		for sql, params := range map[string][]client.Param{
			"SELECT count(*) AS n FROM demo.titles WHERE title_id <= $top AND kind = $kind": {{Name: "kind", Value: "movie"}, {Name: "$top", Value: "40"}},
			"SELECT count(*) AS n FROM demo.titles WHERE title_id <= $1 AND kind = $2":      {{Name: "2", Value: "movie"}, {Name: "1", Value: "40"}},
		} {
			r, err := c.Query(ctx, sql, params...)
			require.NoError(t, err, sql)
			require.NotEmpty(t, r.QueryID())
			require.True(t, r.Next(), "%v", r.Err())
			require.Equal(t, want, strconv.FormatInt(r.RecordBatch().Column(0).(*array.Int64).Value(0), 10), sql)
			require.False(t, r.Next())
			require.NoError(t, r.Err())
			r.Release()
		}
	})
	t.Run("a password for a server without users", func(t *testing.T) {
		_, err := client.Dial(ctx, client.Options{Server: fx.server.Addr(), Username: "bob", Password: "x"})
		require.ErrorIs(t, err, client.ErrBadOptions)
		require.ErrorContains(t, err, "does not check passwords")
	})
	t.Run("a bad value names its placeholder", func(t *testing.T) {
		_, err := c.Query(ctx, "SELECT $1::INTEGER AS x", client.Param{Name: "1", Value: "x"})
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	})
	t.Run("tables with their columns", func(t *testing.T) {
		tables, err := c.Tables(ctx)
		require.NoError(t, err)
		i := slices.IndexFunc(tables, func(tb client.Table) bool { return tb.Schema == "demo" && tb.Name == "titles" })
		require.GreaterOrEqual(t, i, 0, "%+v", tables)
		var cols []string
		for _, f := range tables[i].Columns {
			cols = append(cols, f.Name)
		}
		require.Contains(t, cols, "title_id")
		require.Contains(t, cols, "release_date")
	})
	t.Run("progress, then cancel on the server", func(t *testing.T) {
		r, err := c.Query(ctx, "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")
		require.NoError(t, err)
		defer r.Release()
		done := make(chan error, 1)
		go func() {
			for r.Next() {
			}
			done <- r.Err()
		}()
		var p client.Progress
		require.Eventually(t, func() bool {
			p, err = c.Progress(ctx, r.QueryID())
			return err == nil && p.State == "running" && p.FragmentsTotal > 0
		}, 20*time.Second, 20*time.Millisecond, "last: %+v %v", p, err)
		require.Equal(t, r.QueryID(), p.QueryID)
		require.NoError(t, c.CancelQuery(ctx, r.QueryID()))
		select {
		case err := <-done:
			require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("the stream did not end after CancelQuery")
		}
		require.Eventually(t, func() bool {
			p, err = c.Progress(context.Background(), r.QueryID())
			return err == nil && p.State == "cancelled"
		}, 10*time.Second, 20*time.Millisecond, "last: %+v %v", p, err)
	})
}
