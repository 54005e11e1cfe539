package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

const e2ePolicy = `
rules:
  - match: {roles: [analyst]}
    tables: [demo.plays, demo.profiles]
    deny_columns: {demo.profiles: [name]}
    masks: {demo.profiles: {country: "'**'"}}
    row_filters: {demo.plays: "device = $claims.device"}
  - match: {roles: [auditor]}
    tables: ["demo.*"]
`

// TestPolicy runs a live server with JWT auth and a policy file: two roles
// see different tables, rows and columns, and what they see equals DuckDB
// applying the same rules by hand.
// policyServer is a live server with HS256 JWT auth and e2ePolicy over
// the demo data, with tokens for an analyst (device tv) and an auditor.
type policyServer struct {
	addr, secret, analyst, auditor string
	cl                             *flightsql.Client
	oracle                         *harness.Oracle
}

func startPolicyServer(t *testing.T) *policyServer {
	t.Helper()
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	ps := &policyServer{secret: filepath.Join(dir, "secret")}
	require.NoError(t, os.WriteFile(ps.secret, []byte(policySecret+"\n"), 0o600))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(e2ePolicy), 0o600))
	ps.analyst = quiverToken(t, "--jwt-secret-file", ps.secret, "--sub", "ann", "--role", "analyst", "--ttl", "1h", "--claim", "device=tv")
	ps.auditor = quiverToken(t, "--jwt-secret-file", ps.secret, "--sub", "aud", "--role", "auditor", "--ttl", "1h")
	ps.addr = startAuthServer(t, func(addr string) error {
		cl, err := harness.DialFlightSQL(addr, nil)
		if err != nil {
			return err
		}
		defer cl.Close()
		_, err = selectOne(bearer(ps.auditor), cl)
		return err
	}, "--warehouse", wh, "--local-workers", "2", "--jwt-secret-file", ps.secret, "--policy-file", policy)
	ps.cl = dialFlightSQL(t, ps.addr, nil)
	ps.oracle = harness.NewOracle(t, harness.OracleOptions{Warehouse: wh, Tables: demoTables})
	return ps
}

const policySecret = "policy-secret-policy-secret-0123456789"

