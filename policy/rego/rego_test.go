package rego

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/auth"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/policy"
	"github.com/quiver-data/quiver/storage"
)

// filePolicy is the policy file testdata/trino/policy.rego is written to
// be equivalent to.
const filePolicy = `
rules:
  - match: {roles: [analyst]}
    tables: ["demo.*"]
    deny_columns: {demo.profiles: [name]}
    row_filters: {demo.plays: "device = $claims.device"}
  - match: {sub: auditor}
    tables: [demo.plays, ice.sales.orders]
`

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func load(t *testing.T, path string) *Engine {
	t.Helper()
	e, err := Load(context.Background(), path, Options{})
	require.NoError(t, err)
	return e
}

// warehouse is a table of the Parquet warehouse (catalog "quiver").
func warehouse(schema, table string, cols ...policy.Column) policy.Resource {
	r := policy.NameOnly(storage.TableName{Schema: schema, Name: table})
	r.Columns = cols
	return r
}

func col(name, typ string, tags ...string) policy.Column {
	return policy.Column{Name: name, Type: typ, Tags: tags}
}

var (
	plays = warehouse("demo", "plays",
		col("user_id", "BIGINT"), col("device", "VARCHAR"), col("ts", "TIMESTAMP"))
	profiles = warehouse("demo", "profiles",
		col("user_id", "BIGINT"), col("name", "VARCHAR"), col("email", "VARCHAR", "pii:email"), col("country", "VARCHAR"))
	orders = warehouse("sales", "orders", col("order_id", "BIGINT"), col("amount", "DECIMAL(18,2)"))
	// iceOrders is the Iceberg table ice.sales.orders.
	iceOrders = policy.Resource{
		Name:    storage.TableName{Schema: "ice.sales", Name: "orders"},
		Catalog: "ice", Schema: "sales", Table: "orders",
		Columns: []policy.Column{col("order_id", "BIGINT"), col("amount", "DECIMAL(18,2)")},
	}
)

// batchRule is Trino's batched FilterColumns for testdata/trino: the
// columns its denied rule leaves.
const batchRule = `
batch contains i if {
	input.action.operation == "FilterColumns"
	some r in input.action.filterResources
	some i, c in r.table.columns
	not denied(c) with input.action.resource as r
}
`

// trinoWith is a bundle of testdata/trino with more rules, in p.rego.
func trinoWith(t testing.TB, rules string) string {
	dir := t.TempDir()
	text, err := os.ReadFile("testdata/trino/policy.rego")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.rego"), append(text, rules...), 0o600))
	return dir
}

func TestMatchesFilePolicy(t *testing.T) {
	t.Run("per column", func(t *testing.T) { testMatchesFilePolicy(t, "testdata/trino") })
	t.Run("batch", func(t *testing.T) { testMatchesFilePolicy(t, trinoWith(t, batchRule)) })
}

func testMatchesFilePolicy(t *testing.T, bundle string) {
	ctx := context.Background()
	file, err := policy.Load(write(t, t.TempDir(), "policy.yaml", filePolicy))
	require.NoError(t, err)
	e := load(t, bundle)

	principals := map[string]auth.Principal{
		"analyst tv":         {Subject: "ann", Roles: []string{"analyst"}, Claims: map[string]any{"device": "tv"}},
		"analyst no claim":   {Subject: "bob", Roles: []string{"analyst"}},
		"auditor":            {Subject: "auditor"},
		"auditor analyst":    {Subject: "auditor", Roles: []string{"analyst"}, Claims: map[string]any{"device": "phone"}},
		"privacy":            {Subject: "pat", Roles: []string{"privacy"}},
		"nobody":             {Subject: "nobody"},
		"analyst name-only":  {Subject: "ann", Roles: []string{"analyst", "other"}, Claims: map[string]any{"device": "tv", "n": 3.0}},
		"auditor wrong role": {Subject: "auditor2", Roles: []string{"auditor"}},
	}
	tables := []policy.Resource{plays, profiles, orders, iceOrders,
		policy.NameOnly(storage.TableName{Schema: "demo", Name: "plays"})}

	granted := 0
	for pname, p := range principals {
		for _, r := range tables {
			t.Run(pname+"/"+r.Name.String(), func(t *testing.T) {
				want, wantErr := file.Decide(ctx, p, r)
				got, gotErr := e.Decide(ctx, p, r)
				if wantErr != nil {
					require.ErrorIs(t, gotErr, planner.ErrNotGranted)
					require.Equal(t, wantErr.Error(), gotErr.Error())
					require.Nil(t, got)
					return
				}
				granted++
				require.NoError(t, gotErr)
				require.ElementsMatch(t, set(want.Deny), got.Deny)
				require.Equal(t, sorted(want.Filters), got.Filters)
				require.Equal(t, want.Claims, got.Claims)
				require.NotNil(t, got.Masks)
				require.NotNil(t, got.TypedMasks)
				require.Empty(t, got.Masks)
				require.Empty(t, got.TypedMasks)
			})
		}
	}
	require.Greater(t, granted, 5, "the matrix grants some tables")
}

