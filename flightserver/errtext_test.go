package flightserver

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorCase is one failing statement of testdata/errors.json.
type errorCase struct {
	Comment string `json:"comment"`
	Query   string `json:"query"`
	// Code is the gRPC code's name ("InvalidArgument").
	Code string `json:"code"`
	// Caret, when set, is the text of the query the message's context
	// line must point at.
	Caret    string   `json:"caret"`
	Contains []string `json:"contains"`
}

func loadErrorCases(t *testing.T) []errorCase {
	t.Helper()
	b, err := os.ReadFile("testdata/errors.json")
	require.NoError(t, err)
	var cases []errorCase
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	return cases
}

// firstError plans sql and fetches every endpoint, returning the first
// error, from GetFlightInfo or a DoGet.
func (e *testEnv) firstError(ctx context.Context, sql string) error {
	info, err := e.client.Execute(ctx, sql)
	if err != nil {
		return err
	}
	for _, ep := range info.Endpoint {
		rdr, err := e.client.DoGet(ctx, ep.Ticket)
		if err == nil {
			for rdr.Next() {
			}
			err = rdr.Err()
			rdr.Release()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// requireClientText holds an error message to what a client may read of
// its statement sql: no path of the warehouse (dir), none of the
// planner's rewrites, and a context line, if any, that quotes sql.
func requireClientText(t *testing.T, dir, sql, msg string) {
	t.Helper()
	for _, leak := range []string{dir, "read_parquet", "list_value", "hive_partitioning", "hive_types", "struct_pack", "quiver_partials"} {
		require.NotContains(t, msg, leak, "the message shows the planner's rewrite or the warehouse")
	}
	if !strings.Contains(strings.ToUpper(sql), "LIMIT 0") {
		require.NotContains(t, msg, "LIMIT 0", "the probe's LIMIT 0 reached the client")
	}
	lines := strings.Split(sql, "\n")
	for _, l := range strings.Split(msg, "\n") {
		head, text, ok := strings.Cut(l, ": ")
		if !ok || !strings.HasPrefix(head, "LINE ") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(head, "LINE "))
		require.NoError(t, err, l)
		require.True(t, n >= 1 && n <= len(lines), "line %d of a %d-line statement", n, len(lines))
		require.Equal(t, lines[n-1], text, "the context line is not the client's")
	}
}

// caretText is the text of sql the message's context line points at.
func caretText(t *testing.T, sql, msg string) string {
	t.Helper()
	msgLines := strings.Split(msg, "\n")
	for i, l := range msgLines {
		if !strings.HasPrefix(l, "LINE ") || i+1 >= len(msgLines) {
			continue
		}
		head, text, _ := strings.Cut(l, ": ")
		caret := strings.Index(msgLines[i+1], "^")
		col := caret - len(head) - 2
		require.GreaterOrEqual(t, col, 0, "caret before the line:\n%s", msg)
		require.LessOrEqual(t, col, len(text), "caret past the line:\n%s", msg)
		return text[col:]
	}
	t.Fatalf("no context line in:\n%s", msg)
	return ""
}

// TestErrorsQuoteTheClientsStatement runs the statements of
// testdata/errors.json against a real server: each must fail with its
// code, quote the statement as the client wrote it with the caret where
// DuckDB pointed, and show none of the planner's rewrites (probe, files,
// read_parquet), whether it failed while planning, typing (GetSchema,
// CreatePreparedStatement) or on a worker. Query history keeps the same
// message.
func TestErrorsQuoteTheClientsStatement(t *testing.T) {
	h := &historySink{}
	e := newTestEnvWith(t, envOptions{tweak: func(o *Options) { o.History = h }})
	ctx := context.Background()
	for _, tc := range loadErrorCases(t) {
		t.Run(tc.Comment, func(t *testing.T) {
			err := e.firstError(ctx, tc.Query)
			require.Error(t, err)
			st := status.Convert(err)
			require.Equal(t, tc.Code, st.Code().String(), "%v", err)
			msg := st.Message()
			requireClientText(t, e.dir, tc.Query, msg)
			for _, c := range tc.Contains {
				require.Contains(t, msg, c)
			}
			if tc.Caret != "" {
				require.True(t, strings.HasPrefix(caretText(t, tc.Query, msg), tc.Caret),
					"the caret is not under %q:\n%s", tc.Caret, msg)
			} else {
				require.NotContains(t, msg, "LINE ")
			}

			// Typing only (GetSchema, a prepared statement) says the same
			// of errors it finds.
			if _, err := e.client.GetExecuteSchema(ctx, tc.Query); err != nil {
				requireClientText(t, e.dir, tc.Query, status.Convert(err).Message())
			}
			if stmt, err := e.client.Prepare(ctx, tc.Query); err != nil {
				requireClientText(t, e.dir, tc.Query, status.Convert(err).Message())
			} else {
				require.NoError(t, stmt.Close(ctx))
			}
		})
	}
	// History records what the client read.
	h.mu.Lock()
	failed := 0
	for _, rec := range h.recs {
		if rec.Error != "" {
			failed++
			requireClientText(t, e.dir, rec.SQL, rec.Error)
		}
	}
	h.mu.Unlock()
	require.NotZero(t, failed)
	// The server keeps serving.
	_, err := e.client.Execute(ctx, "SELECT count(*) FROM shop.lines")
	require.NoError(t, err)
}

// TestErrorsWithoutAStatementAreScrubbed: errors no statement explains
// (metadata, relayed worker statuses) still lose paths and context lines.
func TestErrorsWithoutAStatementAreScrubbed(t *testing.T) {
	err := status.Error(codes.InvalidArgument, "worker w: Conversion Error: bad\n\nLINE 1: SELECT x FROM read_parquet(list_value('/srv/wh/shop/t/a.parquet')) LIMIT 0\n        ^")
	st := status.Convert(toStatus(err))
	require.Equal(t, codes.InvalidArgument, st.Code())
	require.Equal(t, "worker w: Conversion Error: bad", st.Message())
}

// TestDirectErrorsQuoteTheClientsStatement runs the statements of
// testdata/errors.json with direct routing, where a client reads a
// worker's error from the worker itself: the worker words it in terms of
// the client's statement (carried in its ticket) as the coordinator does.
func TestDirectErrorsQuoteTheClientsStatement(t *testing.T) {
	e := newTestEnvWith(t, envOptions{routing: RoutingDirect})
	ctx := context.Background()
	direct := 0
	for _, tc := range loadErrorCases(t) {
		t.Run(tc.Comment, func(t *testing.T) {
			info, err := e.client.Execute(ctx, tc.Query)
			if err == nil {
				for _, ep := range info.Endpoint {
					if len(ep.Location) == 0 {
						continue // a merge is proxied
					}
					direct++
					rdr, closeFn, derr := e.doGetErr(t, ctx, ep)
					if derr == nil {
						for rdr.Next() {
						}
						derr = rdr.Err()
						closeFn()
					}
					if derr != nil {
						err = derr
						break
					}
				}
			}
			if err == nil {
				return // it fails only through the coordinator (a merge)
			}
			msg := status.Convert(err).Message()
			requireClientText(t, e.dir, tc.Query, msg)
			for _, c := range tc.Contains {
				require.Contains(t, msg, c)
			}
		})
	}
	require.Positive(t, direct, "some endpoints were fetched from workers")
}
