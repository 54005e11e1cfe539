package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// icebergTables are the tables make_tables.py writes into namespace lake.
var icebergTables = []string{"daily", "dv_deleted", "eq_deleted", "events", "evolved", "hashed", "nested", "pos_deleted", "timeparts"}

// icebergMetadata is the part of an Iceberg table metadata file (and of a
// REST LoadTable answer's "metadata") the fixture test reads.
type icebergMetadata struct {
	FormatVersion     int   `json:"format-version"`
	CurrentSnapshotID int64 `json:"current-snapshot-id"`
	Snapshots         []struct {
		SnapshotID     int64             `json:"snapshot-id"`
		SequenceNumber int64             `json:"sequence-number"`
		TimestampMS    int64             `json:"timestamp-ms"`
		Summary        map[string]string `json:"summary"`
	} `json:"snapshots"`
	PartitionSpecs []json.RawMessage `json:"partition-specs"`
}

// TestIcebergFixtures checks the Iceberg fixtures the Iceberg catalog
// tests build on: the generator's tables exist in a real REST catalog over
// MinIO and in a local SQL catalog, with the manifest's snapshots, and
// the delete tables really are merge-on-read (their current snapshot
// counts position deletes, equality deletes or deletion vectors).
func TestIcebergFixtures(t *testing.T) {
	t.Run("REST", func(t *testing.T) {
		harness.IcebergJar(t) // skip before starting anything when it is missing
		harness.IcebergPython(t)
		const bucket = "iceberg"
		m := harness.StartMinIOBucket(t, bucket)
		rest := harness.StartIcebergREST(t, m, bucket)
		manifest := harness.MakeIcebergTables(t, harness.IcebergTarget{REST: rest, Prefix: "wh"})
		require.Equal(t, "rest", manifest.Catalog)

		var list struct {
			Identifiers []struct {
				Namespace []string `json:"namespace"`
				Name      string   `json:"name"`
			} `json:"identifiers"`
		}
		getJSON(t, rest.URI()+"/v1/namespaces/lake/tables", &list)
		var names []string
		for _, id := range list.Identifiers {
			require.Equal(t, []string{"lake"}, id.Namespace)
			names = append(names, id.Name)
		}
		slices.Sort(names)
		require.Equal(t, icebergTables, names)

		for _, name := range icebergTables {
			var load struct {
				MetadataLocation string          `json:"metadata-location"`
				Metadata         icebergMetadata `json:"metadata"`
			}
			getJSON(t, rest.URI()+"/v1/namespaces/lake/tables/"+name, &load)
			tb := manifest.Tables[name]
			require.Equal(t, tb.MetadataLocation, load.MetadataLocation, name)
			require.True(t, strings.HasPrefix(tb.Location, "s3://"+bucket+"/wh/lake/"), tb.Location)
			checkIcebergTable(t, name, tb, load.Metadata)
		}
	})

	t.Run("SQL", func(t *testing.T) {
		py := harness.IcebergPython(t)
		manifest := harness.MakeIcebergTables(t, harness.IcebergTarget{})
		require.Equal(t, "sql", manifest.Catalog)
		require.FileExists(t, manifest.CatalogDB)
		require.DirExists(t, manifest.WarehouseDir)
		require.Equal(t, "file://"+manifest.WarehouseDir, manifest.Warehouse)

		// The tables as pyiceberg's SQL catalog lists them, and where their
		// current metadata is.
		script := `import json, sys
from pyiceberg.catalog import load_catalog
c = load_catalog(sys.argv[1], type="sql", uri="sqlite:///" + sys.argv[2])
print(json.dumps({n: c.load_table(("lake", n)).metadata_location for _, n in c.list_tables("lake")}))`
		out, err := exec.Command(py, "-c", script, manifest.SQLCatalogName, manifest.CatalogDB).Output()
		require.NoError(t, err, "list tables with pyiceberg: %s", out)
		var locations map[string]string
		require.NoError(t, json.Unmarshal(out, &locations))
		names := make([]string, 0, len(locations))
		for n := range locations {
			names = append(names, n)
		}
		slices.Sort(names)
		require.Equal(t, icebergTables, names)

		for _, name := range icebergTables {
			tb := manifest.Tables[name]
			require.Equal(t, tb.MetadataLocation, locations[name], name)
			// pyiceberg writes file:///path, Iceberg's Java HadoopFileIO
			// (the delete tables' last commits) file:/path.
			path := strings.TrimPrefix(strings.TrimPrefix(locations[name], "file:"), "//")
			require.True(t, strings.HasPrefix(path, manifest.WarehouseDir+"/lake/"+name+"/"), path)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var md icebergMetadata
			require.NoError(t, json.Unmarshal(data, &md))
			checkIcebergTable(t, name, tb, md)
		}
	})
}