func set(s []string) []string {
	s = sorted(s)
	return slices.Compact(s)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestMasks(t *testing.T) {
	ctx := context.Background()
	analyst := auth.Principal{Subject: "ann", Roles: []string{"analyst"}}
	privacy := auth.Principal{Subject: "pat", Roles: []string{"privacy"}}
	for _, dir := range []string{"testdata/masks", "testdata/batch"} {
		t.Run(dir, func(t *testing.T) {
			e := load(t, dir)
			r, err := e.Decide(ctx, analyst, profiles)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"email": "'***'"}, r.TypedMasks)
			require.Empty(t, r.Masks, "Rego masks keep the column's type")
			require.Empty(t, r.Deny)

			r, err = e.Decide(ctx, privacy, profiles)
			require.NoError(t, err)
			require.Empty(t, r.TypedMasks)
			require.NotNil(t, r.TypedMasks)
		})
	}

	// A denied column is not masked; a mask may name claims.
	dir := t.TempDir()
	write(t, dir, "p.rego", `package trino
allow if not "email" in input.action.resource.table.columns
columnMask := {"expression": "CASE WHEN region = $claims.region THEN country END"} if {
	input.action.resource.column.columnName in {"email", "country"}
}`)
	e := load(t, dir)
	r, err := e.Decide(ctx, auth.Principal{Subject: "ann", Claims: map[string]any{"region": "eu"}}, profiles)
	require.NoError(t, err)
	require.Equal(t, []string{"email"}, r.Deny)
	require.Equal(t, map[string]string{"country": "CASE WHEN region = $quiver_claim_region THEN country END"}, r.TypedMasks)
	require.Equal(t, map[string]any{"region": "eu"}, r.Claims)
	_, err = e.Decide(ctx, auth.Principal{Subject: "bob"}, profiles)
	require.ErrorIs(t, err, planner.ErrNotGranted, "a mask needing a claim the token lacks refuses")
}

// TestInputs pins the input documents to Trino's shapes.
func TestInputs(t *testing.T) {
	p := auth.Principal{Subject: "ann", Claims: map[string]any{"device": "tv"}}
	in, err := newInputs(p, profiles)
	require.NoError(t, err)
	ctxDoc := `{"identity": {"user": "ann", "groups": [], "claims": {"device": "tv"}}, "softwareStack": {"trinoVersion": "quiver"}}`
	tags := `{"user_id": [], "name": [], "email": ["pii:email"], "country": []}`
	table := `"catalogName": "quiver", "schemaName": "demo", "tableName": "profiles"`
	col := `{"column": {` + table + `, "columnName": "email", "columnType": "VARCHAR", "tags": ["pii:email"]}}`
	for name, c := range map[string]struct {
		got  ast.Value
		want string
	}{
		"table": {in.selectFrom(nil),
			`{"operation": "SelectFromColumns", "resource": {"table": {` + table + `, "columns": [], "columnTags": ` + tags + `}}}`},
		"column": {in.selectFrom(ast.StringTerm("email")),
			`{"operation": "SelectFromColumns", "resource": {"table": {` + table + `, "columns": ["email"], "columnTags": ` + tags + `}}}`},
		"row filters": {in.getRowFilters(),
			`{"operation": "GetRowFilters", "resource": {"table": {` + table + `}}}`},
		"mask": {in.getColumnMask(profiles.Columns[2]),
			`{"operation": "GetColumnMask", "resource": ` + col + `}`},
		"batch masks": {in.getColumnMasks(profiles.Columns[2:3]),
			`{"operation": "GetColumnMask", "filterResources": [` + col + `]}`},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ast.JSON(c.got)
			require.NoError(t, err)
			raw, err := json.Marshal(got)
			require.NoError(t, err)
			require.JSONEq(t, `{"context": `+ctxDoc+`, "action": `+c.want+`}`, string(raw))
		})
	}
}

