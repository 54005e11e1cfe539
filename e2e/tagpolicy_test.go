package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestTagPolicy: a policy masks every pii:* column for every role but
// privacy. A detection masks nothing until it is accepted; accepting it
// (the action, or the command line) masks the column for the next query,
// with the column's type kept; the acceptance survives a restart; and
// system.violations with quiver_pii_violations list the PII columns some
// principal still reads unmasked.
func TestTagPolicy(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	writePeople(t, wh)
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(policySecret+"\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`rules:
  - match: {}
    tables: ["crm.*"]
  - match: {except_roles: [privacy]}
    mask_tags: {"pii:*": "'***'"}
`), 0o600))
	catalog := filepath.Join(dir, "catalog.yaml")
	require.NoError(t, os.WriteFile(catalog, []byte("tables:\n  crm.people:\n    columns:\n      id: {tags: [\"pii:national_id\"]}\n"), 0o600))
	admin := quiverToken(t, "--jwt-secret-file", secret, "--sub", "root", "--role", "admin", "--ttl", "1h")
	analyst := quiverToken(t, "--jwt-secret-file", secret, "--sub", "ann", "--role", "analyst", "--ttl", "1h")
	officer := quiverToken(t, "--jwt-secret-file", secret, "--sub", "pia", "--role", "privacy", "--ttl", "1h")
	start := func() (*harness.Server, *flightsql.Client) {
		return startGoverned(t, wh, admin, 1, "--jwt-secret-file", secret, "--policy-file", policy, "--catalog-file", catalog, "--history-flush", "100ms")
	}
	srv, cl := start()
	query := func(tok, q string) ([][]string, *arrow.Schema) {
		t.Helper()
		r, err := harness.RunFlightSQL(bearer(tok), cl, q)
		require.NoError(t, err, q)
		defer r.Release()
		return harness.TextRows(r).Rows, r.Schema
	}
	const people = "SELECT id, email, phone FROM crm.people ORDER BY id LIMIT 2"
	rows, schema := query(analyst, people)
	require.Equal(t, [][]string{{"NULL", "user0@example.com", "+14155550000"}, {"NULL", "user1@example.com", "+14155550001"}}, rows,
		"the tagged BIGINT id is masked to NULL ('***' is no BIGINT); the undetected columns are not")
	require.Equal(t, arrow.PrimitiveTypes.Int64, schema.Field(0).Type, "a tag mask keeps the column's type")

	res := harness.RunQuiver(t, 120*time.Second, nil, "detect", "run", "--server", srv.Addr(), "--token", admin)
	require.NoError(t, res.Err, res.Output)
	rows, _ = query(analyst, people)
	require.Equal(t, "user0@example.com", rows[0][1], "a suggested detection masks nothing")

	violations := func() [][]string {
		rows, _ := query(admin, "SELECT column_name, pii, evidence, principal FROM system.violations ORDER BY column_name, principal")
		return rows
	}
	require.Equal(t, [][]string{
		{"card", "payment_card", "detection_suggested", "anyone"},
		{"client_ip", "ip_address", "detection_suggested", "anyone"},
		{"email", "email", "detection_suggested", "anyone"},
		{"first_name", "person_name", "detection_suggested", "anyone"},
		{"phone", "phone", "detection_suggested", "anyone"},
	}, violations(), "the privacy role is exempted by the policy itself; the tagged id is masked")
	rows, _ = query(analyst, "SELECT count(*) FROM system.violations")
	require.Equal(t, [][]string{{"0"}}, rows, "only admins see what others may read")
	metric := func() float64 {
		v, _, err := srv.Metric(context.Background(), "quiver_pii_violations", map[string]string{"violation": "readable_unmasked"})
		require.NoError(t, err)
		return v
	}
	require.Equal(t, 5.0, metric())

	// Refused: not an admin, no such finding, a bad body.
	accept := func(tok, body string) error {
		stream, err := cl.Client.DoAction(bearer(tok), &flight.Action{Type: "quiver.detect.accept", Body: []byte(body)})
		if err == nil {
			_, err = stream.Recv()
		}
		return err
	}
	err := accept(analyst, `{"table": "crm.people", "column": "email"}`)
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	err = accept(admin, `{"table": "crm.people", "column": "notes"}`)
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	require.ErrorContains(t, err, "nothing was detected in quiver.crm.people column notes")
	err = accept(admin, `{"table": "people", "column": "email"}`)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	err = accept(admin, `{"table": "crm.people", "column": "email", "kind": "shoe_size"}`)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)

	// Accepted: masked for the next query, for everyone but privacy.
	require.NoError(t, accept(admin, `{"table": "crm.people", "column": "email"}`))
	res = harness.RunQuiver(t, 60*time.Second, nil, "detect", "accept", "crm.people", "PHONE", "--server", srv.Addr(), "--token", admin)
	require.NoError(t, res.Err, res.Output)
	require.Contains(t, res.Stdout, "accepted: quiver.crm.people column phone is tagged pii:phone")
	rows, schema = query(analyst, people)
	require.Equal(t, [][]string{{"NULL", "***", "***"}, {"NULL", "***", "***"}}, rows)
	require.Equal(t, arrow.BinaryTypes.String, schema.Field(1).Type)
	rows, _ = query(officer, people)
	require.Equal(t, [][]string{{"0", "user0@example.com", "+14155550000"}, {"1", "user1@example.com", "+14155550001"}}, rows)
	rows, _ = query(admin, "SELECT column_name, status, tag FROM system.detections WHERE column_name IN ('email', 'phone', 'card') ORDER BY 1")
	require.Equal(t, [][]string{{"card", "suggested", "pii:payment_card"}, {"email", "accepted", "pii:email"}, {"phone", "accepted", "pii:phone"}}, rows)
	rows, _ = query(admin, "SELECT tags FROM system.columns WHERE table_name = 'people' AND column_name = 'email'")
	require.Equal(t, [][]string{{`["pii:email"]`}}, rows, "an accepted detection is a tag like the catalog file's")
	require.Len(t, violations(), 3)
	require.Equal(t, 3.0, metric(), "the acceptance refreshed the gauge")
	rows, _ = query(analyst, "SELECT policy FROM system.lineage WHERE principal = 'ann' AND output_column = 'email' ORDER BY submitted DESC LIMIT 1")
	require.Equal(t, [][]string{{"true"}}, rows, "lineage shows the mask")

	// Findings and acceptances survive a restart.
	require.NoError(t, srv.Stop())
	srv, cl = start()
	rows, _ = query(analyst, people)
	require.Equal(t, "***", rows[0][1])
	require.Len(t, violations(), 3)
	_ = srv
}
