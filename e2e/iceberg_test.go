package e2e_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/e2e/harness"
)

// icebergCatalog is the name the tests give the Iceberg catalog in SQL:
// the fixtures' tables are ice.lake.<table>.
const icebergCatalog = "ice"

// unsupportedIceberg are fixture tables Quiver refuses, with the feature
// its error must name.
var unsupportedIceberg = map[string]string{"nested": "is a struct"}

// TestIcebergQueries runs every query of the Iceberg fixtures' manifest —
// scans, aggregates, pruning predicates of each partition transform,
// evolved schemas, position and equality deletes, time travel to older
// snapshots — through Quiver with 1, 2 and 3 workers over a local SQL
// catalog, and with 2 workers over Iceberg's own REST catalog in MinIO,
// and compares each answer exactly with the rows the generator's model
// computed (never read back from Iceberg).
func TestIcebergQueries(t *testing.T) {
	t.Run("SQL", func(t *testing.T) {
		harness.IcebergPython(t)
		mf := harness.MakeIcebergTables(t, harness.IcebergTarget{})
		wh := t.TempDir()
		writeIDTags(t, wh)
		spec := fmt.Sprintf("%s=sqlite:%s?warehouse=%s&sql-catalog-name=%s", icebergCatalog, mf.CatalogDB, mf.WarehouseDir, mf.SQLCatalogName)
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
				srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: workers, Args: []string{"--iceberg-catalog", spec}})
				cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
				checkManifestQueries(t, cl, mf)
				checkIcebergJoin(t, cl, mf, wh, workers)
				if workers == 2 {
					checkPythonClient(t, srv.Addr(), mf)
					checkIcebergListing(t, cl, mf)
					checkTimeTravel(t, cl, mf)
					checkBucketPruning(t, cl)
					checkIcebergErrors(t, cl, mf)
				}
			})
		}
		t.Run("policy", func(t *testing.T) {
			policy := filepath.Join(t.TempDir(), "policy.yaml")
			require.NoError(t, os.WriteFile(policy, []byte(`rules:
  - match: {sub: anonymous}
    tables: ["ice.lake.*"]
    deny_columns: {ice.lake.pos_deleted: [value]}
    masks: {ice.lake.events: {name: "'**'"}}
    row_filters: {ice.lake.events: "id < 100"}
`), 0o600))
			srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 2, Args: []string{"--iceberg-catalog", spec, "--policy-file", policy}})
			cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
			first := mf.Tables["events"].Snapshots[0].SnapshotID
			require.Equal(t, [][]string{{"100", "1", `"**"`}}, queryRows(t, cl, "SELECT count(*), count(DISTINCT name), min(name) FROM ice.lake.events"))
			require.Equal(t, [][]string{{"100", `"**"`}}, queryRows(t, cl, fmt.Sprintf("SELECT count(*), max(name) FROM ice.lake.events AT (VERSION => %d)", first)),
				"an older snapshot is restricted like the table")
			require.Equal(t, [][]string{{"2373"}}, queryRows(t, cl, "SELECT count(*) FROM ice.lake.pos_deleted"))
			queryRows(t, cl, "SELECT id, name AS masked FROM ice.lake.events WHERE id < 3")
			require.Equal(t, [][]string{
				{`"*"`, `"ice.lake.events.id"`, `"filter"`, "false"},
				{`"*"`, `"ice.lake.events.id"`, `"filter"`, "true"},
				{`"id"`, `"ice.lake.events.id"`, `"identity"`, "false"},
				{`"masked"`, `"ice.lake.events.name"`, `"expression"`, "true"},
			}, queryRows(t, cl, `SELECT DISTINCT coalesce(output_column, '*'), concat_ws('.', source_catalog, source_schema, source_table, source_column), kind, policy
				FROM system.lineage l JOIN system.queries q USING (query_id) WHERE q.sql = 'SELECT id, name AS masked FROM ice.lake.events WHERE id < 3' ORDER BY ALL`),
				"lineage names the Iceberg catalog, the mask and both filters")
			ctx := context.Background()
			_, err := harness.RunFlightSQL(ctx, cl, "SELECT sum(value) FROM ice.lake.pos_deleted")
			require.Error(t, err, "a denied column is not there")
			_, err = harness.RunFlightSQL(ctx, cl, "SELECT count(*) FROM dim.id_tags")
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
			info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{})
			require.NoError(t, err)
			res, err := harness.FetchAll(ctx, cl, info)
			require.NoError(t, err)
			defer res.Release()
			for _, r := range harness.ArrowRows(res).Rows {
				require.NotEqual(t, `"dim"`, r[1], "an ungranted table is not listed")
			}
		})
		t.Run("pinned snapshot", func(t *testing.T) {
			srv := harness.StartServer(t, harness.ServerOptions{Warehouse: wh, LocalWorkers: 2, Args: []string{"--iceberg-catalog", spec}})
			cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
			ctx := context.Background()
			info, err := cl.Execute(ctx, "SELECT count(*), sum(id) FROM ice.lake.events")
			require.NoError(t, err)
			appendEvent(t, mf, 1_000_000)
			res, err := harness.FetchAll(ctx, cl, info)
			require.NoError(t, err)
			defer res.Release()
			events := mf.Tables["events"]
			last := events.Snapshots[len(events.Snapshots)-1]
			require.Equal(t, []string{strconv.FormatInt(last.RowCount, 10), strconv.FormatInt(last.SumID, 10)}, harness.ArrowRows(res).Rows[0],
				"a commit between planning and fetching does not change the result")
			require.Equal(t, [][]string{{strconv.FormatInt(last.RowCount+1, 10), strconv.FormatInt(last.SumID+1_000_000, 10)}},
				queryRows(t, cl, "SELECT count(*), sum(id) FROM ice.lake.events"), "the next query sees the commit")
		})
	})

	t.Run("REST", func(t *testing.T) {
		harness.IcebergJar(t)
		harness.IcebergPython(t)
		const bucket = "iceberg"
		m := harness.StartMinIOBucket(t, bucket)
		rest := harness.StartIcebergREST(t, m, bucket)
		mf := harness.MakeIcebergTables(t, harness.IcebergTarget{REST: rest, Prefix: "wh"})
		wh := t.TempDir()
		writeIDTags(t, wh)
		srv := harness.StartServer(t, harness.ServerOptions{
			Warehouse: wh, LocalWorkers: 2, S3Endpoint: m.Endpoint(), Env: m.Env(),
			Args: []string{"--iceberg-catalog", icebergCatalog + "=" + rest.URI() + "?warehouse=" + rest.Warehouse()},
		})
		cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
		checkManifestQueries(t, cl, mf)
		checkIcebergListing(t, cl, mf)

		t.Run("vended credentials", func(t *testing.T) {
			// The catalog vends the only S3 credentials that can read its
			// bucket; Quiver's own (coordinator and workers) are refused by
			// MinIO. Every answer exact means the workers read the data
			// files with what the catalog vended, through the coordinator
			// and fetched directly from the workers.
			vending := startVendingCatalog(t, rest.URI(), storageCredential{
				Prefix: rest.Warehouse(),
				Config: map[string]string{"s3.access-key-id": harness.MinIOUser, "s3.secret-access-key": harness.MinIOPassword},
			})
			spec := icebergCatalog + "=" + vending.URL + "?warehouse=" + rest.Warehouse()
			denied := []string{"AWS_ACCESS_KEY_ID=quiver-not-a-key", "AWS_SECRET_ACCESS_KEY=quiver-not-a-secret", "AWS_REGION=" + harness.S3Region}
			for _, routing := range []string{"proxy", "direct"} {
				t.Run(routing, func(t *testing.T) {
					srv := harness.StartServer(t, harness.ServerOptions{
						Warehouse: wh, LocalWorkers: 2, S3Endpoint: m.Endpoint(), Env: denied,
						Args: []string{"--iceberg-catalog", spec, "--result-routing", routing},
					})
					cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
					checkManifestQueries(t, cl, mf)
				})
			}
			require.Positive(t, vending.loads.Load(), "the tables were loaded through the vending catalog")
			t.Run("without them", func(t *testing.T) {
				srv := harness.StartServer(t, harness.ServerOptions{
					Warehouse: wh, LocalWorkers: 1, S3Endpoint: m.Endpoint(), Env: denied,
					Args: []string{"--iceberg-catalog", icebergCatalog + "=" + rest.URI() + "?warehouse=" + rest.Warehouse()},
				})
				cl := dialFlightSQL(t, srv.Addr(), memory.DefaultAllocator)
				_, err := harness.RunFlightSQL(context.Background(), cl, "SELECT count(*) FROM ice.lake.events")
				require.Equal(t, codes.Unavailable, status.Code(err), "Quiver's own credentials are refused: %v", err)
			})
		})
	})
}

