package querycli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/client"
	"github.com/quiver-data/quiver/output"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var resultSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// fakeServer is a Flight SQL server with canned answers. The same type plays
// the coordinator (which plans) and a worker (which only serves tickets).
type fakeServer struct {
	flightsql.BaseServer
	workerURI string // location of the second endpoint of "SELECT ok"

	mu   sync.Mutex
	auth []string // authorization headers received
}

func (s *fakeServer) sawAuth(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = append(s.auth, md.Get("authorization")...)
}

func (s *fakeServer) authHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

func ticket(handle string) *flight.Ticket {
	t, err := flightsql.CreateStatementQueryTicket([]byte(handle))
	if err != nil {
		panic(err)
	}
	return &flight.Ticket{Ticket: t}
}

func (s *fakeServer) GetFlightInfoStatement(ctx context.Context, q flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	s.sawAuth(ctx)
	info := &flight.FlightInfo{
		FlightDescriptor: desc,
		Schema:           flight.SerializeSchema(resultSchema, memory.DefaultAllocator),
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
	switch q.GetQuery() {
	case "SELECT ok":
		info.Endpoint = []*flight.FlightEndpoint{
			{Ticket: ticket("a")},
			{Ticket: ticket("b"), Location: []*flight.Location{{Uri: s.workerURI}}},
		}
	case "SELECT reuse":
		info.Endpoint = []*flight.FlightEndpoint{
			{Ticket: ticket("a"), Location: []*flight.Location{{Uri: flight.LocationReuseConnection}}},
			{Ticket: ticket("b")},
		}
	case "SELECT no schema":
		info.Schema = nil
		info.Endpoint = []*flight.FlightEndpoint{{Ticket: ticket("a")}, {Ticket: ticket("b")}}
	case "SELECT empty":
	case "SELECT fails midway":
		info.Endpoint = []*flight.FlightEndpoint{{Ticket: ticket("a")}, {Ticket: ticket("fail")}}
	case "SELECT bad location":
		info.Endpoint = []*flight.FlightEndpoint{{Ticket: ticket("a"), Location: []*flight.Location{{Uri: "http://example.com"}}}}
	case "SELECT other schema":
		info.Endpoint = []*flight.FlightEndpoint{{Ticket: ticket("a")}, {Ticket: ticket("other")}}
	case "SELECT * FROM demo.nope":
		return nil, status.Error(codes.NotFound, "table demo.nope does not exist")
	default:
		return nil, status.Errorf(codes.InvalidArgument, "Parser Error: syntax error at or near %q", q.GetQuery())
	}
	return info, nil
}

func (s *fakeServer) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	s.sawAuth(ctx)
	batch := func(ids []int64, names []string) flight.StreamChunk {
		b := array.NewRecordBuilder(memory.DefaultAllocator, resultSchema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
		for _, n := range names {
			if n == "" {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(n)
			}
		}
		return flight.StreamChunk{Data: b.NewRecordBatch()}
	}
	var chunks []flight.StreamChunk
	schema := resultSchema
	switch string(tkt.GetStatementHandle()) {
	case "a":
		chunks = []flight.StreamChunk{batch([]int64{1, 2}, []string{"one", ""}), batch([]int64{3}, []string{"three"})}
	case "b":
		chunks = []flight.StreamChunk{batch([]int64{4, 5}, []string{"四", "five"})}
	case "fail":
		chunks = []flight.StreamChunk{batch([]int64{4}, []string{"four"}), {Err: status.Error(codes.Internal, "worker lost")}}
	case "other":
		schema = arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	default:
		return nil, nil, status.Error(codes.NotFound, "unknown ticket")
	}
	ch := make(chan flight.StreamChunk, len(chunks))
	for _, c := range chunks {
		ch <- c
	}
	close(ch)
	return schema, ch, nil
}

// startServer serves impl on a free loopback port until the test ends.
func startServer(t *testing.T, impl flightsql.Server) string {
	t.Helper()
	srv := flight.NewServerWithMiddleware(nil)
	require.NoError(t, srv.Init("127.0.0.1:0"))
	srv.RegisterFlightService(flightsql.NewFlightServer(impl))
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Shutdown()
		// A test that never connects may stop the server before Serve ran.
		if err := <-done; !errors.Is(err, grpc.ErrServerStopped) {
			require.NoError(t, err)
		}
	})
	return srv.Addr().String()
}

// startCluster starts a worker and a coordinator whose "SELECT ok" sends
// its second endpoint to the worker.
func startCluster(t *testing.T) (addr string, coordinator, worker *fakeServer) {
	t.Helper()
	worker = &fakeServer{}
	workerAddr := startServer(t, worker)
	coordinator = &fakeServer{workerURI: "grpc://" + workerAddr}
	return startServer(t, coordinator), coordinator, worker
}

