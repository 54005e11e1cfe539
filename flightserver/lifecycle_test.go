package flightserver

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/admission"
	"github.com/quiver-data/quiver/systables"
)

// historySink records ended queries.
type historySink struct {
	mu   sync.Mutex
	recs []systables.QueryRecord
}

func (h *historySink) Record(r systables.QueryRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
}

func (h *historySink) Lookup(id string) (systables.QueryRecord, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.ID == id {
			return r, true
		}
	}
	return systables.QueryRecord{}, false
}

// waitEnded waits for query id to be recorded.
func (h *historySink) waitEnded(t *testing.T, id string) systables.QueryRecord {
	t.Helper()
	var rec systables.QueryRecord
	require.Eventually(t, func() bool {
		var ok bool
		rec, ok = h.Lookup(id)
		return ok
	}, 10*time.Second, 5*time.Millisecond, "query %s never ended", id)
	return rec
}

func queryID(t *testing.T, info *flight.FlightInfo) string {
	t.Helper()
	var m infoMetadata
	require.NoError(t, json.Unmarshal(info.AppMetadata, &m))
	require.NotEmpty(t, m.QueryID)
	return m.QueryID
}

// slowSQL runs for minutes on a worker unless interrupted.
const slowSQL = "SELECT count(*) AS n FROM range(100000000000) t(i) WHERE i % 7 = 3"

func drainStream(ctx context.Context, e *testEnv, info *flight.FlightInfo) error {
	for _, ep := range info.Endpoint {
		rdr, err := e.client.DoGet(ctx, ep.Ticket)
		if err != nil {
			return err
		}
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func TestQueryRecordedWithRowsTablesAndWorkers(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT line_id FROM shop.lines WHERE sku = 3")
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	rec := h.waitEnded(t, queryID(t, info))
	require.Equal(t, systables.StateFinished, rec.State)
	require.Equal(t, rows(recs), rec.Rows)
	require.Positive(t, rec.Bytes)
	require.Equal(t, []string{"shop.lines"}, rec.Tables)
	require.Equal(t, len(info.Endpoint), rec.Fragments)
	require.Equal(t, rec.Fragments, rec.FragmentsDone)
	require.NotEmpty(t, rec.Workers)
	require.Equal(t, "anonymous", rec.Principal)
}

func TestResultRowLimitFailsTheQuery(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		o.History = h
		o.Limits.MaxResultRows = 1000
	}})
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT * FROM shop.lines",                             // relayed fragments
		"SELECT * FROM shop.lines ORDER BY line_id LIMIT 5000", // merge on the coordinator
	} {
		info, err := e.client.Execute(ctx, sql)
		require.NoError(t, err)
		err = drainStream(ctx, e, info)
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%s: %v", sql, err)
		require.Contains(t, err.Error(), "--max-result-rows")
		require.Equal(t, systables.StateFailed, h.waitEnded(t, queryID(t, info)).State)
	}
	info, err := e.client.Execute(ctx, "SELECT * FROM shop.lines LIMIT 10")
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 10, rows(recs))
}

func TestQueryTimeout(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		o.History = h
		o.Limits.QueryTimeout = 300 * time.Millisecond
	}})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, slowSQL)
	require.NoError(t, err)
	start := time.Now()
	err = drainStream(ctx, e, info)
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "--query-timeout")
	require.Less(t, time.Since(start), 20*time.Second)
	rec := h.waitEnded(t, queryID(t, info))
	require.Equal(t, systables.StateFailed, rec.State)
	require.Contains(t, rec.Error, "query timeout")
}