// storageCredential is one entry of a LoadTable answer's
// storage-credentials.
type storageCredential struct {
	Prefix string            `json:"prefix"`
	Config map[string]string `json:"config"`
}

// vendingCatalog is a REST catalog proxy that vends credentials.
type vendingCatalog struct {
	URL   string
	loads atomic.Int64
}

// startVendingCatalog serves the REST catalog at upstream, adding cred to
// the storage-credentials of every LoadTable answer, as Polaris and
// Lakekeeper do when asked for vended credentials.
func startVendingCatalog(t *testing.T, upstream string, cred storageCredential) *vendingCatalog {
	t.Helper()
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	v := &vendingCatalog{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Header.Del("Accept-Encoding") // answers to rewrite arrive plain
	}}
	proxy.ModifyResponse = func(rsp *http.Response) error {
		segs := strings.Split(strings.TrimSuffix(rsp.Request.URL.Path, "/"), "/")
		if rsp.Request.Method != http.MethodGet || rsp.StatusCode != http.StatusOK || len(segs) < 4 || segs[len(segs)-2] != "tables" {
			return nil
		}
		if rsp.Request.Header.Get("X-Iceberg-Access-Delegation") != "vended-credentials" {
			return nil // a catalog vends only to clients that ask
		}
		var body map[string]json.RawMessage // snapshot ids are beyond float64
		if err := json.NewDecoder(rsp.Body).Decode(&body); err != nil {
			return err
		}
		_ = rsp.Body.Close()
		creds, err := json.Marshal([]storageCredential{cred})
		if err != nil {
			return err
		}
		body["storage-credentials"] = creds
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		v.loads.Add(1)
		rsp.Body = io.NopCloser(bytes.NewReader(b))
		rsp.ContentLength = int64(len(b))
		rsp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	v.URL = srv.URL
	return v
}

