package coordinator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/planner"
)

// rangePlan is k fragments over consecutive ranges of 1000 and a merge.
func rangePlan(k int, groups []string, merge string) *planner.Plan {
	return rangePlanOf(1000, k, groups, merge)
}

func rangePlanOf(size, k int, groups []string, merge string) *planner.Plan {
	p := &planner.Plan{Merge: &planner.Merge{SQL: merge}}
	for i := range k {
		f := planner.Fragment{SQL: fmt.Sprintf("SELECT i AS x FROM range(%d, %d) t(i)", i*size, (i+1)*size)}
		if len(groups) > 0 {
			f.Group = groups[i%len(groups)]
		}
		p.Fragments = append(p.Fragments, f)
	}
	return p
}

// merged decodes what Merge wrote.
func merged(t *testing.T, out *clientStream) []string {
	t.Helper()
	msgs := flightwire.Messages(out.msgs)
	rdr, err := flight.NewRecordReader(&msgs)
	require.NoError(t, err)
	defer rdr.Release()
	var rows []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := ""
			for c := 0; c < int(rec.NumCols()); c++ {
				row += rec.Column(c).ValueStr(i) + "|"
			}
			rows = append(rows, row)
		}
	}
	require.NoError(t, rdr.Err())
	return rows
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name  string
		k     int
		merge string
		want  []string
	}{
		{"sum", 3, "SELECT sum(x) AS s, count(*) AS n FROM quiver_partials", []string{"4498500|3000|"}},
		{"top-k", 5, "SELECT x FROM quiver_partials ORDER BY x DESC LIMIT 3", []string{"4999|", "4998|", "4997|"}},
		{"one fragment", 1, "SELECT max(x) AS m FROM quiver_partials", []string{"999|"}},
		{"empty merge result", 2, "SELECT x FROM quiver_partials WHERE x < 0", nil},
	}
	e := newEnv(t)
	a, b := startWorker(t, e.signer, 100, nil), startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{a.addr, b.addr}))
	c := e.coordinator(Options{Parallelism: 2})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out clientStream
			require.NoError(t, c.Merge(context.Background(), Job{QueryID: "q"}, rangePlan(tc.k, []string{a.addr, b.addr}, tc.merge), &out))
			require.Equal(t, tc.want, merged(t, &out))
		})
	}
	require.Positive(t, a.dogets.Load())
	require.Positive(t, b.dogets.Load())
}

// batchCodecs are the compressions the record batches in msgs declare.
func batchCodecs(t *testing.T, msgs []*flight.FlightData) []flightwire.Compression {
	t.Helper()
	var got []flightwire.Compression
	for _, fd := range msgs {
		c, ok, err := flightwire.BatchCompression(fd.DataHeader)
		require.NoError(t, err)
		if ok {
			got = append(got, c)
		}
	}
	return got
}

// TestCompressedResults: a merge compresses what it writes, and a relayed
// fragment arrives compressed by its worker, as the query's codec says.
func TestCompressedResults(t *testing.T) {
	e := newEnv(t)
	a := startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{a.addr}))
	c := e.coordinator(Options{})
	for _, codec := range []flightwire.Compression{flightwire.Zstd, flightwire.LZ4, flightwire.Uncompressed} {
		t.Run("merge "+codec.String(), func(t *testing.T) {
			var out clientStream
			plan := rangePlan(2, nil, "SELECT x FROM quiver_partials ORDER BY x DESC LIMIT 3")
			require.NoError(t, c.Merge(context.Background(), Job{QueryID: "q", Codec: codec}, plan, &out))
			require.Equal(t, []string{"1999|", "1998|", "1997|"}, merged(t, &out))
			require.Equal(t, []flightwire.Compression{codec}, batchCodecs(t, out.msgs))
		})
		t.Run("relay "+codec.String(), func(t *testing.T) {
			var out clientStream
			require.NoError(t, c.Stream(context.Background(), FragmentJob{Job: Job{QueryID: "q", Codec: codec}, Fragment: planner.Fragment{SQL: "SELECT i AS x FROM range(5000) t(i)"}}, out.Send))
			require.Len(t, out.int64s(t), 5000)
			codecs := batchCodecs(t, out.msgs)
			require.NotEmpty(t, codecs)
			for _, got := range codecs {
				require.Equal(t, codec, got)
			}
		})
	}
}

func TestMergeRetriesWholeFragments(t *testing.T) {
	e := newEnv(t)
	// The first two fragments sent to bad fail after some batches.
	bad := startWorker(t, e.signer, 100, &fault{after: 3, mode: "error", times: 2})
	good := startWorker(t, e.signer, 250, nil)
	require.NoError(t, e.pool.Set([]string{bad.addr, good.addr}))
	c := e.coordinator(Options{})
	var out clientStream
	// DuckDB makes 2048-row chunks: 10000 rows are several batches.
	plan := rangePlanOf(10000, 4, []string{bad.addr}, "SELECT sum(x) AS s, count(*) AS n, count(DISTINCT x) AS d FROM quiver_partials")
	require.NoError(t, c.Merge(context.Background(), Job{QueryID: "q"}, plan, &out))
	require.Equal(t, []string{"799980000|40000|40000|"}, merged(t, &out), "no row counted twice")
	require.Equal(t, 2.0, testutil.ToFloat64(c.retries))
}

func TestMergeErrors(t *testing.T) {
	e := newEnv(t)
	w := startWorker(t, e.signer, 0, nil)
	require.NoError(t, e.pool.Set([]string{w.addr}))

	t.Run("partials over the limit", func(t *testing.T) {
		c := e.coordinator(Options{MaxPartialsBytes: 4096})
		err := c.Merge(context.Background(), Job{QueryID: "q"}, rangePlan(3, nil, "SELECT sum(x) FROM quiver_partials"), &clientStream{})
		require.ErrorIs(t, err, ErrPartialsTooLarge)
		require.ErrorContains(t, err, "4.0 KiB")
		require.ErrorContains(t, err, "--max-partials-bytes")
	})
	t.Run("a failing fragment cancels the others", func(t *testing.T) {
		c := e.coordinator(Options{Parallelism: 4})
		plan := rangePlan(3, nil, "SELECT sum(x) FROM quiver_partials")
		plan.Fragments = append(plan.Fragments,
			planner.Fragment{SQL: "SELECT count(*)::BIGINT AS x FROM range(1000000000000) t(i) WHERE i % 3 = 7"},
			planner.Fragment{SQL: "SELECT nope AS x"})
		start := time.Now()
		err := c.Merge(context.Background(), Job{QueryID: "q"}, plan, &clientStream{})
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.Less(t, time.Since(start), 10*time.Second, "the endless fragment was canceled")
	})
	t.Run("bad merge statement", func(t *testing.T) {
		c := e.coordinator(Options{})
		err := c.Merge(context.Background(), Job{QueryID: "q"}, rangePlan(2, nil, "SELECT nope FROM quiver_partials"), &clientStream{})
		require.ErrorContains(t, err, "nope")
	})
	t.Run("fragments disagree on the schema", func(t *testing.T) {
		c := e.coordinator(Options{})
		plan := rangePlan(1, nil, "SELECT count(*) FROM quiver_partials")
		plan.Fragments = append(plan.Fragments, planner.Fragment{SQL: "SELECT 'a' AS x"})
		err := c.Merge(context.Background(), Job{QueryID: "q"}, plan, &clientStream{})
		require.ErrorContains(t, err, "fragment 1 returned")
	})
}