func TestBundles(t *testing.T) {
	ctx := context.Background()
	ann := auth.Principal{Subject: "ann"}
	policyText := `package trino
allow if input.context.identity.user in data.trino.users
`
	// A directory with data.
	dir := t.TempDir()
	write(t, dir, "trino/policy.rego", policyText)
	write(t, dir, "trino/data.json", `{"users": ["ann"]}`)
	e := load(t, dir)
	_, err := e.Decide(ctx, ann, plays)
	require.NoError(t, err)
	_, err = e.Decide(ctx, auth.Principal{Subject: "bob"}, plays)
	require.ErrorIs(t, err, planner.ErrNotGranted)

	// The same as a bundle .tar.gz.
	tgz := filepath.Join(t.TempDir(), "bundle.tar.gz")
	require.NoError(t, os.WriteFile(tgz, tarball(t, map[string]string{
		"/trino/policy.rego": policyText,
		"/trino/data.yaml":   "users: [ann]\n",
	}), 0o600))
	e = load(t, tgz)
	_, err = e.Decide(ctx, ann, plays)
	require.NoError(t, err)

	// One .rego file, in another package.
	one := write(t, t.TempDir(), "access.rego", `package quiver.access
allow := input.context.identity.user == "ann"
`)
	_, err = Load(ctx, one, Options{})
	require.ErrorIs(t, err, policy.ErrInvalid, "no data.trino.allow")
	e, err = Load(ctx, one, Options{Package: "quiver.access"})
	require.NoError(t, err)
	_, err = e.Decide(ctx, ann, plays)
	require.NoError(t, err)
}

func tarball(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, text := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(text)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(text))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()

	dir := t.TempDir()
	write(t, dir, "good.rego", "package trino\nallow := true\n")
	write(t, dir, "bad.rego", "package trino\n\nallow if {\n  input.x ==\n")
	_, err := Load(ctx, dir, Options{})
	require.ErrorIs(t, err, policy.ErrInvalid)
	require.ErrorContains(t, err, "bad.rego:")

	dir = t.TempDir()
	write(t, dir, "types.rego", "package trino\nallow if {\n  x := 1\n  x.y == 2\n}\n")
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, policy.ErrInvalid, "a compile (type) error")
	require.ErrorContains(t, err, "types.rego:4")

	dir = t.TempDir()
	write(t, dir, "v0.rego", "package trino\nallow { true }\n")
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, policy.ErrInvalid, "Rego v1 syntax")
	require.ErrorContains(t, err, "v0.rego:2")

	dir = t.TempDir()
	write(t, dir, "other.rego", "package trino\nrowFilters contains {\"expression\": \"true\"}\n")
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, policy.ErrInvalid)
	require.ErrorContains(t, err, "no rule data.trino.allow")

	_, err = Load(ctx, filepath.Join(t.TempDir(), "missing"), Options{})
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NotErrorIs(t, err, policy.ErrInvalid)

	corrupt := write(t, t.TempDir(), "bundle.tar.gz", "not a tarball")
	_, err = Load(ctx, corrupt, Options{})
	require.ErrorIs(t, err, policy.ErrInvalid)
	require.ErrorContains(t, err, "bundle.tar.gz")

	_, err = Load(ctx, "testdata/trino", Options{Package: "not a package"})
	require.Error(t, err)
}

func TestLoaderReloads(t *testing.T) {
	ctx := context.Background()
	file := write(t, t.TempDir(), "policy.rego", "package trino\nallow := true\n")
	load := Loader(file, Options{})
	ann := auth.Principal{Subject: "ann"}

	d, err := load(ctx)
	require.NoError(t, err)
	_, err = d.Decide(ctx, ann, plays)
	require.NoError(t, err)

	write(t, filepath.Dir(file), "policy.rego", "package trino\nallow := false\n")
	d, err = load(ctx)
	require.NoError(t, err)
	_, err = d.Decide(ctx, ann, plays)
	require.ErrorIs(t, err, planner.ErrNotGranted)

	write(t, filepath.Dir(file), "policy.rego", "package trino\nallow :=\n")
	d, err = load(ctx)
	require.ErrorIs(t, err, policy.ErrInvalid)
	require.Nil(t, d, "no typed nil Decider")

	// Through a Store: a reload that fails keeps the policy in force.
	write(t, filepath.Dir(file), "policy.rego", "package trino\nallow := true\n")
	s, err := policy.Open(ctx, load, nil)
	require.NoError(t, err)
	write(t, filepath.Dir(file), "policy.rego", "package trino\nallow if {\n")
	_, err = s.Reload(ctx)
	require.Error(t, err)
	_, err = s.Decider().Decide(ctx, ann, plays)
	require.NoError(t, err)
}

