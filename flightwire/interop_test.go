package flightwire

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// testBatch is batch i of the test stream: every third one is small (a
// message in one HTTP/2 frame), the others large (spanning several).
func testBatch(alloc memory.Allocator, i int) arrow.RecordBatch {
	rows := 20000
	if i%3 == 0 {
		rows = 10
	}
	b := array.NewRecordBuilder(alloc, testSchema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	names := b.Field(1).(*array.StringBuilder)
	for r := range rows {
		ids.Append(int64(i*100000 + r))
		if r%7 == 0 {
			names.AppendNull()
		} else {
			names.Append(fmt.Sprintf("batch %d row %d", i, r))
		}
	}
	return b.NewRecordBatch()
}

const testBatches = 12

// batchServer streams testBatches batches with arrow-go's record writer,
// which reuses one buffer for every body.
type batchServer struct {
	flight.BaseFlightServer
	alloc memory.Allocator
}

func (s *batchServer) DoGet(_ *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	w := flight.NewRecordWriter(stream, ipc.WithSchema(testSchema), ipc.WithAllocator(s.alloc))
	for i := range testBatches {
		rec := testBatch(s.alloc, i)
		err := w.WriteWithAppMetadata(rec, []byte(fmt.Sprint(i)))
		rec.Release()
		if err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// relayServer forwards another server's stream message by message, as the
// coordinator relays a worker's.
type relayServer struct {
	flight.BaseFlightServer
	upstream flight.FlightServiceClient
}

func (s *relayServer) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	up, err := s.upstream.DoGet(stream.Context(), t)
	if err != nil {
		return err
	}
	for {
		fd, err := up.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(fd); err != nil {
			return err
		}
	}
}

func serve(tb testing.TB, svc flight.FlightServer, opts ...grpc.ServerOption) string {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	gs := grpc.NewServer(opts...)
	flight.RegisterFlightServiceServer(gs, svc)
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func dial(tb testing.TB, addr string, opts ...grpc.DialOption) flight.FlightServiceClient {
	tb.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = cc.Close() })
	return flight.NewFlightServiceClient(cc)
}

func readBatches(t *testing.T, client flight.FlightServiceClient) {
	t.Helper()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	stream, err := client.DoGet(t.Context(), &flight.Ticket{Ticket: []byte("batches")})
	require.NoError(t, err)
	rdr, err := flight.NewRecordReader(stream, ipc.WithAllocator(alloc))
	require.NoError(t, err)
	defer rdr.Release()
	require.True(t, testSchema.Equal(rdr.Schema()))
	n := 0
	for rdr.Next() {
		want := testBatch(alloc, n)
		got := rdr.RecordBatch()
		require.True(t, array.RecordEqual(want, got), "batch %d differs", n)
		want.Release()
		require.Equal(t, []byte(fmt.Sprint(n)), rdr.LatestAppMetadata())
		n++
	}
	require.NoError(t, rdr.Err())
	require.Equal(t, testBatches, n)
}

// TestFlightStreamInterop streams batches between servers and clients with
// and without the codec, directly and through a relay, and checks every
// batch arrives intact.
func TestFlightStreamInterop(t *testing.T) {
	codec := New()
	// gRPC's smallest flow-control windows make every server's writer wait
	// for its reader, so a body that changed after SendMsg returned would
	// be sent changed.
	small := []grpc.DialOption{grpc.WithInitialWindowSize(64 << 10), grpc.WithInitialConnWindowSize(64 << 10)}
	cases := []struct {
		name          string
		serverCodec   bool
		clientCodec   bool
		relay         bool
		relayUpstream bool // the relay's connection upstream uses the codec
	}{
		{name: "codec server, plain client", serverCodec: true},
		{name: "plain server, codec client", clientCodec: true},
		{name: "codec on both ends", serverCodec: true, clientCodec: true},
		{name: "relay with codec", serverCodec: true, relay: true, relayUpstream: true},
		{name: "relay with codec, plain worker and client", relay: true, relayUpstream: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer alloc.AssertSize(t, 0)
			var sopts []grpc.ServerOption
			if tc.serverCodec {
				sopts = []grpc.ServerOption{codec.ServerOption()}
			}
			addr := serve(t, &batchServer{alloc: alloc}, sopts...)
			if tc.relay {
				dopts := slices.Clone(small)
				if tc.relayUpstream {
					dopts = append(dopts, codec.DialOption())
				}
				addr = serve(t, &relayServer{upstream: dial(t, addr, dopts...)}, codec.ServerOption())
			}
			dopts := slices.Clone(small)
			if tc.clientCodec {
				dopts = append(dopts, codec.DialOption())
			}
			client := dial(t, addr, dopts...)
			readBatches(t, client)
			readBatches(t, client) // a second stream on the same connection
		})
	}
}

// BenchmarkRelay streams large batches from a server that writes them with
// arrow-go's record writer, through a relay, to a client that receives the
// raw messages: the coordinator's proxy path. "proto" is gRPC's codec
// everywhere, "codec" this one.
func BenchmarkRelay(b *testing.B) {
	codec := New()
	variants := []struct {
		name  string
		sopts []grpc.ServerOption
		dopts []grpc.DialOption
	}{
		{name: "proto"},
		{name: "codec", sopts: []grpc.ServerOption{codec.ServerOption()}, dopts: []grpc.DialOption{codec.DialOption()}},
	}
	alloc := memory.NewGoAllocator()
	recs := make([]arrow.RecordBatch, 8)
	for i := range recs {
		recs[i] = testBatch(alloc, 3*i+1) // about 1 MB each
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			worker := serve(b, &replayServer{recs: recs}, v.sopts...)
			relay := serve(b, &relayServer{upstream: dial(b, worker, v.dopts...)}, v.sopts...)
			client := dial(b, relay)
			var total int64
			for b.Loop() {
				stream, err := client.DoGet(b.Context(), &flight.Ticket{})
				require.NoError(b, err)
				for {
					fd, err := stream.Recv()
					if errors.Is(err, io.EOF) {
						break
					}
					require.NoError(b, err)
					total += int64(len(fd.DataBody))
				}
			}
			b.SetBytes(total / int64(b.N))
		})
	}
}

// replayServer writes the same batches on every DoGet.
type replayServer struct {
	flight.BaseFlightServer
	recs []arrow.RecordBatch
}

func (s *replayServer) DoGet(_ *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	w := flight.NewRecordWriter(stream, ipc.WithSchema(testSchema))
	for _, r := range s.recs {
		if err := w.Write(r); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}
