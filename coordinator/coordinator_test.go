package coordinator

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/flightwire"
	"github.com/quiver-data/quiver/fragwire"
	"github.com/quiver-data/quiver/worker"
	"github.com/quiver-data/quiver/workerpool"
)

// fault makes a test worker misbehave after it sent some record batches.
type fault struct {
	// after is how many record batches go out before the fault.
	after int
	// mode: "error" ends the stream with Unavailable, "stall" stops
	// sending anything (heartbeats too), "die" stops the whole server.
	mode string
	// times is how many DoGets misbehave; 0 means all.
	times int
}

type testWorker struct {
	addr    string
	gs      *grpc.Server
	dogets  atomic.Int32
	stopped sync.Once
}

func (w *testWorker) stop() { w.stopped.Do(w.gs.Stop) }

// faultyService is a real worker service whose stream goes wrong on cue.
type faultyService struct {
	flight.BaseFlightServer
	inner *worker.Server
	w     *testWorker
	f     *fault
}

func (s *faultyService) DoGet(tkt *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	n := int(s.w.dogets.Add(1))
	if s.f == nil || (s.f.times > 0 && n > s.f.times) {
		return s.inner.DoGet(tkt, stream)
	}
	fs := &faultyStream{FlightService_DoGetServer: stream, f: s.f, w: s.w}
	err := s.inner.DoGet(tkt, fs)
	if fs.tripped {
		return status.Error(codes.Unavailable, "injected: worker lost")
	}
	return err
}

type faultyStream struct {
	flight.FlightService_DoGetServer
	f       *fault
	w       *testWorker
	batches int
	tripped bool
}

func (s *faultyStream) Send(fd *flight.FlightData) error {
	if s.tripped {
		return status.Error(codes.Unavailable, "injected")
	}
	if t, _ := fragwire.MessageType(fd); t == ipc.MessageRecordBatch {
		if s.batches == s.f.after {
			s.tripped = true
			switch s.f.mode {
			case "stall":
				<-s.Context().Done()
			case "die":
				go s.w.stop()
				<-s.Context().Done()
			}
			return status.Error(codes.Unavailable, "injected")
		}
		s.batches++
	}
	return s.FlightService_DoGetServer.Send(fd)
}

// startWorker serves a real DuckDB behind the worker service, with the
// gRPC health service, and an optional fault.
func startWorker(t *testing.T, signer *fragwire.Signer, batchRows int64, f *fault) *testWorker {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	w := &testWorker{addr: lis.Addr().String(), gs: gs}
	inner := worker.NewServer(worker.ServerOptions{DB: db, Signer: signer, BatchRows: batchRows})
	flight.RegisterFlightServiceServer(gs, &faultyService{inner: inner, w: w, f: f})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(lis)
	t.Cleanup(w.stop)
	return w
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

type env struct {
	signer *fragwire.Signer
	pool   *workerpool.Pool
	db     *engine.DB
	reg    *prometheus.Registry
	mem    *memory.CheckedAllocator
}

func newEnv(t *testing.T) *env {
	t.Helper()
	signer, err := fragwire.NewSigner([]byte("coordinator-test-secret"))
	require.NoError(t, err)
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	pool := workerpool.New(workerpool.Options{HealthInterval: 50 * time.Millisecond, HealthTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { pool.Close() })
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return &env{signer: signer, pool: pool, db: db, reg: prometheus.NewRegistry(), mem: mem}
}

func (e *env) coordinator(opts Options) *Coordinator {
	e.reg = prometheus.NewRegistry()
	opts.DB, opts.Signer, opts.Registerer, opts.Allocator = e.db, e.signer, e.reg, e.mem
	if opts.Workers == nil {
		opts.Workers = e.pool
	}
	if opts.Grace == 0 {
		opts.Grace = 200 * time.Millisecond
	}
	return New(opts)
}

// clientStream collects what a client would receive, copying messages (a
// flight writer reuses its buffers).
type clientStream struct {
	mu   sync.Mutex
	msgs []*flight.FlightData
}

func (c *clientStream) Send(fd *flight.FlightData) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, &flight.FlightData{
		DataHeader: append([]byte(nil), fd.DataHeader...),
		DataBody:   append([]byte(nil), fd.DataBody...),
	})
	return nil
}

// int64s decodes the stream and returns its first column, checking there
// was exactly one schema message.
func (c *clientStream) int64s(t *testing.T) []int64 {
	t.Helper()
	schemas := 0
	for _, m := range c.msgs {
		if typ, _ := fragwire.MessageType(m); typ == ipc.MessageSchema {
			schemas++
		}
	}
	require.Equal(t, 1, schemas, "one schema message")
	msgs := flightwire.Messages(append([]*flight.FlightData(nil), c.msgs...))
	rdr, err := flight.NewRecordReader(&msgs)
	require.NoError(t, err)
	defer rdr.Release()
	var out []int64
	for rdr.Next() {
		col := rdr.RecordBatch().Column(0).(*array.Int64)
		out = append(out, col.Int64Values()...)
	}
	require.NoError(t, rdr.Err())
	return out
}

func requireRange(t *testing.T, got []int64, n int) {
	t.Helper()
	require.Len(t, got, n)
	seen := make([]bool, n)
	for _, v := range got {
		require.False(t, seen[v], "row %d twice", v)
		seen[v] = true
	}
}
