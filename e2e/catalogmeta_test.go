package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// TestCatalogMetadata serves a catalog file: owners, descriptions and
// tags reach system.tables, system.columns and GetTables' column
// REMARKS, filtered by the policy, and a SIGHUP reloads the file (a bad
// one keeps the one in force).
func TestCatalogMetadata(t *testing.T) {
	wh := t.TempDir()
	writeIDTags(t, wh)
	writeIDTags(t, filepath.Join(wh, "hidden"))
	require.NoError(t, os.Rename(filepath.Join(wh, "hidden", "dim"), filepath.Join(wh, "secret")))
	dir := t.TempDir()
	catalogFile := filepath.Join(dir, "catalog.yaml")
	write := func(body string) { require.NoError(t, os.WriteFile(catalogFile, []byte(body), 0o600)) }
	write(`
schemas:
  dim: {owner: platform, description: Dimensions., tags: [shared]}
  secret: {description: Nobody may know.}
tables:
  dim.id_tags:
    owner: platform
    description: Tags of ids.
    tags: [reference]
    columns:
      tag: {description: The tag of an id., tags: ["pii:other"]}
      id: {description: Denied to the caller.}
  secret.id_tags:
    description: A table the caller may not see.
`)
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`rules:
  - match: {sub: anonymous}
    tables: ["dim.*", "system.*"]
    deny_columns: {dim.id_tags: [id]}
`), 0o600))
	srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 1,
		Args: []string{"--catalog-file", catalogFile, "--policy-file", policy}})
	cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)

	require.Equal(t, [][]string{{`"dim"`, `"id_tags"`, `"platform"`, `"Tags of ids."`, `["reference"]`}},
		queryRows(t, cl, "SELECT schema_name, table_name, owner, description, tags FROM system.tables WHERE catalog_name = 'quiver'"),
		"a table the policy hides is not listed, nor what is said about it")
	require.Equal(t, [][]string{{`"quiver"`, `"dim"`, `"id_tags"`, `"tag"`, "1", `"VARCHAR"`, "true", `"The tag of an id."`, `["pii:other"]`}},
		queryRows(t, cl, "SELECT catalog_name, schema_name, table_name, column_name, ordinal_position - 1, data_type, is_nullable, description, tags FROM system.columns WHERE schema_name <> 'system'"),
		"the denied column is not listed")

	dim := "dim"
	require.Equal(t, [][]string{{`"dim"`, "1", `"platform"`, `"Dimensions."`, `["shared"]`}},
		queryRows(t, cl, "SELECT schema_name, tables, owner, description, tags FROM system.schemas WHERE catalog_name = 'quiver' AND schema_name <> 'system'"),
		"a schema whose tables are all hidden is not listed")

	remarks := func() map[string]string {
		ctx := context.Background()
		info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true, DbSchemaFilterPattern: &dim})
		require.NoError(t, err)
		res, err := harness.FetchAll(ctx, cl, info)
		require.NoError(t, err)
		defer res.Release()
		require.Equal(t, int64(1), res.NumRows())
		sc, err := flight.DeserializeSchema(res.Records[0].Column(4).(*array.Binary).Value(0), memory.DefaultAllocator)
		require.NoError(t, err)
		out := map[string]string{}
		for _, f := range sc.Fields() {
			v, _ := f.Metadata.GetValue(flightsql.RemarksKey)
			out[f.Name] = v
		}
		return out
	}
	require.Equal(t, map[string]string{"tag": "The tag of an id."}, remarks(), "REMARKS for the columns the caller reads")

	// Search finds what the caller may see, typos forgiven, and never the
	// hidden table or the denied column.
	found := func(text string) []string {
		t.Helper()
		hits, err := searchAction(t, cl, `{"text": "`+text+`"}`)
		require.NoError(t, err)
		return hits
	}
	require.Equal(t, []string{"quiver.dim.id_tags", "quiver.dim.id_tags.tag"}, found("tgas"))
	require.Equal(t, []string{"quiver.dim.id_tags"}, found("referense"))
	require.Empty(t, found("caller"), "the hidden table's description and the denied column's are not searched")
	require.NotContains(t, found("id"), "quiver.dim.id_tags.id", "nor the denied column's name")
	_, err := searchAction(t, cl, `{"text": "tag", "limit": 0}`)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.ErrorContains(t, err, "the limit must be 1 to 1000, not 0")
	_, err = searchAction(t, cl, `text=tag`)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.ErrorContains(t, err, `want a JSON body {"text": "…", "limit": 20}`)

	out, err := exec.Command(harness.QuiverBin(t), "search", "tgas", "--server", srv.Addr()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 3, "%s", out)
	require.Equal(t, []string{"KIND", "NAME", "TYPE", "TAGS", "DESCRIPTION"}, strings.Fields(lines[0]))
	require.Equal(t, []string{"table", "quiver.dim.id_tags", "reference", "Tags", "of", "ids."}, strings.Fields(lines[1]))
	require.Equal(t, []string{"column", "quiver.dim.id_tags.tag", "VARCHAR", "pii:other", "The", "tag", "of", "an", "id."}, strings.Fields(lines[2]))
	out, err = exec.Command(harness.QuiverBin(t), "search", "--server", srv.Addr()).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "usage: quiver search TEXT")

	// quiver lineage: who read a column, from system.lineage.
	queryRows(t, cl, "SELECT upper(tag) AS loud FROM dim.id_tags WHERE tag <> ''")
	out, err = exec.Command(harness.QuiverBin(t), "lineage", "DIM.id_tags.tag", "--format", "csv", "--server", srv.Addr()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var edges []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		f := strings.Split(line, ",")
		require.Len(t, f, 13, line)
		edges = append(edges, strings.Join([]string{f[1], f[6], f[7], f[8], f[9], f[10], f[11], f[12]}, " "))
	}
	require.Equal(t, []string{
		"anonymous loud quiver dim id_tags tag expression false",
		"anonymous  quiver dim id_tags tag filter false",
	}, edges, "%s", out)
	out, err = exec.Command(harness.QuiverBin(t), "lineage", "id_tags.tag", "--server", srv.Addr()).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `column "id_tags.tag": want schema.table.column or catalog.schema.table.column`)

	// A SIGHUP reloads the file; a bad one is refused and the old one stays.
	write(`tables: {dim.id_tags: {description: Reloaded., columns: {tag: {description: Reloaded tag.}}}}`)
	offset := srv.LogOffset()
	require.NoError(t, srv.Signal(syscall.SIGHUP))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = srv.WaitLog(ctx, offset, func(r harness.LogRecord) bool { return r.Msg() == "catalog file reloaded" })
	require.NoError(t, err)
	require.Equal(t, [][]string{{"NULL", `"Reloaded."`, "[]"}}, queryRows(t, cl, "SELECT owner, description, tags FROM system.tables WHERE table_name = 'id_tags'"))
	require.Equal(t, map[string]string{"tag": "Reloaded tag."}, remarks())
	require.Equal(t, []string{"quiver.dim.id_tags", "quiver.dim.id_tags.tag"}, found("reloaded"), "the reload rebuilt the search index")

	write(`tables: {id_tags: {description: one-part names are refused}}`)
	offset = srv.LogOffset()
	require.NoError(t, srv.Signal(syscall.SIGHUP))
	rec, err := srv.WaitLog(ctx, offset, func(r harness.LogRecord) bool {
		return r.Msg() == "catalog file reload rejected; the previous one stays in force"
	})
	require.NoError(t, err)
	require.Contains(t, rec.Str("err"), `table "id_tags": want schema.table`)
	require.Equal(t, [][]string{{`"Reloaded."`}}, queryRows(t, cl, "SELECT description FROM system.tables WHERE table_name = 'id_tags'"))
}

// searchAction runs quiver.search with body and returns the hits' names.
func searchAction(t *testing.T, cl *flightsql.Client, body string) ([]string, error) {
	t.Helper()
	stream, err := cl.Client.DoAction(context.Background(), &flight.Action{Type: "quiver.search", Body: []byte(body)})
	if err != nil {
		return nil, err
	}
	res, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var rsp struct {
		Hits []struct{ Catalog, Schema, Table, Column string } `json:"hits"`
	}
	require.NoError(t, json.Unmarshal(res.GetBody(), &rsp))
	var out []string
	for _, h := range rsp.Hits {
		n := h.Catalog + "." + h.Schema + "." + h.Table
		if h.Column != "" {
			n += "." + h.Column
		}
		out = append(out, n)
	}
	return out, nil
}