func TestRuntimeErrorRefuses(t *testing.T) {
	ctx := context.Background()
	ann := auth.Principal{Subject: "ann", Roles: []string{"analyst"}}
	for name, text := range map[string]string{
		"builtin error in allow":      `allow if to_number(input.context.identity.user) > 0`,
		"builtin error in a negation": `allow if not to_number(input.context.identity.user) > 0`,
		"conflicting allow": `allow := true
allow := false if input.context.identity.user == "ann"`,
		"allow not a boolean": `allow := "yes"`,
		"builtin error in a column check": `allow if count(input.action.resource.table.columns) == 0
allow if to_number(input.action.resource.table.columns[0]) > 0`,
		"builtin error in a mask": `allow := true
columnMask := {"expression": "NULL"} if to_number(input.action.resource.column.columnName) > 0`,
		"conflicting masks": `allow := true
columnMask := {"expression": "NULL"}
columnMask := {"expression": "'***'"} if "pii:email" in input.action.resource.column.tags`,
		"mask without an expression": `allow := true
columnMask := {"expr": "NULL"}`,
		"row filters not a set": `allow := true
rowFilters := "true"`,
		"builtin error in row filters": `allow := true
rowFilters contains {"expression": sprintf("%d", [to_number("x")])}`,
		"batch index out of range": `allow := true
batchColumnMasks contains {"index": 99, "viewExpression": {"expression": "NULL"}}`,
		"batch column index out of range": `allow := true
batch contains 4`,
		"batch column index not a number": `allow := true
batch contains "email"`,
		"batch not a set": `allow := true
batch := true`,
		"builtin error in batch": `allow := true
batch contains to_number("x")`,
	} {
		t.Run(name, func(t *testing.T) {
			e := load(t, write(t, t.TempDir(), "p.rego", "package trino\n"+text+"\n"))
			r, err := e.Decide(ctx, ann, profiles)
			require.ErrorIs(t, err, ErrDecision)
			require.NotErrorIs(t, err, planner.ErrNotGranted)
			require.Equal(t, errkind.Internal, errkind.Of(err))
			require.ErrorContains(t, err, "demo.profiles")
			require.Nil(t, r)
		})
	}

	e := load(t, "testdata/trino")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := e.Decide(cancelled, ann, profiles)
	require.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentDecide(t *testing.T) {
	e := load(t, "testdata/trino")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			p := auth.Principal{Subject: fmt.Sprint("u", i), Roles: []string{"analyst"}, Claims: map[string]any{"device": "tv"}}
			for range 50 {
				r, err := e.Decide(context.Background(), p, profiles)
				if err == nil && !slices.Equal(r.Deny, []string{"name"}) {
					err = fmt.Errorf("deny %v", r.Deny)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, errors.Join(slices.Collect(chanSeq(errs))...))
}

func chanSeq[T any](c <-chan T) func(func(T) bool) {
	return func(yield func(T) bool) {
		for v := range c {
			if !yield(v) {
				return
			}
		}
	}
}

// BenchmarkDecide decides a 10-column table with a row filter and a
// masked column: per column, 11 allow evaluations, one rowFilters, ten
// columnMask; batch, one allow, one batch, one rowFilters, one
// batchColumnMasks.
func BenchmarkDecide(b *testing.B) {
	b.Run("per column", func(b *testing.B) {
		benchmarkDecide(b, trinoWith(b, ""), `
columnMask := {"expression": "'***'"} if {
	some t in input.action.resource.column.tags
	startswith(t, "pii:")
	not "privacy" in input.context.identity.groups
}
`)
	})
	b.Run("batch", func(b *testing.B) {
		benchmarkDecide(b, trinoWith(b, batchRule), `
batchColumnMasks contains {"index": i, "viewExpression": {"expression": "'***'"}} if {
	some i, r in input.action.filterResources
	some t in r.column.tags
	startswith(t, "pii:")
	not "privacy" in input.context.identity.groups
}
`)
	})
}

func benchmarkDecide(b *testing.B, bundle, masks string) {
	dir := b.TempDir()
	text, err := os.ReadFile(filepath.Join(bundle, "p.rego"))
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(dir, "p.rego"), append(text, masks...), 0o600))
	e, err := Load(context.Background(), dir, Options{})
	require.NoError(b, err)
	cols := make([]policy.Column, 10)
	for i := range cols {
		cols[i] = col(fmt.Sprint("c", i), "VARCHAR")
	}
	cols[3].Tags = []string{"pii:email"}
	r := warehouse("demo", "plays", cols...)
	p := auth.Principal{Subject: "ann", Roles: []string{"analyst"}, Claims: map[string]any{"device": "tv"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.Decide(ctx, p, r)
		if err != nil || len(res.Filters) != 1 || len(res.TypedMasks) != 1 {
			b.Fatal(res, err)
		}
	}
}
