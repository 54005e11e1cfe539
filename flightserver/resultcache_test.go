package flightserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/resultcache"
	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// userPolicy masks shop.lines.country for the principal "masked" and
// grants everything else to everyone.
type userPolicy struct{}

func (userPolicy) Restrict(ctx context.Context, n storage.TableName, _ []storage.Column) (*planner.Restriction, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if u := md.Get("x-user"); len(u) > 0 && u[0] == "masked" && n.Name == "lines" {
		return &planner.Restriction{Masks: map[string]string{"country": "'**'"}}, nil
	}
	return &planner.Restriction{}, nil
}

// rawResult is each endpoint's messages as the client received them.
type rawResult struct {
	info      *flight.FlightInfo
	endpoints [][]byte
}

func (e *testEnv) rawQuery(t *testing.T, ctx context.Context, sql string) rawResult {
	t.Helper()
	info, err := e.client.Execute(ctx, sql)
	require.NoError(t, err, sql)
	out := rawResult{info: info}
	for _, ep := range info.Endpoint {
		require.Empty(t, ep.Location, "proxied")
		stream, err := e.raw.DoGet(ctx, ep.Ticket)
		require.NoError(t, err)
		var b bytes.Buffer
		for {
			fd, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			b.Write(fd.DataHeader)
			b.Write(fd.DataBody)
		}
		out.endpoints = append(out.endpoints, b.Bytes())
	}
	return out
}

