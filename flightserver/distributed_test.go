package flightserver

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// rowStrings renders rows as sorted strings (a multiset), floats rounded.
func rowStrings(recs []arrow.RecordBatch) []string {
	var out []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			cells := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				if f, ok := col.(*array.Float64); ok && f.IsValid(i) {
					cells[c] = strconv.FormatFloat(f.Value(i), 'g', 10, 64)
					continue
				}
				// Clone: a string value points into the batch's buffer.
				cells[c] = strings.Clone(col.ValueStr(i))
			}
			out = append(out, strings.Join(cells, "|"))
		}
	}
	sort.Strings(out)
	return out
}

// oracle runs sql in one DuckDB straight over the files.
func (e *testEnv) oracle(t *testing.T, sql string) []string {
	t.Helper()
	q := strings.ReplaceAll(sql, "shop.lines", fmt.Sprintf("read_parquet('%s/shop/lines/*.parquet')", e.dir))
	rdr, err := e.db.QueryArrow(context.Background(), q)
	require.NoError(t, err)
	defer rdr.Release()
	var out []string
	for rdr.Next() {
		// DuckDB reuses a batch's memory on Next: render it now.
		out = append(out, rowStrings([]arrow.RecordBatch{rdr.RecordBatch()})...)
	}
	require.NoError(t, rdr.Err())
	sort.Strings(out)
	return out
}

var distributedQueries = []struct {
	name     string
	sql      string
	minEnds  int // endpoints at least
	strategy string
}{
	{"scan splits into endpoints", "SELECT * FROM shop.lines WHERE sku = 3", 2, "scan"},
	{"global aggregate merges", "SELECT count(*) AS n, sum(amount) AS s, min(line_id) AS lo FROM shop.lines", 1, "aggregate"},
	{"grouped aggregate with avg", "SELECT sku, count(*) AS n, avg(amount) AS a FROM shop.lines GROUP BY sku", 1, "aggregate"},
	{"having and where", "SELECT country, count(*) AS n FROM shop.lines WHERE amount > 5 GROUP BY country HAVING count(*) > 10", 1, "aggregate"},
	{"top-k", "SELECT line_id, amount FROM shop.lines ORDER BY amount DESC, line_id LIMIT 5", 1, "topk"},
	{"distinct", "SELECT DISTINCT country FROM shop.lines", 1, "distinct"},
}

func TestDistributedQueriesMatchDuckDB(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for _, tc := range distributedQueries {
		t.Run(tc.name, func(t *testing.T) {
			info, err := e.client.Execute(ctx, tc.sql)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(info.Endpoint), tc.minEnds)
			_, recs := e.fetch(t, ctx, info)
			require.Equal(t, e.oracle(t, tc.sql), rowStrings(recs))

			steps := e.explain(t, ctx, tc.sql)
			require.Contains(t, steps["strategy"], tc.strategy, "%v", steps)
		})
	}
}

// explain runs EXPLAIN sql and returns detail by step.
func (e *testEnv) explain(t *testing.T, ctx context.Context, sql string) map[string]string {
	t.Helper()
	return e.steps(t, ctx, "EXPLAIN "+sql)
}

// steps runs an EXPLAIN statement and maps each step to its detail.
func (e *testEnv) steps(t *testing.T, ctx context.Context, sql string) map[string]string {
	t.Helper()
	info, err := e.client.Execute(ctx, sql)
	require.NoError(t, err)
	schema, recs := e.fetch(t, ctx, info)
	require.Equal(t, "step", schema.Field(0).Name)
	require.Equal(t, "detail", schema.Field(1).Name)
	out := map[string]string{}
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			out[rec.Column(0).ValueStr(i)] = rec.Column(1).ValueStr(i)
		}
	}
	return out
}