// queryRows runs query and returns its rows as canonical cells.
func queryRows(t *testing.T, cl *flightsql.Client, query string) [][]string {
	t.Helper()
	res, err := harness.RunFlightSQL(context.Background(), cl, query)
	require.NoError(t, err, query)
	defer res.Release()
	return harness.ArrowRows(res).Rows
}

// icebergRef is the reference to a fixture table a manifest query reads:
// with AT (VERSION => …) when it asks for a snapshot.
func icebergRef(name string, q harness.IcebergQuery) string {
	ref := icebergCatalog + ".lake." + name
	if q.SnapshotID != nil {
		ref += fmt.Sprintf(" AT (VERSION => %d)", *q.SnapshotID)
	}
	return ref
}

// checkManifestQueries runs every manifest query and compares its rows
// with the manifest's; the tables Quiver does not support must fail with
// Unimplemented naming the feature.
func checkManifestQueries(t *testing.T, cl *flightsql.Client, mf *harness.IcebergManifest) {
	t.Helper()
	ctx := context.Background()
	names := make([]string, 0, len(mf.Tables))
	for n := range mf.Tables {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, q := range mf.Tables[name].Queries {
			query := q.SQLFor(icebergRef(name, q))
			res, err := harness.RunFlightSQL(ctx, cl, query)
			if feature, ok := unsupportedIceberg[name]; ok {
				require.Error(t, err, query)
				require.Equal(t, codes.Unimplemented, status.Code(err), "%s: %v", query, err)
				require.Contains(t, status.Convert(err).Message(), feature)
				continue
			}
			require.NoError(t, err, query)
			got, err := harness.SQLRows(res)
			require.NoError(t, err)
			want := harness.Rows{Columns: got.Columns, Rows: manifestCells(t, res.Schema, q.Rows)}
			res.Release()
			harness.CompareRows(t, name+"/"+q.Name+": "+query, want, got, strings.Contains(strings.ToUpper(q.SQL), "ORDER BY"))
		}
	}
}