// startSlow plans the slow query and fetches it in the background.
func startSlow(t *testing.T, e *testEnv, ctx context.Context) (*flight.FlightInfo, chan error) {
	t.Helper()
	info, err := e.client.Execute(ctx, slowSQL)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- drainStream(ctx, e, info) }()
	id := queryID(t, info)
	require.Eventually(t, func() bool {
		for _, r := range e.srv.Running() {
			if r.ID == id && len(r.Workers) > 0 {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	return info, done
}

func TestCancelActionAndProgress(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	info, done := startSlow(t, e, ctx)
	id := queryID(t, info)

	progress := func(ctx context.Context) (progressJSON, error) {
		stream, err := e.raw.DoAction(ctx, &flight.Action{Type: ActionProgress, Body: []byte(id)})
		if err != nil {
			return progressJSON{}, err
		}
		res, err := stream.Recv()
		if err != nil {
			return progressJSON{}, err
		}
		var p progressJSON
		require.NoError(t, json.Unmarshal(res.Body, &p))
		return p, nil
	}
	p, err := progress(ctx)
	require.NoError(t, err)
	require.Equal(t, systables.StateRunning, p.State)
	require.Equal(t, 1, p.FragmentsTotal)
	require.Zero(t, p.FragmentsDone)

	// Someone else can neither see nor cancel it.
	other := metadata.AppendToOutgoingContext(ctx, "x-user", "mallory")
	_, err = progress(other)
	require.Equal(t, codes.NotFound, status.Code(err))
	stream, err := e.raw.DoAction(other, &flight.Action{Type: ActionCancel, Body: []byte(id)})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.NotFound, status.Code(err))

	stream, err = e.raw.DoAction(ctx, &flight.Action{Type: ActionCancel, Body: []byte(id)})
	require.NoError(t, err)
	_, err = stream.Recv()
	require.NoError(t, err)
	select {
	case err := <-done:
		require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after the cancel")
	}
	require.Equal(t, systables.StateCancelled, h.waitEnded(t, id).State)
	p, err = progress(ctx)
	require.NoError(t, err)
	require.Equal(t, systables.StateCancelled, p.State)
}

func TestCancelFlightInfo(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	info, done := startSlow(t, e, ctx)
	res, err := e.client.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	require.NoError(t, err)
	require.Equal(t, flight.CancelStatusCancelled, res.Status)
	require.Equal(t, codes.Canceled, status.Code(<-done))
	require.Equal(t, systables.StateCancelled, h.waitEnded(t, queryID(t, info)).State)
	// The server serves the next query.
	info, err = e.client.Execute(ctx, "SELECT count(*) FROM shop.lines")
	require.NoError(t, err)
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 1, rows(recs))
	// Cancelling an ended query is a no-op.
	res, err = e.client.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	require.NoError(t, err)
	require.Equal(t, flight.CancelStatusNotCancellable, res.Status)
}

func TestKillQuery(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		o.History = h
		o.Access.IsAdmin = func(ctx context.Context) bool {
			md, _ := metadata.FromIncomingContext(ctx)
			return len(md.Get("x-user")) > 0 && md.Get("x-user")[0] == "root"
		}
	}})
	ctx := context.Background()
	info, done := startSlow(t, e, ctx)
	id := queryID(t, info)
	_, err := e.client.Execute(metadata.AppendToOutgoingContext(ctx, "x-user", "mallory"), "KILL QUERY '"+id+"'")
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)

	admin := metadata.AppendToOutgoingContext(ctx, "x-user", "root")
	kinfo, err := e.client.Execute(admin, "kill query '"+id+"';")
	require.NoError(t, err)
	_, recs := e.fetch(t, admin, kinfo)
	require.EqualValues(t, 1, rows(recs))
	require.Equal(t, id, recs[0].Column(0).ValueStr(0))
	require.Equal(t, codes.Canceled, status.Code(<-done))
	rec := h.waitEnded(t, id)
	require.Equal(t, systables.StateCancelled, rec.State)
	require.Contains(t, rec.Error, "by root")
}

