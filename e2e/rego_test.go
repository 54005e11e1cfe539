package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// regoFilePolicy is e2ePolicy with a tag rule: every pii:* column masked
// for all but the auditor.
const regoFilePolicy = e2ePolicy + `  - match: {except_roles: [auditor]}
    mask_tags: {"pii:*": "'***'"}
`

// regoPolicy is regoFilePolicy written for Trino's OPA access control,
// in package quiver.access (--policy-rego-package).
const regoPolicy = `package quiver.access

identity := input.context.identity

table := input.action.resource.table

col := input.action.resource.column

analyst if "analyst" in identity.groups

auditor if "auditor" in identity.groups

in_demo(t) if {
	t.catalogName == "quiver"
	t.schemaName == "demo"
}

granted if {
	analyst
	in_demo(table)
	table.tableName in {"plays", "profiles"}
}

granted if {
	auditor
	in_demo(table)
}

denied(t, c) if {
	analyst
	in_demo(t)
	t.tableName == "profiles"
	c == "name"
}

allow if {
	input.action.operation == "SelectFromColumns"
	granted
	every c in table.columns {
		not denied(table, c)
	}
}

batch contains i if {
	input.action.operation == "FilterColumns"
	some r in input.action.filterResources
	some i, c in r.table.columns
	not denied(r.table, c)
}

rowFilters contains {"expression": "device = $claims.device"} if {
	analyst
	in_demo(table)
	table.tableName == "plays"
}

country if {
	analyst
	in_demo(col)
	col.tableName == "profiles"
	col.columnName == "country"
}

columnMask := {"expression": "'**'"} if country

columnMask := {"expression": "'***'"} if {
	not country
	not auditor
	some t in col.tags
	startswith(t, "pii:")
}
`

// TestRegoPolicy: the same queries on a server with a policy file and on
// one with the equivalent Rego policy (Trino's OPA shape, batched column
// checks, a tag mask from the catalog file) answer the same, row for row
// and type for type, or fail with the same code; a SIGHUP reloads the
// bundle, and a bundle that does not compile leaves the old one in force.
func TestRegoPolicy(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	harness.DemoData(t, wh, demoScale, nil)
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(policySecret+"\n"), 0o600))
	file := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte(regoFilePolicy), 0o600))
	bundle := filepath.Join(dir, "bundle")
	require.NoError(t, os.MkdirAll(bundle, 0o755))
	regoFile := filepath.Join(bundle, "access.rego")
	require.NoError(t, os.WriteFile(regoFile, []byte(regoPolicy), 0o600))
	catalog := filepath.Join(dir, "catalog.yaml")
	require.NoError(t, os.WriteFile(catalog, []byte("tables:\n  demo.profiles:\n    columns:\n      birth_year: {tags: [\"pii:birth_date\"]}\n"), 0o600))
	token := func(args ...string) string {
		return quiverToken(t, append([]string{"--jwt-secret-file", secret, "--ttl", "1h"}, args...)...)
	}
	admin := token("--sub", "root", "--role", "admin")
	tokens := map[string]string{
		"analyst": token("--sub", "ann", "--role", "analyst", "--claim", "device=tv"),
		"auditor": token("--sub", "aud", "--role", "auditor"),
		"guest":   token("--sub", "gus", "--role", "guest"),
	}
	common := []string{"--jwt-secret-file", secret, "--catalog-file", catalog}
	_, fileCl := startGoverned(t, wh, admin, 1, append(common, "--policy-file", file)...)
	regoSrv, regoCl := startGoverned(t, wh, admin, 1, append(common, "--policy-rego", bundle, "--policy-rego-package", "quiver.access")...)

	queries := []string{
		"SELECT device, count(*) AS n, sum(duration_seconds) AS s FROM demo.plays GROUP BY device ORDER BY device",
		"SELECT * FROM demo.profiles ORDER BY profile_id LIMIT 100",
		"SELECT pr.country, count(*) AS n FROM demo.plays p JOIN demo.profiles pr USING (profile_id) GROUP BY pr.country ORDER BY 1",
		"SELECT birth_year, count(*) AS n FROM demo.profiles GROUP BY ALL ORDER BY ALL",
		"SELECT name FROM demo.profiles LIMIT 1",
		"SELECT count(*) AS n FROM demo.events",
		"SELECT * FROM demo.plays WHERE title_id IN (SELECT title_id FROM demo.titles) ORDER BY ALL LIMIT 10",
		"SELECT schema_name, table_name FROM system.tables WHERE schema_name = 'demo' ORDER BY ALL",
		"SELECT table_name, column_name FROM system.columns WHERE schema_name = 'demo' ORDER BY ALL",
	}
	ctx := context.Background()
	run := func(cl *flightsql.Client, tok, sql string) (*harness.Result, error) {
		return harness.RunFlightSQL(bearer(tok), cl, sql)
	}
	answered := 0
	for who, tok := range tokens {
		for _, sql := range queries {
			want, wantErr := run(fileCl, tok, sql)
			got, gotErr := run(regoCl, tok, sql)
			if wantErr != nil {
				require.Error(t, gotErr, "%s: %s: the file policy refuses it, the Rego one answers", who, sql)
				require.Equal(t, status.Code(wantErr), status.Code(gotErr), "%s: %s: %v / %v", who, sql, wantErr, gotErr)
				continue
			}
			require.NoError(t, gotErr, "%s: %s", who, sql)
			answered++
			harness.Compare(t, who+": "+sql, want, got, true)
			want.Release()
			got.Release()
		}
	}
	require.Greater(t, answered, 12, "the matrix answers most queries for someone")
	masked, err := run(regoCl, tokens["analyst"], "SELECT count(*) AS n FROM demo.profiles WHERE birth_year IS NOT NULL")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"0"}}, harness.TextRows(masked).Rows, "the analyst reads the tagged birth_year masked")
	masked.Release()

	// A reload grants the analyst demo.titles; a bundle that does not
	// compile is refused and the one in force stays.
	hup := func(msg string) harness.LogRecord {
		t.Helper()
		offset := regoSrv.LogOffset()
		require.NoError(t, regoSrv.Signal(syscall.SIGHUP))
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rec, err := regoSrv.WaitLog(wctx, offset, func(r harness.LogRecord) bool { return r.Msg() == msg })
		require.NoError(t, err, "waiting for %q", msg)
		return rec
	}
	titles := "SELECT count(*) AS n FROM demo.titles"
	_, err = run(regoCl, tokens["analyst"], titles)
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	require.NoError(t, os.WriteFile(regoFile, []byte(regoPolicy+"\ngranted if {\n\tanalyst\n\tin_demo(table)\n\ttable.tableName == \"titles\"\n}\n"), 0o600))
	hup("policy reloaded")
	res, err := run(regoCl, tokens["analyst"], titles)
	require.NoError(t, err)
	res.Release()
	require.NoError(t, os.WriteFile(regoFile, []byte("package quiver.access\nallow if {\n"), 0o600))
	rec := hup("policy reload rejected; the previous policy stays in force")
	require.Contains(t, rec.Str("err"), "access.rego:")
	res, err = run(regoCl, tokens["analyst"], titles)
	require.NoError(t, err, "the policy in force stays")
	res.Release()
	_, err = run(regoCl, tokens["analyst"], "SELECT count(*) FROM demo.events")
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
}