// manifestCells renders the manifest's expected rows in SQLRows's
// canonical form, reading each value as the result column's type says:
// decimals (strings in the manifest) and doubles as floats, dates and
// timestamps (ISO strings) as instants.
func manifestCells(t *testing.T, sc *arrow.Schema, rows [][]any) [][]string {
	t.Helper()
	out := make([][]string, len(rows))
	for i, r := range rows {
		require.Len(t, r, sc.NumFields())
		out[i] = make([]string, len(r))
		for c, v := range r {
			out[i][c] = manifestCell(t, sc.Field(c).Type, v)
		}
	}
	return out
}

func manifestCell(t *testing.T, typ arrow.DataType, v any) string {
	t.Helper()
	if v == nil {
		return harness.GoCell(nil)
	}
	text := fmt.Sprint(v)
	switch typ.ID() {
	case arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		f, err := strconv.ParseFloat(text, 64)
		require.NoError(t, err)
		return harness.GoCell(f)
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
			if ts, err := time.Parse(layout, text); err == nil {
				return harness.GoCell(ts)
			}
		}
		t.Fatalf("manifest value %q is not a date or timestamp", text)
	case arrow.STRING, arrow.LARGE_STRING:
		return harness.GoCell(text)
	}
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return text
}

// writeIDTags writes the Parquet table dim.id_tags (id 0, 7, 14, … < 4000
// with a tag) into the warehouse, for joins with the Iceberg tables.
func writeIDTags(t *testing.T, wh string) {
	t.Helper()
	dir := filepath.Join(wh, "dim", "id_tags")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	for i, r := range [][2]int{{0, 2000}, {2000, 4000}} {
		_, err = db.Exec(fmt.Sprintf("COPY (SELECT range AS id, 'tag-' || (range %% 5) AS tag FROM range(%d, %d, 7)) TO '%s'",
			r[0], r[1], filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i))))
		require.NoError(t, err)
	}
}

