package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

const testPolicy = `
rules:
  - match: {roles: [analyst]}
    tables: ["demo.*"]
    deny_columns: {demo.profiles: [name]}
    masks: {demo.profiles: {country: "'**'"}}
    row_filters: {demo.plays: "device = $claims.device"}
  - match: {sub: auditor}
    tables: [demo.plays]
`

func writePolicy(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestPolicyRestrict(t *testing.T) {
	pol, err := Load(writePolicy(t, testPolicy))
	require.NoError(t, err)
	plays := storage.TableName{Schema: "demo", Name: "plays"}
	profiles := storage.TableName{Schema: "demo", Name: "profiles"}
	other := storage.TableName{Schema: "sales", Name: "orders"}
	as := func(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }
	analyst := as(auth.Principal{Subject: "alice", Roles: []string{"analyst"}, Claims: map[string]any{"device": "tv"}})

	r, err := pol.Restrict(analyst, plays)
	require.NoError(t, err)
	require.Equal(t, []string{"device = $quiver_claim_device"}, r.Filters)
	require.Equal(t, map[string]any{"device": "tv"}, r.Claims)

	r, err = pol.Restrict(analyst, profiles)
	require.NoError(t, err)
	require.Equal(t, []string{"name"}, r.Deny)
	require.Equal(t, map[string]string{"country": "'**'"}, r.Masks)

	_, err = pol.Restrict(analyst, other)
	require.ErrorIs(t, err, planner.ErrNotGranted, "deny by default")

	noClaim := as(auth.Principal{Subject: "bob", Roles: []string{"analyst"}})
	_, err = pol.Restrict(noClaim, plays)
	require.ErrorIs(t, err, planner.ErrNotGranted)
	require.ErrorContains(t, err, `claim "device"`)

	auditor := as(auth.Principal{Subject: "auditor"})
	r, err = pol.Restrict(auditor, plays)
	require.NoError(t, err)
	require.Empty(t, r.Filters)
	_, err = pol.Restrict(auditor, profiles)
	require.ErrorIs(t, err, planner.ErrNotGranted)

	_, err = pol.Restrict(context.Background(), plays)
	require.ErrorIs(t, err, planner.ErrNotGranted, "no principal, no grant")
	require.ErrorContains(t, err, `"anonymous"`, "without authentication the caller is anonymous")
}

func TestLoadRejects(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key": "rules:\n  - tables: [a.b]\n    grants: [x]\n",
		"no tables":   "rules:\n  - match: {sub: a}\n",
		"bad glob":    "rules:\n  - tables: ['demo.[']\n",
		"not yaml":    "rules: [",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writePolicy(t, text))
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestStoreKeepsPolicyOnBadReload(t *testing.T) {
	file := writePolicy(t, testPolicy)
	store, err := OpenStore(context.Background(), file, nil)
	require.NoError(t, err)
	auditor := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "auditor"})
	plays := storage.TableName{Schema: "demo", Name: "plays"}
	_, err = store.Restrict(auditor, plays)
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(file, []byte("rules: ["), 0o600))
	_, err = store.Reload(context.Background())
	require.ErrorIs(t, err, ErrInvalid)
	_, err = store.Restrict(auditor, plays)
	require.NoError(t, err, "the old policy stays in force")

	require.NoError(t, os.WriteFile(file, []byte("rules:\n  - match: {sub: someone}\n    tables: [demo.plays]\n"), 0o600))
	_, err = store.Reload(context.Background())
	require.NoError(t, err)
	_, err = store.Restrict(auditor, plays)
	require.ErrorIs(t, err, planner.ErrNotGranted, "the new policy is in force")
}

func TestStoreDenied(t *testing.T) {
	store, err := OpenStore(context.Background(), writePolicy(t, testPolicy), nil)
	require.NoError(t, err)
	analyst := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "ann", Roles: []string{"analyst"}})
	require.Equal(t, map[string]bool{"name": true}, store.Denied(analyst, storage.TableName{Schema: "demo", Name: "profiles"}))
	require.Empty(t, store.Denied(analyst, storage.TableName{Schema: "demo", Name: "plays"}), "a row filter denies no column")
	require.Nil(t, store.Denied(analyst, storage.TableName{Schema: "sales", Name: "orders"}), "an ungranted table")
}