func TestAdmissionOverflowIsUnavailable(t *testing.T) {
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		o.Admission = admission.New(admission.Options{MaxRunning: 1, Registerer: prometheus.NewRegistry()})
	}})
	ctx := context.Background()
	first, err := e.client.Execute(ctx, "SELECT count(*) FROM shop.lines")
	require.NoError(t, err)
	_, err = e.client.Execute(ctx, "SELECT 1")
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "queue full")
	_, recs := e.fetch(t, ctx, first)
	require.EqualValues(t, 1, rows(recs))
	require.Eventually(t, func() bool { return len(e.srv.Running()) == 0 }, 5*time.Second, 5*time.Millisecond)
	info, err := e.client.Execute(ctx, "SELECT 1")
	require.NoError(t, err)
	require.NoError(t, drainStream(ctx, e, info))
}

func TestAbandonedQueryFreesItsSlot(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		o.History = h
		o.Admission = admission.New(admission.Options{MaxRunning: 1, Registerer: prometheus.NewRegistry()})
		o.Limits.IdleTimeout = 200 * time.Millisecond
	}})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT count(*) FROM shop.lines")
	require.NoError(t, err)
	rec := h.waitEnded(t, queryID(t, info))
	require.Equal(t, systables.StateFailed, rec.State)
	require.Contains(t, rec.Error, "abandoned")
	info, err = e.client.Execute(ctx, "SELECT 1")
	require.NoError(t, err)
	require.NoError(t, drainStream(ctx, e, info))
}

func TestDrainRefusesNewQueriesAndWaitsForRunning(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT * FROM shop.lines")
	require.NoError(t, err)
	e.srv.Drain()
	_, err = e.client.Execute(ctx, "SELECT 1")
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Contains(t, err.Error(), "draining")
	waited := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		waited <- e.srv.WaitIdle(wctx)
	}()
	// The query admitted before the drain still completes.
	_, recs := e.fetch(t, ctx, info)
	require.EqualValues(t, 30000, rows(recs))
	require.NoError(t, <-waited)
}

func TestLongStatementRefused(t *testing.T) {
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.Limits.MaxSQLLength = 100 }})
	_, err := e.client.Execute(context.Background(), "SELECT "+strings.Repeat("1+", 100)+"1")
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Contains(t, err.Error(), "--max-sql-length")
}

func TestStalledClientIsCut(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) {
		o.History = h
		o.Limits.SendTimeout = 300 * time.Millisecond
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	info, err := e.client.Execute(ctx, "SELECT i, i::VARCHAR AS s FROM range(5000000) t(i)")
	require.NoError(t, err)
	// Open the stream and never read past the first batch.
	rdr, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, rdr.Next())
	rec := h.waitEnded(t, queryID(t, info))
	require.Equal(t, systables.StateFailed, rec.State)
	require.Contains(t, rec.Error, "client stopped reading")
	require.Less(t, rec.Rows, int64(5000000))
	rdr.Release()
}

// TestEndedQueriesKeepNoPlans: a ticket outlives its query by the ticket
// TTL, but the plan behind it (pinned file lists, fragment SQL) must not,
// or a busy server's memory grows with its query rate.
func TestEndedQueriesKeepNoPlans(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	var last *flight.FlightInfo
	for range 20 {
		info, err := e.client.Execute(ctx, "SELECT sku, count(*) FROM shop.lines GROUP BY sku")
		require.NoError(t, err)
		require.NoError(t, drainStream(ctx, e, info))
		last = info
	}
	h.waitEnded(t, queryID(t, last))
	s := e.srv.queries
	s.mu.Lock()
	n := len(s.entries)
	for _, en := range s.entries {
		require.Nil(t, en.value.plan, "an ended query's ticket still holds its plan")
	}
	s.mu.Unlock()
	require.Equal(t, 20, n)
	// A late fetch of a finished query's ticket says so.
	_, err := e.client.DoGet(ctx, last.Endpoint[0].Ticket)
	require.Equal(t, codes.NotFound, status.Code(err))
	require.Contains(t, err.Error(), "has finished")
}