// checkIcebergJoin joins Iceberg tables with a Parquet table and with each
// other, comparing with an in-process DuckDB reading the same snapshots
// through its iceberg extension (local fixtures only); the join runs
// distributed.
func checkIcebergJoin(t *testing.T, cl *flightsql.Client, mf *harness.IcebergManifest, wh string, workers int) {
	t.Helper()
	events := mf.Tables["events"]
	queries := []string{
		"SELECT t.tag, count(*), sum(e.amount), min(e.name) FROM {events} AS e JOIN {id_tags} AS t ON e.id = t.id GROUP BY t.tag ORDER BY t.tag",
		"SELECT p.region, count(*), sum(q.value) FROM {pos_deleted} AS p JOIN {eq_deleted} AS q ON p.id = q.id GROUP BY p.region ORDER BY p.region",
		"SELECT e.name, count(*) FROM {events} AS e WHERE e.id IN (SELECT id FROM {id_tags} WHERE tag = 'tag-3') GROUP BY e.name ORDER BY e.name",
	}
	oracle := icebergOracle(t, mf, wh)
	for _, q := range queries {
		ours := strings.NewReplacer("{events}", "ice.lake.events", "{pos_deleted}", "ice.lake.pos_deleted", "{eq_deleted}", "ice.lake.eq_deleted", "{id_tags}", "dim.id_tags").Replace(q)
		theirs := strings.NewReplacer(
			"{events}", "iceberg_scan('"+events.MetadataLocation+"')",
			"{pos_deleted}", "iceberg_scan('"+mf.Tables["pos_deleted"].MetadataLocation+"')",
			"{eq_deleted}", "iceberg_scan('"+mf.Tables["eq_deleted"].MetadataLocation+"')",
			"{id_tags}", "read_parquet('"+oracle.idTags+"')").Replace(q)
		want := oracle.rows(t, theirs)
		got := queryRows(t, cl, ours)
		require.NotEmpty(t, got)
		harness.CompareRows(t, ours, harness.Rows{Rows: want}, harness.Rows{Rows: got}, true)
		if workers > 1 {
			plan := queryRows(t, cl, "EXPLAIN "+ours)
			require.Equal(t, `"strategy"`, plan[0][0])
			require.NotRegexp(t, `^"single`, plan[0][1], "%s is distributed", ours)
		}
	}
}