// TestResultCache: a repeated deterministic statement is answered from
// the cache with the same bytes, endpoint by endpoint, and system.queries
// says so; a new or changed file, another policy, a volatile function,
// the client's header or another parameter misses; a principal with the
// same restrictions hits.
func TestResultCache(t *testing.T) {
	log := systables.NewQueryLog(systables.QueryLogOptions{})
	reg := prometheus.NewRegistry()
	cache, err := resultcache.New(resultcache.Options{MaxBytes: 8 << 20, Registerer: reg})
	require.NoError(t, err)
	e := newTestEnvWith(t, envOptions{system: log, policy: userPolicy{}, tweak: func(o *Options) { o.ResultCache = cache }})
	ctx := context.Background()
	strategy := func(r rawResult) string {
		t.Helper()
		id := queryID(t, r.info)
		var rec systables.QueryRecord
		require.Eventually(t, func() bool {
			var ok bool
			rec, ok = log.Lookup(id)
			return ok
		}, 10*time.Second, 10*time.Millisecond)
		return rec.Strategy
	}
	lookups := func(result string) float64 {
		return testutil.ToFloat64(cache.Lookups().WithLabelValues(result))
	}

	for _, sql := range []string{
		"SELECT country, count(*) AS n, sum(amount) AS s FROM shop.lines GROUP BY country ORDER BY country", // a merge
		"SELECT line_id, country FROM shop.lines WHERE sku = 3",                                             // one endpoint per fragment
	} {
		first := e.rawQuery(t, ctx, sql)
		require.NotEqual(t, StrategyCached, strategy(first), sql)
		second := e.rawQuery(t, ctx, sql)
		require.Equal(t, StrategyCached, strategy(second), sql)
		require.Equal(t, first.endpoints, second.endpoints, "%s: the same bytes, endpoint by endpoint", sql)
		require.Equal(t, first.info.Schema, second.info.Schema)
	}
	require.Equal(t, 2.0, lookups(resultcache.Hit))

	const q = "SELECT country, count(*) AS n FROM shop.lines GROUP BY country ORDER BY country"
	base := e.rawQuery(t, ctx, q)
	as := func(user string) context.Context { return metadata.AppendToOutgoingContext(ctx, "x-user", user) }
	require.Equal(t, StrategyCached, strategy(e.rawQuery(t, as("bob"), q)), "another principal with the same restrictions")
	masked := e.rawQuery(t, as("masked"), q)
	require.NotEqual(t, StrategyCached, strategy(masked), "another policy")
	require.NotEqual(t, base.endpoints, masked.endpoints)
	require.Equal(t, StrategyCached, strategy(e.rawQuery(t, as("masked"), q)))

	// The client turns it off: no hit, and the run fills nothing.
	off := metadata.AppendToOutgoingContext(ctx, ResultCacheHeader, "off")
	require.NotEqual(t, StrategyCached, strategy(e.rawQuery(t, off, q)))
	_, err = e.client.Execute(metadata.AppendToOutgoingContext(ctx, ResultCacheHeader, "maybe"), q)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)

	// Volatile statements never hit.
	for _, sql := range []string{
		"SELECT count(*) AS n FROM shop.lines WHERE random() < 2",
		"SELECT max(line_id) AS m, current_date AS d FROM shop.lines",
	} {
		e.rawQuery(t, ctx, sql)
		require.NotEqual(t, StrategyCached, strategy(e.rawQuery(t, ctx, sql)), sql)
	}

	// A new file, then a changed one: the snapshot is another.
	write := func(name string, from, to int) {
		t.Helper()
		_, err := e.db.SQL().ExecContext(ctx, fmt.Sprintf(`COPY (SELECT i AS line_id, i %% 7 AS sku, 1.0::DOUBLE AS amount, 'new' AS country
			FROM range(%d, %d) t(i)) TO '%s' (FORMAT parquet)`, from, to, filepath.Join(e.dir, "shop", "lines", name)))
		require.NoError(t, err)
	}
	write("part-6.parquet", 30000, 30010)
	grown := e.rawQuery(t, ctx, q)
	require.NotEqual(t, StrategyCached, strategy(grown), "a new file")
	require.NotEqual(t, base.endpoints, grown.endpoints)
	require.Equal(t, StrategyCached, strategy(e.rawQuery(t, ctx, q)))
	write("part-6.parquet", 30000, 30020)
	require.NotEqual(t, StrategyCached, strategy(e.rawQuery(t, ctx, q)), "a changed file")

	// Parameters are part of the key.
	prep, err := e.client.Prepare(ctx, "SELECT max(line_id) AS n FROM shop.lines WHERE sku = ?")
	require.NoError(t, err)
	defer prep.Close(ctx)
	counts := map[int64]int64{}
	for _, sku := range []int64{1, 2, 1} {
		prep.SetParameters(paramRow(t, sku))
		info, err := prep.Execute(ctx)
		require.NoError(t, err)
		_, recs := e.fetch(t, ctx, info)
		require.Len(t, recs, 1)
		n := recs[0].Column(0).(*array.Int64).Value(0)
		if prev, ok := counts[sku]; ok {
			require.Equal(t, prev, n)
			require.Equal(t, StrategyCached, e.history(t, ctx, log, info, "strategy")[0])
		} else {
			counts[sku] = n
			require.NotEqual(t, StrategyCached, e.history(t, ctx, log, info, "strategy")[0])
		}
	}
	require.NotEqual(t, counts[1], counts[2])
}

// BenchmarkCachedQuery is a repeated small aggregate answered from the
// result cache, through the real Flight SQL client: what a hit costs the
// coordinator (planning included) and the round trips.
func BenchmarkCachedQuery(b *testing.B) {
	cache, err := resultcache.New(resultcache.Options{MaxBytes: 8 << 20})
	require.NoError(b, err)
	e := newTestEnvWith(b, envOptions{tweak: func(o *Options) { o.ResultCache = cache }})
	ctx := context.Background()
	const q = "SELECT country, count(*) AS n, sum(amount) AS s FROM shop.lines GROUP BY country ORDER BY country"
	run := func() {
		info, err := e.client.Execute(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		rdr, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			b.Fatal(err)
		}
		for rdr.Next() {
		}
		rdr.Release()
	}
	run()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	hits := testutil.ToFloat64(cache.Lookups().WithLabelValues(resultcache.Hit))
	if hits < float64(b.N) {
		b.Fatalf("%v hits for %d runs", hits, b.N)
	}
}