func TestExplain(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const q = "SELECT sku, count(*) AS n FROM shop.lines GROUP BY sku"

	t.Run("flight sql statement", func(t *testing.T) {
		steps := e.explain(t, ctx, q)
		require.Contains(t, steps["strategy"], "aggregate")
		require.Contains(t, steps["strategy"], "split shop.lines")
		require.Contains(t, steps["fragment 0"], "worker=127.0.0.1:")
		require.Contains(t, steps["fragment 0"], "read_parquet")
		require.Contains(t, steps["merge"], "quiver_partials")
		require.Equal(t, "files=6 pruned=0", steps["table shop.lines"])
	})
	t.Run("plain flight SQL text", func(t *testing.T) {
		info, err := e.raw.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("EXPLAIN " + q)})
		require.NoError(t, err)
		require.Positive(t, info.TotalRecords)
		_, recs := e.fetch(t, ctx, info)
		require.EqualValues(t, info.TotalRecords, rows(recs))
		require.Equal(t, "strategy", recs[0].Column(0).ValueStr(0))
	})
	t.Run("prepared statement schema", func(t *testing.T) {
		stmt, err := e.client.Prepare(ctx, "EXPLAIN "+q)
		require.NoError(t, err)
		defer stmt.Close(ctx)
		require.True(t, stmt.DatasetSchema().Equal(explainSchema))
	})
	t.Run("single-fragment query says why", func(t *testing.T) {
		steps := e.explain(t, ctx, "SELECT max(id) FROM shop.orders")
		require.NotEmpty(t, steps["strategy"])
		require.Contains(t, steps["fragment 0"], "sql=")
	})
}

func TestDirectRouting(t *testing.T) {
	e := newTestEnvWith(t, envOptions{routing: RoutingDirect})
	ctx := context.Background()
	const q = "SELECT line_id, sku, amount FROM shop.lines WHERE sku IN (1, 2)"
	info, err := e.client.Execute(ctx, q)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(info.Endpoint), 2)
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, ep := range info.Endpoint {
		require.Len(t, ep.Location, 1)
		addr, ok := strings.CutPrefix(ep.Location[0].Uri, "grpc://")
		require.True(t, ok, ep.Location[0].Uri)
		require.Contains(t, e.workers, addr, "the endpoint names a worker")
		// What a Flight client does with a location: dial it and redeem the ticket there.
		wc, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		rdr, err := wc.DoGet(ctx, ep.Ticket)
		require.NoError(t, err)
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		require.NoError(t, rdr.Err())
		rdr.Release()
		wc.Close()
	}
	require.Equal(t, e.oracle(t, q), rowStrings(recs))

	t.Run("a fragment ticket redeemed at the server says where it belongs", func(t *testing.T) {
		rdr, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
		if err == nil {
			for rdr.Next() {
			}
			err = rdr.Err()
			rdr.Release()
		}
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "worker fragment ticket (direct routing)")
		require.ErrorContains(t, err, "endpoint's location")
	})

	t.Run("a ticket the server never issued is named as such", func(t *testing.T) {
		rdr, err := e.client.DoGet(ctx, &flight.Ticket{Ticket: []byte{0xff, 0x01, 0x02}})
		if err == nil {
			for rdr.Next() {
			}
			err = rdr.Err()
			rdr.Release()
		}
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.ErrorContains(t, err, "neither a Quiver query ticket nor a Flight SQL command")
		require.NotContains(t, err.Error(), "wire-format")
	})

	t.Run("merge plans are proxied", func(t *testing.T) {
		const agg = "SELECT sku, count(*) AS n FROM shop.lines GROUP BY sku"
		info, err := e.client.Execute(ctx, agg)
		require.NoError(t, err)
		require.Len(t, info.Endpoint, 1)
		require.Empty(t, info.Endpoint[0].Location)
		_, recs := e.fetch(t, ctx, info)
		require.Equal(t, e.oracle(t, agg), rowStrings(recs))
	})
}

func TestRoutingOption(t *testing.T) {
	_, err := New(Options{Delivery: Delivery{Routing: "sideways"}})
	require.ErrorContains(t, err, "proxy or direct")
}