// checkIcebergListing checks that the Flight SQL metadata calls and
// system.tables list the Iceberg catalog, namespace and tables.
func checkIcebergListing(t *testing.T, cl *flightsql.Client, mf *harness.IcebergManifest) {
	t.Helper()
	ctx := context.Background()
	info, err := cl.GetCatalogs(ctx)
	require.NoError(t, err)
	res, err := harness.FetchAll(ctx, cl, info)
	require.NoError(t, err)
	require.Equal(t, [][]string{{`"quiver"`}, {`"ice"`}}, harness.ArrowRows(res).Rows)
	res.Release()

	catalog := icebergCatalog
	info, err = cl.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{Catalog: &catalog})
	require.NoError(t, err)
	res, err = harness.FetchAll(ctx, cl, info)
	require.NoError(t, err)
	require.Equal(t, [][]string{{`"ice"`, `"lake"`}, {`"ice"`, `"` + mf.EmptyNamespace + `"`}}, harness.ArrowRows(res).Rows,
		"a namespace without tables is a schema too")
	res.Release()

	pattern := "e%"
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{Catalog: &catalog, TableNameFilterPattern: &pattern, IncludeSchema: true})
	require.NoError(t, err)
	res, err = harness.FetchAll(ctx, cl, info)
	require.NoError(t, err)
	rows := harness.ArrowRows(res).Rows
	res.Release()
	var tables []string
	for _, r := range rows {
		require.Equal(t, []string{`"ice"`, `"lake"`}, r[:2])
		tables = append(tables, r[2])
	}
	require.Equal(t, []string{`"eq_deleted"`, `"events"`, `"evolved"`}, tables)

	// Every table with its schema, but for the one Quiver cannot read.
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{Catalog: &catalog, IncludeSchema: true})
	require.NoError(t, err)
	res, err = harness.FetchAll(ctx, cl, info)
	require.NoError(t, err)
	require.Len(t, harness.ArrowRows(res).Rows, len(icebergTables)-len(unsupportedIceberg))
	res.Release()
	got := queryRows(t, cl, "SELECT table_name FROM system.tables WHERE catalog_name = 'ice' AND unsupported IS NOT NULL")
	require.Equal(t, [][]string{{`"nested"`}}, got)
	require.Equal(t, [][]string{{"1"}}, queryRows(t, cl,
		"SELECT count(*) FROM system.tables WHERE table_name = 'nested' AND unsupported LIKE '%is a struct%'"), "system.tables says why")

	// The metadata tables: snapshots in commit order, files with the
	// delete files that apply (eq_deleted: 3 data files, 3600 rows before
	// deletes; the id delete applies to the two older, the name delete to
	// all three).
	var want [][]string
	for i, s := range mf.Tables["eq_deleted"].Snapshots {
		want = append(want, []string{strconv.FormatInt(s.SnapshotID, 10), strconv.FormatInt(s.SequenceNumber, 10), strconv.FormatBool(i == len(mf.Tables["eq_deleted"].Snapshots)-1)})
	}
	require.Equal(t, want, queryRows(t, cl, "SELECT snapshot_id, sequence_number, is_current FROM system.iceberg_snapshots WHERE catalog_name = 'ice' AND table_name = 'eq_deleted' ORDER BY sequence_number"))
	require.Equal(t, [][]string{{"3", "3600", "0", "5", "0"}}, queryRows(t, cl,
		"SELECT count(*), sum(record_count), sum(position_delete_files), sum(equality_delete_files), sum(deletion_vector_rows) FROM system.iceberg_files WHERE table_name = 'eq_deleted'"))
	// dv_deleted: the deletion vectors delete what the rows in the files
	// exceed the live rows by.
	dv := mf.Tables["dv_deleted"]
	require.Equal(t, [][]string{{strconv.FormatInt(dv.Snapshots[len(dv.Snapshots)-1].RowCount, 10), "0"}}, queryRows(t, cl,
		"SELECT sum(record_count) - sum(deletion_vector_rows), sum(position_delete_files) FROM system.iceberg_files WHERE table_name = 'dv_deleted'"))

	got = queryRows(t, cl, "SELECT catalog_name, schema_name, table_name, format FROM system.tables WHERE table_name = 'evolved'")
	require.Equal(t, [][]string{{`"ice"`, `"lake"`, `"evolved"`, `"iceberg"`}}, got)
	desc := queryRows(t, cl, "DESCRIBE ice.lake.evolved")
	var cols []string
	for _, r := range desc {
		cols = append(cols, r[0])
	}
	require.Equal(t, []string{`"qty"`, `"id"`, `"cat"`, `"full_name"`, `"score"`, `"legacy"`, `"note"`}, cols)

	// What the events table says about itself (make_tables.py): its
	// comment and owner properties, and the doc of its amount column.
	require.Equal(t, [][]string{{`"fixtures"`, `"Events of the fixtures."`}}, queryRows(t, cl,
		"SELECT owner, description FROM system.tables WHERE catalog_name = 'ice' AND table_name = 'events'"))
	require.Equal(t, [][]string{{`"amount"`, `"DOUBLE"`, `"Amount paid, in EUR."`}}, queryRows(t, cl,
		"SELECT column_name, data_type, description FROM system.columns WHERE catalog_name = 'ice' AND table_name = 'events' AND description IS NOT NULL"))
	events := "events"
	info, err = cl.GetTables(ctx, &flightsql.GetTablesOpts{Catalog: &catalog, TableNameFilterPattern: &events, IncludeSchema: true})
	require.NoError(t, err)
	res, err = harness.FetchAll(ctx, cl, info)
	require.NoError(t, err)
	defer res.Release()
	require.Equal(t, int64(1), res.NumRows())
	sc, err := flight.DeserializeSchema(res.Records[0].Column(4).(*array.Binary).Value(0), memory.DefaultAllocator)
	require.NoError(t, err)
	remark, _ := sc.Field(sc.FieldIndices("amount")[0]).Metadata.GetValue(flightsql.RemarksKey)
	require.Equal(t, "Amount paid, in EUR.", remark, "GetTables gives the doc as the column's REMARKS")
}

