package e2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// writePeople writes crm.people: known PII columns (email, phone, card,
// ip, first_name) and decoys (notes: free text with emails in 2% of the
// rows; account: 16 random digits, Luhn-valid one time in ten; id).
func writePeople(t *testing.T, wh string) {
	t.Helper()
	dir := filepath.Join(wh, "crm", "people")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf(`COPY (SELECT range AS id,
		'user' || range || '@example.com' AS email,
		'+1415555' || lpad(CAST(range %% 10000 AS VARCHAR), 4, '0') AS phone,
		['4111111111111111', '5555555555554444', '378282246310005', '4012888888881881'][range %% 4 + 1] AS card,
		'10.' || (range %% 200) || '.' || (range %% 250) || '.' || (range %% 254 + 1) AS client_ip,
		['Ann', 'Bob', 'Chloé'][range %% 3 + 1] AS first_name,
		CASE WHEN range %% 50 = 0 THEN 'call me, or write to ann' || range || '@example.org' ELSE 'nothing to say ' || range END AS notes,
		'4' || lpad(CAST(hash(range) %% 1000000000000000 AS VARCHAR), 15, '0') AS account
		FROM range(5000)) TO '%s'`, filepath.Join(dir, "people.parquet")))
	require.NoError(t, err)
}

// startGoverned starts a server over wh whose readiness is a query by
// the admin token (a policy refuses anonymous callers).
func startGoverned(t *testing.T, wh, admin string, workers int, args ...string) (*harness.Server, *flightsql.Client) {
	t.Helper()
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers, Args: args,
		Ready: func(addr string) error {
			cl, err := harness.DialFlightSQL(addr, nil)
			if err != nil {
				return err
			}
			defer cl.Close()
			_, err = selectOne(bearer(admin), cl)
			return err
		}})
	return srv, dialFlightSQL(t, srv.Addr(), nil)
}

// TestDetection: an admin's `quiver detect run` samples every table as
// the server (the policy's masks do not apply to it), system.detections
// lists what was found, filtered by policy for each caller, no sampled
// value reaches a system table, the log or the metrics, and tagging a
// column in the catalog file accepts its finding.
func TestDetection(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	writePeople(t, wh)
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(policySecret+"\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`rules:
  - match: {roles: [admin]}
    tables: ["crm.*"]
    masks: {crm.people: {email: "'***'"}}
  - match: {roles: [analyst]}
    tables: ["crm.*"]
    deny_columns: {crm.people: [phone]}
`), 0o600))
	catalog := filepath.Join(dir, "catalog.yaml")
	require.NoError(t, os.WriteFile(catalog, []byte("tables: {}\n"), 0o600))
	admin := quiverToken(t, "--jwt-secret-file", secret, "--sub", "root", "--role", "admin", "--ttl", "1h")
	analyst := quiverToken(t, "--jwt-secret-file", secret, "--sub", "ann", "--role", "analyst", "--ttl", "1h")
	srv, cl := startGoverned(t, wh, admin, 2, "--jwt-secret-file", secret, "--policy-file", policy, "--catalog-file", catalog, "--detect-rows", "2000")

	res := harness.RunQuiver(t, 60*time.Second, nil, "detect", "run", "--server", srv.Addr(), "--token", analyst)
	require.Error(t, res.Err)
	require.Contains(t, res.Output, "detection runs are for admins")
	stream, err := cl.Client.DoAction(bearer(analyst), &flight.Action{Type: "quiver.detect.run"})
	if err == nil {
		_, err = stream.Recv()
	}
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	res = harness.RunQuiver(t, 120*time.Second, nil, "detect", "run", "--server", srv.Addr(), "--token", admin)
	require.NoError(t, res.Err, res.Output)
	require.Contains(t, res.Stdout, "sampled 1 tables (8 columns)")
	require.Contains(t, res.Stdout, "5 findings")

	rows := func(tok, q string) [][]string {
		t.Helper()
		r, err := harness.RunFlightSQL(bearer(tok), cl, q)
		require.NoError(t, err, q)
		defer r.Release()
		return harness.TextRows(r).Rows
	}
	const findings = `SELECT column_name, kind, method, status, rows_sampled, rows_matched = rows_sampled OR method = 'name'
		FROM system.detections WHERE table_name = 'people' ORDER BY column_name`
	require.Equal(t, [][]string{
		{"card", "payment_card", "values+name", "suggested", "2000", "true"},
		{"client_ip", "ip_address", "values+name", "suggested", "2000", "true"},
		{"email", "email", "values+name", "suggested", "2000", "true"},
		{"first_name", "person_name", "name", "suggested", "2000", "true"},
		{"phone", "phone", "values+name", "suggested", "2000", "true"},
	}, rows(admin, findings), "found on unmasked values; the decoys (notes, account, id) are not")
	require.Len(t, rows(analyst, findings), 4, "the analyst's denied column is not listed")

	// No sampled value anywhere: system tables, the log, the metrics.
	var seen strings.Builder
	for _, q := range []string{"SELECT * FROM system.detections", "SELECT * FROM system.queries", "SELECT * FROM system.lineage"} {
		for _, r := range rows(admin, q) {
			seen.WriteString(strings.Join(r, "|") + "\n")
		}
	}
	resp, err := http.Get(srv.MetricsURL())
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, where := range []string{seen.String(), srv.Logs(), string(metrics)} {
		for _, v := range []string{"@example.com", "4111111111111111", "+14155550", "10.1.1.2", "Chloé", "nothing to say"} {
			require.NotContains(t, where, v)
		}
	}
	require.Contains(t, seen.String(), "quiver:detect", "the sampling queries are in the history, as the server's")

	// Accepting: the catalog file tags the column; the finding says so.
	require.NoError(t, os.WriteFile(catalog, []byte("tables:\n  crm.people:\n    columns:\n      email: {tags: [\"pii:email\"]}\n"), 0o600))
	offset := srv.LogOffset()
	require.NoError(t, srv.Signal(syscall.SIGHUP))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = srv.WaitLog(ctx, offset, func(r harness.LogRecord) bool { return r.Msg() == "catalog file reloaded" })
	require.NoError(t, err)
	require.Equal(t, [][]string{{"email", "accepted", "pii:email"}, {"phone", "suggested", "pii:phone"}},
		rows(admin, "SELECT column_name, status, tag FROM system.detections WHERE column_name IN ('email', 'phone') ORDER BY 1"))
}
