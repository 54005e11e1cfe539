package flightserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// refusingPlanner refuses every statement the way the sandbox does.
type refusingPlanner struct{}

func (refusingPlanner) Plan(context.Context, string) (*planner.Plan, error) {
	return nil, fmt.Errorf("table function read_csv is not allowed: %w", planner.ErrRefused)
}

func (r refusingPlanner) Type(ctx context.Context, sql string) (*planner.Plan, error) {
	return r.Plan(ctx, sql)
}

func TestAuditRecordsEveryDecision(t *testing.T) {
	var buf bytes.Buffer
	srv, err := New(Options{
		Planner:     refusingPlanner{},
		AuditLogger: slog.New(slog.NewJSONHandler(&buf, nil)),
		Access:      Access{Principal: func(context.Context) string { return "mallory" }},
	})
	require.NoError(t, err)
	ctx := context.Background()

	_, err = srv.flightInfo(ctx, "SELECT * FROM read_csv('/etc/passwd')", nil, &flight.FlightDescriptor{}, "")
	require.Error(t, err)
	plan := &planner.Plan{Tables: []*storage.Table{{Name: storage.TableName{Schema: "demo", Name: "plays"}}}}
	srv.audit(ctx, "query", "SELECT count(*) FROM demo.plays", plan, nil)

	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		records = append(records, r)
	}
	require.Len(t, records, 2)
	require.Equal(t, "mallory", records[0]["principal"])
	require.Equal(t, "refused", records[0]["decision"])
	require.Equal(t, "PermissionDenied", records[0]["code"])
	require.Contains(t, records[0]["sql"], "read_csv")
	require.Equal(t, "allowed", records[1]["decision"])
	require.Equal(t, []any{"demo.plays"}, records[1]["tables"])
}