// checkTimeTravel reads snapshots by timestamp: between two commits the
// earlier one; two snapshots of one table in one query.
func checkTimeTravel(t *testing.T, cl *flightsql.Client, mf *harness.IcebergManifest) {
	t.Helper()
	snaps := mf.Tables["events"].Snapshots
	for i, s := range snaps {
		at := s.Timestamp().Add(time.Millisecond).Format("2006-01-02 15:04:05.000")
		got := queryRows(t, cl, fmt.Sprintf("SELECT count(*) FROM ice.lake.events AT (TIMESTAMP => TIMESTAMP '%s')", at))
		require.Equal(t, [][]string{{strconv.FormatInt(s.RowCount, 10)}}, got, "as of snapshot %d", i+1)
	}
	got := queryRows(t, cl, fmt.Sprintf(
		"SELECT (SELECT count(*) FROM ice.lake.events) - (SELECT count(*) FROM ice.lake.events AT (VERSION => %d))", snaps[0].SnapshotID))
	require.Equal(t, [][]string{{strconv.FormatInt(snaps[len(snaps)-1].RowCount-snaps[0].RowCount, 10)}}, got)
	// EXPLAIN names the pinned snapshot of each reference.
	plan := queryRows(t, cl, fmt.Sprintf("EXPLAIN SELECT count(*) FROM ice.lake.events AT (VERSION => %d)", snaps[0].SnapshotID))
	row := fmt.Sprintf(`"table ice.lake.events@v%d"`, snaps[0].SnapshotID)
	i := slices.IndexFunc(plan, func(r []string) bool { return r[0] == row })
	require.GreaterOrEqual(t, i, 0, "%v", plan)
	require.Contains(t, plan[i][1], fmt.Sprintf("snapshot=%d", snaps[0].SnapshotID))
	// The old schema of an evolved table: its first snapshot's columns.
	evolved := mf.Tables["evolved"].Snapshots[0]
	desc := queryRows(t, cl, fmt.Sprintf("DESCRIBE SELECT * FROM ice.lake.evolved AT (VERSION => %d)", evolved.SnapshotID))
	var cols []string
	for _, r := range desc {
		cols = append(cols, r[0])
	}
	require.Contains(t, cols, `"name"`, "the first snapshot's schema has the column before its rename")
	require.NotContains(t, cols, `"full_name"`)
}

// checkIcebergErrors checks the refusals: a snapshot the table does not
// have, a timestamp before the first commit, time travel on a Parquet
// table, a table the catalog does not have.
func checkIcebergErrors(t *testing.T, cl *flightsql.Client, mf *harness.IcebergManifest) {
	t.Helper()
	ctx := context.Background()
	first := mf.Tables["events"].Snapshots[0].Timestamp().Add(-time.Hour).Format("2006-01-02 15:04:05")
	for _, c := range []struct {
		query string
		code  codes.Code
		msg   string
	}{
		{"SELECT count(*) FROM ice.lake.events AT (VERSION => 42)", codes.NotFound, "42"},
		{"SELECT count(*) FROM ice.lake.events AT (TIMESTAMP => TIMESTAMP '" + first + "')", codes.NotFound, "snapshot"},
		{"SELECT count(*) FROM dim.id_tags AT (VERSION => 1)", codes.InvalidArgument, "Iceberg"},
		{"SELECT count(*) FROM ice.lake.events AT (VERSION => 'x')", codes.InvalidArgument, "snapshot id"},
		{"SELECT count(*) FROM ice.lake.nope", codes.NotFound, "ice.lake.nope"},
		{"SELECT count(*) FROM ice.nowhere.events", codes.NotFound, "ice.nowhere.events"},
	} {
		_, err := harness.RunFlightSQL(ctx, cl, c.query)
		require.Error(t, err, c.query)
		require.Equal(t, c.code, status.Code(err), "%s: %v", c.query, err)
		require.Contains(t, status.Convert(err).Message(), c.msg, c.query)
	}
	require.Equal(t, [][]string{{"1"}}, queryRows(t, cl, "SELECT 1"), "the server keeps serving")
}

// idTagsOracle is an in-process DuckDB with the iceberg extension.
type idTagsOracle struct {
	db     *sql.DB
	idTags string // glob of dim.id_tags's files
}

