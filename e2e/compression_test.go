package e2e_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
	"github.com/quiver-data/quiver/flightwire"
)

// fetchRaw plans sql on addr with header (x-quiver-ipc-compression, "" for
// none), fetches every endpoint (from the worker it names, if any) and
// returns the rows decoded and the compression of every batch received.
func fetchRaw(t *testing.T, addr, header, sql string) (rows int64, codecs map[flightwire.Compression]int) {
	t.Helper()
	ctx := queryCtx(t)
	if header != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-quiver-ipc-compression", header)
	}
	cl := dialFlightSQL(t, addr, nil)
	info, err := cl.Execute(ctx, sql)
	require.NoError(t, err, describe(err))
	codecs = map[flightwire.Compression]int{}
	for _, ep := range info.Endpoint {
		from := cl
		if len(ep.Location) > 0 {
			from = dialFlightSQL(t, strings.TrimPrefix(ep.Location[0].Uri, "grpc://"), nil)
		}
		stream, err := from.Client.DoGet(ctx, ep.Ticket)
		require.NoError(t, err)
		var msgs flightwire.Messages
		for {
			fd, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, describe(err))
			if c, ok, err := flightwire.BatchCompression(fd.DataHeader); ok {
				require.NoError(t, err)
				codecs[c]++
			}
			msgs = append(msgs, fd)
		}
		rdr, err := flight.NewRecordReader(&msgs)
		require.NoError(t, err)
		for rdr.Next() {
			rows += rdr.RecordBatch().NumRows()
		}
		require.NoError(t, rdr.Err())
		rdr.Release()
	}
	return rows, codecs
}

// TestIPCCompression: results are compressed as the server's policy and
// the client's header say, relayed scans by the workers, merges by the
// coordinator, direct endpoints by the worker the client fetches from,
// and decode to the same rows.
func TestIPCCompression(t *testing.T) {
	fx := newLocalFixture(t, nil, demoTables)
	ctx := context.Background()
	count := func(sql string) int64 {
		res, err := fx.oracle.Query(ctx, sql)
		require.NoError(t, err)
		defer res.Release()
		return res.NumRows()
	}
	const scan = "SELECT * FROM demo.plays"
	const merge = "SELECT day, count(*) AS n, sum(revenue) AS r FROM demo.plays GROUP BY day"
	scanRows, mergeRows := count(scan), count(merge)
	require.Positive(t, scanRows)

	check := func(t *testing.T, addr, header, sql string, want int64, codec flightwire.Compression) {
		t.Helper()
		rows, codecs := fetchRaw(t, addr, header, sql)
		require.Equal(t, want, rows)
		require.Len(t, codecs, 1, "every batch alike: %v", codecs)
		require.Positive(t, codecs[codec], "batches are %s: %v", codec, codecs)
	}

	t.Run("auto: loopback clients get uncompressed batches", func(t *testing.T) {
		check(t, fx.server.Addr(), "", scan, scanRows, flightwire.Uncompressed)
		check(t, fx.server.Addr(), "auto", merge, mergeRows, flightwire.Uncompressed)
	})
	t.Run("the header asks for a codec", func(t *testing.T) {
		check(t, fx.server.Addr(), "zstd", scan, scanRows, flightwire.Zstd)
		check(t, fx.server.Addr(), "zstd", merge, mergeRows, flightwire.Zstd)
		check(t, fx.server.Addr(), "lz4", scan, scanRows, flightwire.LZ4)
	})
	t.Run("a bad header is refused and the server goes on", func(t *testing.T) {
		cl := dialFlightSQL(t, fx.server.Addr(), nil)
		_, err := cl.Execute(metadata.AppendToOutgoingContext(queryCtx(t), "x-quiver-ipc-compression", "gzip"), scan)
		require.Equal(t, codes.InvalidArgument, status.Code(err), describe(err))
		require.Contains(t, status.Convert(err).Message(), `x-quiver-ipc-compression header: "gzip"`)
		check(t, fx.server.Addr(), "", merge, mergeRows, flightwire.Uncompressed)
	})

	t.Run("policy zstd with direct routing", func(t *testing.T) {
		srv := harness.StartServer(t, harness.ServerOptions{Warehouse: fx.warehouse,
			Args: []string{"--ipc-compression", "zstd", "--result-routing", "direct"}})
		check(t, srv.Addr(), "", scan, scanRows, flightwire.Zstd)
		check(t, srv.Addr(), "", merge, mergeRows, flightwire.Zstd)
		check(t, srv.Addr(), "off", scan, scanRows, flightwire.Uncompressed)
	})
}