// checkIcebergTable compares a table's metadata with the manifest: the same
// snapshots in the same order, and for the delete tables the deletes the
// manifest's row counts imply, counted in the current snapshot's summary.
func checkIcebergTable(t *testing.T, name string, tb harness.IcebergTable, md icebergMetadata) {
	t.Helper()
	require.Equal(t, tb.FormatVersion, md.FormatVersion, name)
	require.Equal(t, tb.CurrentSnapshotID, md.CurrentSnapshotID, name)
	require.Len(t, md.Snapshots, len(tb.Snapshots), name)
	for i, s := range tb.Snapshots {
		got := md.Snapshots[i]
		require.Equal(t, s.SnapshotID, got.SnapshotID, "%s snapshot %d", name, i)
		require.Equal(t, s.SequenceNumber, got.SequenceNumber, "%s snapshot %d", name, i)
		require.Equal(t, s.TimestampMS, got.TimestampMS, "%s snapshot %d", name, i)
		require.Equal(t, s.Operation, got.Summary["operation"], "%s snapshot %d", name, i)
		if i > 0 {
			require.Greater(t, s.TimestampMS, tb.Snapshots[i-1].TimestampMS, "%s: timestamps increase", name)
		}
	}
	require.NotEmpty(t, tb.Queries, name)
	summary := md.Snapshots[len(md.Snapshots)-1].Summary
	// Rows appended minus rows live now: what the deletes must remove.
	var appended int64
	prev := int64(0)
	for _, s := range tb.Snapshots {
		if s.Operation == "append" {
			appended += s.RowCount - prev
		}
		prev = s.RowCount
	}
	deleted := appended - tb.Snapshots[len(tb.Snapshots)-1].RowCount
	count := func(key string) int64 {
		n, err := strconv.ParseInt(summary[key], 10, 64)
		require.NoError(t, err, "%s: summary %s = %q", name, key, summary[key])
		return n
	}
	switch name {
	case "pos_deleted":
		require.Equal(t, deleted, count("total-position-deletes"), name)
		require.Positive(t, count("total-delete-files"))
		require.Zero(t, count("total-equality-deletes"))
	case "dv_deleted":
		// A deletion vector counts as position deletes; the second batch
		// replaced the first one's vectors, so the total is the live one.
		require.Equal(t, 3, md.FormatVersion)
		require.Equal(t, deleted, count("total-position-deletes"), name)
		require.Positive(t, count("total-delete-files"))
		for _, f := range tb.DeleteFiles {
			require.Equal(t, "PUFFIN", f.Format)
			require.NotEmpty(t, f.ReferencedDataFile)
		}
	case "eq_deleted":
		var records int64
		for _, f := range tb.DeleteFiles {
			require.Equal(t, "EQUALITY_DELETES", f.Content)
			records += f.RecordCount
		}
		require.Equal(t, records, count("total-equality-deletes"), name)
		require.Equal(t, int64(len(tb.DeleteFiles)), count("total-delete-files"))
		// The trap: the id delete removed more rows than are missing now,
		// because rows re-inserted after it are not its to delete.
		require.Greater(t, count("total-records")-tb.Snapshots[len(tb.Snapshots)-1].RowCount, int64(0))
	case "evolved":
		require.Len(t, md.PartitionSpecs, 2, "evolved has two partition specs")
	default:
		require.Empty(t, tb.DeleteFiles, name)
		require.Equal(t, "0", summary["total-delete-files"], name)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v), url)
}