// icebergOracle opens an in-process DuckDB that reads the local fixtures
// with DuckDB's iceberg extension and the warehouse's dim.id_tags.
func icebergOracle(t *testing.T, mf *harness.IcebergManifest, wh string) *idTagsOracle {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(1)
	ext := harness.ExtensionDir(t)
	for _, stmt := range []string{
		"SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false", "SET TimeZone = 'UTC'",
		"SET extension_directory = '" + ext + "'", "LOAD avro", "LOAD iceberg",
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	require.False(t, strings.HasPrefix(mf.Warehouse, "s3://"), "the DuckDB oracle reads local fixtures only")
	return &idTagsOracle{db: db, idTags: filepath.Join(wh, "dim", "id_tags", "*.parquet")}
}

func (o *idTagsOracle) rows(t *testing.T, query string) [][]string {
	t.Helper()
	rows, err := o.db.Query(query)
	require.NoError(t, err, query)
	defer rows.Close()
	got, err := harness.ScanSQLRows(rows)
	require.NoError(t, err)
	return got.Rows
}

// appendEvent commits one row (id) to the SQL catalog's events table with
// pyiceberg.
func appendEvent(t *testing.T, mf *harness.IcebergManifest, id int64) {
	t.Helper()
	script := fmt.Sprintf(`
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
cat = SqlCatalog(%q, uri="sqlite:///%s", warehouse="file://%s")
tbl = cat.load_table("lake.events")
sc = tbl.schema().as_arrow()
row = {f.name: None for f in sc}
row["id"] = %d
tbl.append(pa.Table.from_pylist([row], schema=sc))
`, mf.SQLCatalogName, mf.CatalogDB, mf.WarehouseDir, id)
	out, err := exec.Command(harness.IcebergPython(t), "-c", script).CombinedOutput()
	require.NoError(t, err, string(out))
}

// checkPythonClient lists and reads Iceberg tables through the Python
// client: tables() names them catalog.namespace, table() takes the
// three-part name.
func checkPythonClient(t *testing.T, addr string, mf *harness.IcebergManifest) {
	t.Helper()
	script := fmt.Sprintf(`
import quiver
with quiver.connect("grpc://%s") as conn:
    listed = conn.tables("ice.lake")
    names = sorted(s + "." + t for s, t in zip(listed["schema"], listed["table"]))
    assert "ice.lake.events" in names and "ice.lake.evolved" in names, names
    assert "dim.id_tags" in set(s + "." + t for s, t in zip(conn.tables()["schema"], conn.tables()["table"]))
    events = conn.table("ice.lake.events")
    assert events.name == "ice.lake.events", events.name
    print(events.count(), ",".join(events.columns))
`, addr)
	out, err := exec.Command(harness.IcebergPython(t), "-c", script).CombinedOutput()
	require.NoError(t, err, string(out))
	events := mf.Tables["events"]
	var cols []string
	for _, f := range events.SchemaFields {
		cols = append(cols, f.Name)
	}
	require.Equal(t, fmt.Sprintf("%d %s", events.Snapshots[len(events.Snapshots)-1].RowCount, strings.Join(cols, ",")), strings.TrimSpace(string(out)))
}

// checkBucketPruning checks that an equality on a bucket(8, id) column
// keeps about an eighth of the files (the files' id bounds alone keep about
// half: a bucket spans the whole id range).
func checkBucketPruning(t *testing.T, cl *flightsql.Client) {
	t.Helper()
	plan := queryRows(t, cl, "EXPLAIN SELECT id, name, qty FROM ice.lake.hashed WHERE id = 1234")
	i := slices.IndexFunc(plan, func(r []string) bool { return r[0] == `"table ice.lake.hashed"` })
	require.GreaterOrEqual(t, i, 0, "%v", plan)
	var files, pruned int
	_, err := fmt.Sscanf(strings.Trim(plan[i][1], `"`), "files=%d pruned=%d", &files, &pruned)
	require.NoError(t, err, plan[i][1])
	require.Positive(t, files)
	require.Less(t, files*6, files+pruned, "bucket pruning keeps about 1/8 of the files: %s", plan[i][1])
}
