package worker

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/workerpool"
)

// startWorker serves a real DuckDB behind the worker service on 127.0.0.1:0.
func startWorker(t *testing.T, signer *fragwire.Signer) string {
	return startWorkerWith(t, ServerOptions{Signer: signer})
}

func startWorkerWith(t *testing.T, opts ServerOptions) string {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	opts.DB = db
	flight.RegisterFlightServiceServer(gs, NewServer(opts))
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func newSigner(t *testing.T) *fragwire.Signer {
	s, err := fragwire.NewSigner([]byte("worker-test-secret-123"))
	require.NoError(t, err)
	return s
}

// doGet runs a ticket and returns the rows it streamed.
func doGet(ctx context.Context, c *workerpool.Conn, ticket []byte) (int64, error) {
	stream, err := c.DoGet(ctx, ticket)
	if err != nil {
		return 0, err
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		meta, ok := fragwire.DecodeBatchMeta(rdr.LatestAppMetadata())
		if !ok || meta.Offset != n || meta.Rows != rdr.RecordBatch().NumRows() {
			return n, fmt.Errorf("batch metadata %+v (ok=%v) after %d rows, batch of %d", meta, ok, n, rdr.RecordBatch().NumRows())
		}
		n += rdr.RecordBatch().NumRows()
	}
	return n, rdr.Err()
}

// connectedWorker starts a worker and returns its signer and a pool
// connection to it.
func connectedWorker(t *testing.T) (*fragwire.Signer, *workerpool.Conn) {
	t.Helper()
	signer := newSigner(t)
	addr := startWorker(t, signer)
	// These servers have no health service: no health checks.
	pool := workerpool.New(workerpool.Options{HealthInterval: -1})
	require.NoError(t, pool.Set([]string{addr}))
	t.Cleanup(func() { pool.Close() })
	c, err := pool.Pick("", nil)
	require.NoError(t, err)
	return signer, c
}

func TestServerRunsSignedFragments(t *testing.T) {
	signer, c := connectedWorker(t)
	ctx := context.Background()
	exp := time.Now().Add(time.Minute).UnixMilli()

	arg, err := fragwire.EncodeArg(int64(5000))
	require.NoError(t, err)
	tk, err := signer.Sign(fragwire.Fragment{SQL: "SELECT i FROM range(?) t(i)", Args: []fragwire.Arg{arg}, Expires: exp})
	require.NoError(t, err)
	n, err := doGet(ctx, c, tk)
	require.NoError(t, err)
	require.EqualValues(t, 5000, n, "several DuckDB chunks streamed")

	t.Run("row offsets in app metadata", func(t *testing.T) {
		// Small batches: many offsets to check.
		addr := startWorkerWith(t, ServerOptions{Signer: signer, BatchRows: 1})
		pool := workerpool.New(workerpool.Options{HealthInterval: -1})
		defer pool.Close()
		require.NoError(t, pool.Set([]string{addr}))
		c, err := pool.Pick("", nil)
		require.NoError(t, err)
		tk, err := signer.Sign(fragwire.Fragment{SQL: "SELECT i FROM range(10000) t(i)", Expires: exp})
		require.NoError(t, err)
		n, err := doGet(ctx, c, tk)
		require.NoError(t, err)
		require.EqualValues(t, 10000, n)
	})

	t.Run("heartbeats while the query runs", func(t *testing.T) {
		// A query that sleeps before its only batch: heartbeats come first.
		tk, err := signer.Sign(fragwire.Fragment{SQL: "SELECT count(*) AS n FROM range(30000000) t(i) WHERE i % 7 = 3", Expires: exp, Heartbeat: 5})
		require.NoError(t, err)
		stream, err := c.DoGet(ctx, tk)
		require.NoError(t, err)
		beats, other := 0, 0
		for {
			fd, err := stream.Recv()
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				break
			}
			if fragwire.IsHeartbeat(fd) {
				beats++
			} else {
				other++
			}
		}
		require.Positive(t, beats)
		require.Equal(t, 2, other, "schema and the one batch")
	})

	t.Run("compressed as the ticket says", func(t *testing.T) {
		for _, c2 := range []flightwire.Compression{flightwire.Uncompressed, flightwire.Zstd, flightwire.LZ4} {
			tk, err := signer.Sign(fragwire.Fragment{SQL: "SELECT i, i % 10 AS d FROM range(100000) t(i)", Expires: exp, Compression: c2})
			require.NoError(t, err)
			stream, err := c.DoGet(ctx, tk)
			require.NoError(t, err)
			var msgs flightwire.Messages
			var body int
			for {
				fd, err := stream.Recv()
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
				if got, ok, err := flightwire.BatchCompression(fd.DataHeader); ok {
					require.NoError(t, err)
					require.Equal(t, c2, got, "every batch is %s", c2)
					body += len(fd.DataBody)
				}
				msgs = append(msgs, fd)
			}
			if c2 == flightwire.Uncompressed {
				require.GreaterOrEqual(t, body, 1600000, "two int64 columns of 100,000 rows")
			} else {
				require.Less(t, body, 800000, "%s compresses the batches", c2)
			}
			rdr, err := flight.NewRecordReader(&msgs)
			require.NoError(t, err)
			var sum int64
			for rdr.Next() {
				for _, v := range rdr.RecordBatch().Column(0).(*array.Int64).Int64Values() {
					sum += v
				}
			}
			require.NoError(t, rdr.Err())
			rdr.Release()
			require.EqualValues(t, int64(99999)*100000/2, sum, "the same rows, decompressed by a plain reader")
		}
	})

	t.Run("empty result carries its schema", func(t *testing.T) {
		tk, err := signer.Sign(fragwire.Fragment{SQL: "SELECT 1 AS a WHERE false", Expires: exp})
		require.NoError(t, err)
		stream, err := c.DoGet(ctx, tk)
		require.NoError(t, err)
		rdr, err := flight.NewRecordReader(stream)
		require.NoError(t, err)
		defer rdr.Release()
		require.Equal(t, "a", rdr.Schema().Field(0).Name)
		require.False(t, rdr.Next())
	})

	cases := []struct {
		name   string
		ticket func() []byte
		code   codes.Code
	}{
		{"forged ticket", func() []byte {
			other, _ := fragwire.NewSigner([]byte("another-secret-entirely"))
			tk, _ := other.Sign(fragwire.Fragment{SQL: "SELECT 1", Expires: exp})
			return tk
		}, codes.Unauthenticated},
		{"expired ticket", func() []byte {
			tk, _ := signer.Sign(fragwire.Fragment{SQL: "SELECT 1", Expires: 1})
			return tk
		}, codes.Unauthenticated},
		{"bad sql", func() []byte {
			tk, _ := signer.Sign(fragwire.Fragment{SQL: "SELECT nope", Expires: exp})
			return tk
		}, codes.InvalidArgument},
		{"missing file", func() []byte {
			tk, _ := signer.Sign(fragwire.Fragment{SQL: "SELECT * FROM read_parquet('/nonexistent/x.parquet')", Expires: exp})
			return tk
		}, codes.Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := doGet(ctx, c, tc.ticket())
			require.Equal(t, tc.code, status.Code(err), "%v", err)
		})
	}
}

// TestServerErrorMidStream: DuckDB streams a fragment's result, so an
// error it raises after rows were sent reaches the coordinator as the
// stream's status, with DuckDB's message and code, after those rows.
func TestServerErrorMidStream(t *testing.T) {
	signer, c := connectedWorker(t)
	tk, err := signer.Sign(fragwire.Fragment{
		SQL:     "SELECT (CASE WHEN i < 8000000 THEN i::VARCHAR ELSE 'not a number' END)::BIGINT AS n FROM range(10000000) t(i)",
		Expires: time.Now().Add(time.Minute).UnixMilli(),
	})
	require.NoError(t, err)
	n, err := doGet(context.Background(), c, tk)
	require.Positive(t, n, "batches before the error")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "Conversion Error")
	require.Contains(t, status.Convert(err).Message(), "not a number")
}
