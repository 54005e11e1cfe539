package catalogmeta

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const sample = `
schemas:
  demo: {owner: data-platform, description: The demo's streaming service., tags: [demo]}
  lake.Billing: {owner: finance}
tables:
  demo.Profiles:
    owner: growth
    description: One row per account.
    tags: [customer, tier-1]
    columns:
      Email: {description: Login e-mail address., tags: ["pii:email"]}
      country: {tags: [geo]}
  lake.billing.invoices:
    description: One invoice per account and month.
`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(sample))
	require.NoError(t, err)
	require.Equal(t, Entry{Owner: "data-platform", Description: "The demo's streaming service.", Tags: []string{"demo"}},
		c.Schema(NewKey("quiver", "DEMO", "")), "two-part names are the Parquet warehouse's, matched case-insensitively")
	require.Equal(t, "finance", c.Schema(NewKey("lake", "billing", "")).Owner)
	require.Equal(t, Entry{}, c.Schema(NewKey("lake", "demo", "")), "another catalog's schema of the same name")

	p := c.Table(NewKey("quiver", "demo", "profiles"))
	require.Equal(t, "growth", p.Owner)
	require.Equal(t, []string{"customer", "tier-1"}, p.Tags)
	require.Equal(t, Column{Description: "Login e-mail address.", Tags: []string{"pii:email"}}, p.Columns["email"], "columns are keyed lower-case")
	require.Equal(t, "One invoice per account and month.", c.Table(NewKey("LAKE", "Billing", "Invoices")).Description)
	require.Equal(t, []Key{{"lake", "billing", "invoices"}, {"quiver", "demo", "profiles"}}, c.Tables())

	var none *Catalog
	require.Equal(t, TableEntry{}, none.Table(NewKey("quiver", "demo", "profiles")), "no file says nothing")
	empty, err := Parse(nil)
	require.NoError(t, err)
	require.Empty(t, empty.Tables())
}

func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":       {"tables: {demo.t: {owners: x}}", "field owners not found"},
		"one-part table":    {"tables: {profiles: {owner: x}}", `table "profiles": want schema.table`},
		"four-part table":   {"tables: {a.b.c.d: {owner: x}}", "want schema.table"},
		"empty part":        {"tables: {demo..t: {owner: x}}", "empty part"},
		"three-part schema": {"schemas: {a.b.c: {owner: x}}", "want schema (the Parquet warehouse) or catalog.namespace"},
		"bad tag":           {"tables: {demo.t: {tags: [PII Email]}}", `tag "PII Email"`},
		"bad column tag":    {"tables: {demo.t: {columns: {c: {tags: [\"\"]}}}}", "column demo.t.c"},
		"twice":             {"tables: {demo.t: {owner: x}, DEMO.T: {owner: y}}", "table demo.t is described twice"},
		"column twice":      {"tables: {demo.t: {columns: {c: {}, C: {}}}}", "column c is described twice"},
		"not yaml":          {"tables: [", "invalid catalog file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestMerge(t *testing.T) {
	own := Entry{Owner: "iceberg-owner", Description: "from the table's comment", Tags: []string{"b", "a"}}
	require.Equal(t, Entry{Owner: "file-owner", Description: "from the table's comment", Tags: []string{"a", "b", "c"}},
		Merge(Entry{Owner: "file-owner", Tags: []string{"c", "a"}}, own), "the file wins, tags are the union")
	require.Equal(t, Column{Description: "doc", Tags: []string{"pii:email"}}, MergeColumn(Column{Tags: []string{"pii:email"}}, Column{Description: "doc"}))
	require.Nil(t, UnionTags(nil, nil))
}

func TestStoreReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	require.NoError(t, os.WriteFile(path, []byte(sample), 0o600))
	s, err := OpenStore(path)
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Version())
	require.Equal(t, "growth", s.Catalog().Table(NewKey("quiver", "demo", "profiles")).Owner)

	require.NoError(t, os.WriteFile(path, []byte("tables: {demo.profiles: {owner: accounts}}"), 0o600))
	_, err = s.Reload()
	require.NoError(t, err)
	require.Equal(t, "accounts", s.Catalog().Table(NewKey("quiver", "demo", "profiles")).Owner)
	require.Equal(t, int64(2), s.Version())

	require.NoError(t, os.WriteFile(path, []byte("tables: {profiles: {}}"), 0o600))
	_, err = s.Reload()
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, path)
	require.Equal(t, "accounts", s.Catalog().Table(NewKey("quiver", "demo", "profiles")).Owner, "a bad reload keeps the file in force")
	require.Equal(t, int64(2), s.Version())

	_, err = OpenStore(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "read catalog file")
	var none *Store
	require.Nil(t, none.Catalog())
}