// TestPolicy runs a live server with JWT auth and a policy file: two roles
// see different tables, rows and columns, and what they see equals DuckDB
// applying the same rules by hand.
func TestPolicy(t *testing.T) {
	ps := startPolicyServer(t)
	cl, oracle, analyst, auditor := ps.cl, ps.oracle, ps.analyst, ps.auditor
	ctx := context.Background()

	query := func(t *testing.T, tok, sql string) (*harness.Result, error) {
		t.Helper()
		return harness.RunFlightSQL(bearer(tok), cl, sql)
	}
	same := func(t *testing.T, tok, sql, byHand string) {
		t.Helper()
		got, err := query(t, tok, sql)
		require.NoError(t, err, sql)
		defer got.Release()
		want, err := oracle.Query(ctx, byHand)
		require.NoError(t, err, byHand)
		defer want.Release()
		harness.Compare(t, sql, want, got, false)
	}

	t.Run("analyst sees only tv plays", func(t *testing.T) {
		same(t, analyst, "SELECT device, count(*) AS n, sum(duration_seconds) AS s FROM demo.plays GROUP BY device",
			"SELECT device, count(*) AS n, sum(duration_seconds) AS s FROM demo.plays WHERE device = 'tv' GROUP BY device")
		same(t, analyst, "SELECT * FROM demo.plays WHERE day = DATE '2025-01-02'",
			"SELECT * FROM demo.plays WHERE day = DATE '2025-01-02' AND device = 'tv'")
	})
	t.Run("analyst gets masked and denied columns, through joins too", func(t *testing.T) {
		same(t, analyst, "SELECT * FROM demo.profiles",
			"SELECT * EXCLUDE (name) REPLACE ('**' AS country) FROM demo.profiles")
		same(t, analyst, "SELECT pr.country, count(*) AS n FROM demo.plays p JOIN demo.profiles pr USING (profile_id) GROUP BY pr.country",
			"SELECT '**' AS country, count(*) AS n FROM demo.plays p JOIN demo.profiles pr USING (profile_id) WHERE p.device = 'tv' GROUP BY 1")
		_, err := query(t, analyst, "SELECT name FROM demo.profiles")
		require.Error(t, err, "a denied column does not exist for the analyst")
	})
	t.Run("lineage shows the mask and the row filter", func(t *testing.T) {
		sql := "SELECT pr.country, count(*) AS n FROM demo.plays p JOIN demo.profiles pr USING (profile_id) GROUP BY pr.country"
		res, err := query(t, analyst, sql)
		require.NoError(t, err)
		res.Release()
		lineage := func(tok, sql string) [][]string {
			t.Helper()
			res, err := query(t, tok, sql)
			require.NoError(t, err, sql)
			defer res.Release()
			return harness.TextRows(res).Rows
		}
		require.Equal(t, [][]string{
			{"*", "demo.plays.device", "filter", "true"},
			{"*", "demo.plays.profile_id", "join", "false"},
			{"*", "demo.profiles.country", "group_by", "false"},
			{"*", "demo.profiles.profile_id", "join", "false"},
			{"country", "demo.profiles.country", "expression", "true"},
		}, lineage(analyst, `SELECT DISTINCT coalesce(output_column, '*'), source_schema || '.' || source_table || '.' || source_column, kind, policy
			FROM system.lineage l JOIN system.queries q USING (query_id) WHERE q.sql = '`+sql+`' ORDER BY ALL`),
			"the analyst's own query: country reaches the result through the mask, the row filter reads device")
		// Who reads demo.profiles.country? The auditor sees only their
		// own queries; an admin sees everyone's.
		who := `SELECT DISTINCT principal FROM system.lineage WHERE source_schema = 'demo' AND source_table = 'profiles' AND source_column = 'country' ORDER BY ALL`
		require.Empty(t, lineage(auditor, who))
		admin := quiverToken(t, "--jwt-secret-file", ps.secret, "--sub", "root", "--role", "admin", "--ttl", "1h")
		require.Equal(t, [][]string{{"ann"}}, lineage(admin, who))
	})
	t.Run("analyst is denied other tables", func(t *testing.T) {
		for _, sql := range []string{
			"SELECT count(*) FROM demo.events",
			"SELECT * FROM demo.plays WHERE title_id IN (SELECT title_id FROM demo.titles)",
			"WITH x AS (SELECT * FROM demo.titles) SELECT count(*) FROM x",
		} {
			_, err := query(t, analyst, sql)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%s: %v", sql, err)
		}
	})
	t.Run("auditor sees everything", func(t *testing.T) {
		same(t, auditor, "SELECT device, count(*) AS n FROM demo.plays GROUP BY device",
			"SELECT device, count(*) AS n FROM demo.plays GROUP BY device")
	})
	t.Run("metadata is filtered the same way", func(t *testing.T) {
		var system []string
		tables := func(tok string) (names []string, profileCols []string) {
			system = nil
			info, err := cl.GetTables(bearer(tok), &flightsql.GetTablesOpts{IncludeSchema: true})
			require.NoError(t, err)
			res, err := harness.FetchAll(bearer(tok), cl, info)
			require.NoError(t, err)
			defer res.Release()
			for _, rec := range res.Records {
				for i := 0; i < int(rec.NumRows()); i++ {
					name := rec.Column(1).ValueStr(i) + "." + rec.Column(2).ValueStr(i)
					if rec.Column(1).ValueStr(i) == "system" {
						// Everyone may query the system tables (each shows a
						// principal its own rows), so the policy hides none.
						system = append(system, name)
						continue
					}
					names = append(names, name)
					if name == "demo.profiles" {
						s, err := flight.DeserializeSchema(rec.Column(4).(*array.Binary).Value(i), memory.DefaultAllocator)
						require.NoError(t, err)
						for _, f := range s.Fields() {
							profileCols = append(profileCols, f.Name)
						}
					}
				}
			}
			sort.Strings(names)
			return names, profileCols
		}
		names, cols := tables(analyst)
		require.Equal(t, []string{"demo.plays", "demo.profiles"}, names)
		require.Contains(t, system, "system.queries")
		require.NotContains(t, cols, "name")
		require.Contains(t, cols, "country")
		names, cols = tables(auditor)
		require.Equal(t, []string{"demo.events", "demo.plays", "demo.profiles", "demo.titles"}, names)
		require.Contains(t, cols, "name")
	})
}