func TestRunFetchesEveryEndpoint(t *testing.T) {
	addr, _, _ := startCluster(t)
	const allRows = "id,name\n1,one\n2,\n3,three\n4,四\n5,five\n"
	tests := []struct {
		name, server, sql, format string
		want                      string
	}{
		{"endpoint on a worker", addr, "SELECT ok", output.FormatCSV, allRows},
		{"reuse connection", "grpc://" + addr, "SELECT reuse", output.FormatCSV, allRows},
		{"schema from the stream", "grpc+tcp://" + addr, "SELECT no schema", output.FormatCSV, allRows},
		{"no endpoints", addr, "SELECT empty", output.FormatCSV, "id,name\n"},
		{"json", addr, "SELECT ok", output.FormatJSON, `{"id":1,"name":"one"}
{"id":2,"name":null}
{"id":3,"name":"three"}
{"id":4,"name":"四"}
{"id":5,"name":"five"}
`},
		{"table", addr, "SELECT ok", "", `┌────────┬─────────┐
│   id   │  name   │
│ bigint │ varchar │
├────────┼─────────┤
│      1 │ one     │
│      2 │ NULL    │
│      3 │ three   │
│      4 │ 四      │
│      5 │ five    │
└────────┴─────────┘
5 rows (5 shown)  2 columns
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var out bytes.Buffer
			err := Run(t.Context(), Options{Conn: client.Options{Server: tc.server, Allocator: mem}, SQL: tc.sql, Format: tc.format, Out: &out})
			require.NoError(t, err)
			require.Equal(t, tc.want, out.String())
		})
	}
}

func TestRunTableTruncates(t *testing.T) {
	addr, _, _ := startCluster(t)
	var out bytes.Buffer
	require.NoError(t, Run(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT ok", Out: &out, MaxRows: 2}))
	require.Equal(t, []string{"1 │ one", "… │ …", "5 │ five"}, trimmedBody(out.String()))
	require.True(t, strings.HasSuffix(out.String(), "5 rows (2 shown)  2 columns\n"), out.String())
}

// trimmedBody returns the body rows of a table (the lines between the
// header's ├…┤ and the closing └…┘), cells joined by single spaces.
func trimmedBody(out string) []string {
	_, body, _ := strings.Cut(out, "┤\n")
	body, _, _ = strings.Cut(body, "└")
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		rows = append(rows, strings.Join(strings.Fields(strings.Trim(l, "│")), " "))
	}
	return rows
}

func TestRunWritesParquet(t *testing.T) {
	addr, _, _ := startCluster(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var out bytes.Buffer
	require.NoError(t, Run(t.Context(), Options{Conn: client.Options{Server: addr, Allocator: mem}, SQL: "SELECT ok", Format: output.FormatParquet, Out: &out}))
	pf, err := file.NewParquetReader(bytes.NewReader(out.Bytes()))
	require.NoError(t, err)
	defer pf.Close()
	require.Equal(t, int64(5), pf.NumRows())
	require.Equal(t, 2, pf.MetaData().Schema.NumColumns())
}

func TestRunSendsToken(t *testing.T) {
	addr, coordinator, worker := startCluster(t)
	require.NoError(t, Run(t.Context(), Options{Conn: client.Options{Server: addr, Token: "s3cret"}, SQL: "SELECT ok", Out: &bytes.Buffer{}}))
	require.Equal(t, []string{"Bearer s3cret", "Bearer s3cret"}, coordinator.authHeaders(), "GetFlightInfo and DoGet of endpoint 1")
	require.Equal(t, []string{"Bearer s3cret"}, worker.authHeaders(), "DoGet of endpoint 2")

	// Without a token no header is sent.
	addr, coordinator, _ = startCluster(t)
	require.NoError(t, Run(t.Context(), Options{Conn: client.Options{Server: addr}, SQL: "SELECT empty", Out: &bytes.Buffer{}}))
	require.Empty(t, coordinator.authHeaders())
}

func TestRunKeepsServerErrors(t *testing.T) {
	addr, _, _ := startCluster(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := closed.Addr().String()
	require.NoError(t, closed.Close())

	tests := []struct {
		name, server, sql string
		code              codes.Code
		message           string
	}{
		{"syntax error", addr, "SELEKT 1", codes.InvalidArgument, `Parser Error: syntax error at or near "SELEKT 1"`},
		{"unknown table", addr, "SELECT * FROM demo.nope", codes.NotFound, "table demo.nope does not exist"},
		{"stream fails midway", addr, "SELECT fails midway", codes.Internal, "worker lost"},
		{"server down", deadAddr, "SELECT ok", codes.Unavailable, deadAddr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			err := Run(t.Context(), Options{Conn: client.Options{Server: tc.server, Allocator: mem}, SQL: tc.sql, Format: output.FormatCSV, Out: &bytes.Buffer{}})
			require.Error(t, err)
			require.Equal(t, tc.code, status.Code(err), err.Error())
			require.Contains(t, err.Error(), tc.message)
		})
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	addr, _, _ := startCluster(t)
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"unknown format", Options{Conn: client.Options{Server: addr}, SQL: "SELECT ok", Format: "xml"}, output.ErrUnknownFormat},
		{"no sql", Options{Conn: client.Options{Server: addr}, SQL: "  "}, ErrNoSQL},
		{"bad server", Options{Conn: client.Options{Server: "http://" + addr}, SQL: "SELECT ok"}, ErrBadServer},
		{"bad location", Options{Conn: client.Options{Server: addr}, SQL: "SELECT bad location"}, ErrBadServer},
		{"endpoints disagree", Options{Conn: client.Options{Server: addr}, SQL: "SELECT other schema", Format: output.FormatCSV}, ErrSchemaMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Out = &bytes.Buffer{}
			require.ErrorIs(t, Run(t.Context(), tc.opts), tc.want)
		})
	}
}
