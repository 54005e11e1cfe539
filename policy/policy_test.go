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

	r, err := pol.Restrict(analyst, plays, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"device = $quiver_claim_device"}, r.Filters)
	require.Equal(t, map[string]any{"device": "tv"}, r.Claims)

	r, err = pol.Restrict(analyst, profiles, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"name"}, r.Deny)
	require.Equal(t, map[string]string{"country": "'**'"}, r.Masks)

	_, err = pol.Restrict(analyst, other, nil)
	require.ErrorIs(t, err, planner.ErrNotGranted, "deny by default")

	noClaim := as(auth.Principal{Subject: "bob", Roles: []string{"analyst"}})
	_, err = pol.Restrict(noClaim, plays, nil)
	require.ErrorIs(t, err, planner.ErrNotGranted)
	require.ErrorContains(t, err, `claim "device"`)

	auditor := as(auth.Principal{Subject: "auditor"})
	r, err = pol.Restrict(auditor, plays, nil)
	require.NoError(t, err)
	require.Empty(t, r.Filters)
	_, err = pol.Restrict(auditor, profiles, nil)
	require.ErrorIs(t, err, planner.ErrNotGranted)

	_, err = pol.Restrict(context.Background(), plays, nil)
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
	_, err = store.Restrict(auditor, plays, nil)
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(file, []byte("rules: ["), 0o600))
	_, err = store.Reload(context.Background())
	require.ErrorIs(t, err, ErrInvalid)
	_, err = store.Restrict(auditor, plays, nil)
	require.NoError(t, err, "the old policy stays in force")

	require.NoError(t, os.WriteFile(file, []byte("rules:\n  - match: {sub: someone}\n    tables: [demo.plays]\n"), 0o600))
	_, err = store.Reload(context.Background())
	require.NoError(t, err)
	_, err = store.Restrict(auditor, plays, nil)
	require.ErrorIs(t, err, planner.ErrNotGranted, "the new policy is in force")
}

func TestStoreDenied(t *testing.T) {
	store, err := OpenStore(context.Background(), writePolicy(t, testPolicy), nil)
	require.NoError(t, err)
	analyst := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "ann", Roles: []string{"analyst"}})
	require.Equal(t, map[string]bool{"name": true}, store.Denied(analyst, storage.TableName{Schema: "demo", Name: "profiles"}, nil))
	require.Empty(t, store.Denied(analyst, storage.TableName{Schema: "demo", Name: "plays"}, nil), "a row filter denies no column")
	require.Nil(t, store.Denied(analyst, storage.TableName{Schema: "sales", Name: "orders"}, nil), "an ungranted table")
}

const tagPolicy = `
rules:
  - match: {}
    tables: ["demo.*"]
  - match: {except_roles: [privacy]}
    mask_tags: {"pii:*": "'***'", "pii:email": "'[email]'"}
    deny_tags: [secret]
  - match: {roles: [analyst]}
    tables: [demo.profiles]
    masks: {demo.profiles: {phone: "'000'"}}
`

// TestTagRules: a rule without tables grants nothing and restricts the
// tables others grant; tag masks are typed masks, the first pattern in
// order wins, a column mask is kept beside them, deny_tags deny, and
// except_roles exempts.
func TestTagRules(t *testing.T) {
	pol, err := Load(writePolicy(t, tagPolicy))
	require.NoError(t, err)
	res := Resource{Name: storage.TableName{Schema: "demo", Name: "profiles"}, Columns: []Column{
		{Name: "email", Tags: []string{"pii:email"}},
		{Name: "phone", Tags: []string{"pii:phone"}},
		{Name: "notes", Tags: []string{"secret"}},
		{Name: "country"},
	}}
	ctx := context.Background()
	analyst := auth.Principal{Subject: "ann", Roles: []string{"analyst"}}
	r, err := pol.Decide(ctx, analyst, res)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"email": "'***'", "phone": "'***'"}, r.TypedMasks, `"pii:*" sorts before "pii:email"`)
	require.Equal(t, map[string]string{"phone": "'000'"}, r.Masks)
	require.Equal(t, []string{"notes"}, r.Deny)

	privacy := auth.Principal{Subject: "pia", Roles: []string{"privacy"}}
	r, err = pol.Decide(ctx, privacy, res)
	require.NoError(t, err)
	require.Empty(t, r.TypedMasks)
	require.Empty(t, r.Deny)
	require.True(t, pol.Exempt(privacy, "pii:email"))
	require.False(t, pol.Exempt(analyst, "pii:email"))
	require.False(t, pol.Exempt(privacy, "customer"), "no rule restricts the tag")

	_, err = pol.Decide(ctx, analyst, Resource{Name: storage.TableName{Schema: "sales", Name: "orders"}})
	require.ErrorIs(t, err, planner.ErrNotGranted, "a rule without tables grants nothing")

	var subjects []string
	for _, p := range pol.Principals() {
		subjects = append(subjects, p.Subject)
	}
	require.Equal(t, []string{"role:analyst", "role:privacy", Anyone}, subjects)
}

func TestRuleWithoutTablesMustRestrict(t *testing.T) {
	_, err := Load(writePolicy(t, "rules:\n  - match: {roles: [a]}\n"))
	require.ErrorContains(t, err, "grants no tables and restricts nothing")
	_, err = Load(writePolicy(t, "rules:\n  - match: {}\n    mask_tags: {\"pii:[\": \"NULL\"}\n"))
	require.ErrorContains(t, err, `tag pattern "pii:["`)
}
