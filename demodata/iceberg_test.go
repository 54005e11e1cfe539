package demodata

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/lakehouse"
	"github.com/quiver-data/quiver/storage"
)

// invoicesName is the table as a catalog "lake" serves it.
var invoicesName = storage.TableName{Schema: "lake." + IcebergNamespace, Name: IcebergTable}

// openLake opens the catalog WriteIceberg wrote the way `quiver serve
// --iceberg-catalog lake=sqlite:…` does.
func openLake(t *testing.T, stats IcebergStats) *lakehouse.Catalogs {
	t.Helper()
	c, err := lakehouse.Open(t.Context(), []lakehouse.Spec{{
		Name: "lake", URI: "sqlite:" + stats.CatalogPath, Warehouse: stats.TablesDir, SQLCatalogName: stats.CatalogName,
	}}, lakehouse.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// snapshotView creates the DuckDB view name over the data files of one
// snapshot, read through lakehouse as the planner would pin it.
func snapshotView(t *testing.T, db *sql.DB, lake *lakehouse.Catalogs, name string, at lakehouse.AsOf, tablesDir string) []string {
	t.Helper()
	tbl, err := lake.Table(t.Context(), invoicesName, at)
	require.NoError(t, err)
	require.NotEmpty(t, tbl.Files)
	var files, quoted []string
	for _, f := range tbl.Files {
		require.Empty(t, f.Deletes, "copy-on-write: no delete files")
		require.True(t, strings.HasPrefix(f.URI, tablesDir+string(filepath.Separator)), "%s is under %s", f.URI, tablesDir)
		files = append(files, f.URI)
		quoted = append(quoted, sqlString(f.URI))
	}
	_, err = db.ExecContext(t.Context(), fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM read_parquet([%s])", name, strings.Join(quoted, ", ")))
	require.NoError(t, err)
	return files
}

func queryInt(t *testing.T, db *sql.DB, query string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRowContext(t.Context(), query).Scan(&n), query)
	return n
}

// TestWriteIceberg writes the table over a small demo warehouse and reads
// it back through lakehouse: three snapshots with the rows the story
// implies, time travel to each, and invoices that agree with demo.profiles
// and demo.plays. A rerun replaces the catalog with the same rows.
func TestWriteIceberg(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	generate(t, db, dir, testScale)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	stats, err := WriteIceberg(t.Context(), db, IcebergOptions{Warehouse: dir, Allocator: mem})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "_iceberg", "catalog.db"), stats.CatalogPath)
	require.Equal(t, filepath.Join(dir, "_iceberg", "tables"), stats.TablesDir)
	require.Equal(t, IcebergCatalogName, stats.CatalogName)

	// What the story says the table holds, from demo.profiles alone.
	_, err = db.ExecContext(t.Context(), fmt.Sprintf(
		"CREATE TEMP TABLE accounts AS SELECT account_id, min(plan) AS plan, %s AS churn_day FROM %s GROUP BY account_id",
		churnDayOf("account_id"), readTable(dir, "profiles")))
	require.NoError(t, err)
	accounts := queryInt(t, db, "SELECT count(*) FROM accounts")
	retained := queryInt(t, db, fmt.Sprintf("SELECT count(*) FROM accounts WHERE churn_day = %d", dataDays))
	premium := queryInt(t, db, "SELECT count(*) FROM accounts WHERE plan = 'premium'")
	require.Equal(t, int64(385), accounts, "1000 profiles in accounts of 2 or 3")
	require.Less(t, retained, accounts, "some accounts cancel")
	require.Positive(t, premium)

	require.Len(t, stats.Snapshots, 3)
	wantOps := []string{"append", "append", "overwrite"}
	wantRows := []int64{accounts, retained, premium}
	wantTable := []int64{accounts, accounts + retained, accounts + retained}
	for i, s := range stats.Snapshots {
		require.Equal(t, wantOps[i], s.Operation, "snapshot %d", i+1)
		require.Equal(t, wantRows[i], s.Rows, "rows written by snapshot %d", i+1)
		require.Equal(t, wantTable[i], s.TableRows, "rows after snapshot %d", i+1)
		if i > 0 {
			require.Greater(t, s.TimestampMS, stats.Snapshots[i-1].TimestampMS, "snapshot times are distinct")
		}
	}

	lake := openLake(t, stats)
	snaps, err := lake.Snapshots(t.Context(), invoicesName)
	require.NoError(t, err)
	require.Len(t, snaps, 3)
	for i, s := range snaps {
		require.Equal(t, stats.Snapshots[i].SnapshotID, s.SnapshotID)
		require.Equal(t, stats.Snapshots[i].Operation, s.Operation)
		require.Equal(t, stats.Snapshots[i].Note, s.Summary["note"])
		require.Equal(t, i == 2, s.Current)
		require.Equal(t, i > 0, s.HasParent)
		if i > 0 {
			require.Equal(t, snaps[i-1].SnapshotID, s.ParentID)
		}
	}

	current, err := lake.Table(t.Context(), invoicesName, lakehouse.AsOf{})
	require.NoError(t, err)
	var cols []string
	for _, c := range current.Columns {
		cols = append(cols, c.Name+" "+c.Type.String())
	}
	require.Equal(t, []string{
		"invoice_id int64", "profile_id int64", "plan utf8", "country utf8",
		"month date32", "amount decimal(10, 2)", "status utf8",
	}, cols)

	// Each snapshot, pinned by id and (the second) by its commit time.
	files := map[string][]string{}
	for i, name := range []string{"s1", "s2", "s3"} {
		files[name] = snapshotView(t, db, lake, name, lakehouse.AsOf{SnapshotID: snaps[i].SnapshotID}, stats.TablesDir)
	}
	byTime := snapshotView(t, db, lake, "s2_by_time", lakehouse.AsOf{TimestampMS: snaps[1].TimestampMS, HasTimestamp: true}, stats.TablesDir)
	require.Equal(t, files["s2"], byTime)
	require.Equal(t, accounts, queryInt(t, db, "SELECT count(*) FROM s1 WHERE month = DATE '2025-01-01'"))
	require.Equal(t, accounts, queryInt(t, db, "SELECT count(*) FROM s1"))
	require.Equal(t, retained, queryInt(t, db, "SELECT count(*) FROM s2 WHERE month = DATE '2025-02-01'"))
	require.Equal(t, accounts+retained, queryInt(t, db, "SELECT count(DISTINCT invoice_id) FROM s3"))
	require.Len(t, files["s1"], 1, "one file per month")
	require.Len(t, files["s2"], 2)
	require.Len(t, files["s3"], 3, "January rewritten without premium, premium re-issued, February kept")
	require.Subset(t, files["s3"], []string{feb(t, db, files["s2"])}, "the correction leaves February's file alone")

	// The correction: January premium at 17.99 instead of 19.99, every
	// other row as before.
	for _, tc := range []struct {
		view  string
		month string
		cents int64
	}{{"s1", "2025-01-01", premiumNewCents}, {"s2", "2025-01-01", premiumNewCents}, {"s2", "2025-02-01", premiumNewCents},
		{"s3", "2025-01-01", premiumOldCents}, {"s3", "2025-02-01", premiumNewCents}} {
		where := fmt.Sprintf("FROM %s WHERE plan = 'premium' AND month = DATE '%s'", tc.view, tc.month)
		require.Positive(t, queryInt(t, db, "SELECT count(*) "+where), "%s %s has premium invoices", tc.view, tc.month)
		require.Zero(t, queryInt(t, db, fmt.Sprintf("SELECT count(*) %s AND amount * 100 <> %d", where, tc.cents)),
			"%s %s premium at %d cents", tc.view, tc.month, tc.cents)
	}
	require.Zero(t, queryInt(t, db, "SELECT count(*) FROM ((SELECT * FROM s2 EXCEPT ALL SELECT * FROM s3) UNION ALL (SELECT * FROM s3 EXCEPT ALL SELECT * FROM s2)) WHERE NOT (plan = 'premium' AND month = DATE '2025-01-01')"))
	require.Equal(t, premium, queryInt(t, db, "SELECT count(*) FROM s3 JOIN s2 USING (invoice_id) WHERE s3.amount <> s2.amount"))

	// Invoices agree with demo.profiles: every billed profile exists and
	// carries its account's plan and country.
	_, err = db.ExecContext(t.Context(), "CREATE TEMP VIEW profiles AS SELECT * FROM "+readTable(dir, "profiles"))
	require.NoError(t, err)
	require.Zero(t, queryInt(t, db, "SELECT count(*) FROM s3 i ANTI JOIN profiles p USING (profile_id)"))
	require.Zero(t, queryInt(t, db, "SELECT count(*) FROM s3 i JOIN profiles p USING (profile_id) WHERE i.plan <> p.plan OR i.country <> p.country"))
	require.Equal(t, accounts, queryInt(t, db, "SELECT count(DISTINCT p.account_id) FROM s3 i JOIN profiles p USING (profile_id) WHERE month = DATE '2025-01-01'"))

	// A cancelled account is not billed after it cancelled (and is refunded
	// when it cancelled within a week); one that still plays on the last
	// day of the data is billed for February.
	withChurn := "s3 i JOIN profiles p USING (profile_id) JOIN accounts a ON a.account_id = p.account_id"
	require.Zero(t, queryInt(t, db, fmt.Sprintf("SELECT count(*) FROM %s WHERE a.churn_day < %d AND i.month >= DATE '2025-01-01' + CAST(a.churn_day AS INTEGER)", withChurn, dataDays)))
	require.Equal(t, queryInt(t, db, fmt.Sprintf("SELECT count(*) FROM accounts WHERE churn_day <= %d", refundDays)),
		queryInt(t, db, "SELECT count(*) FROM s3 WHERE status = 'refunded'"))
	require.Positive(t, queryInt(t, db, "SELECT count(*) FROM s3 WHERE status = 'refunded'"))
	plays := readTable(dir, "plays")
	require.Zero(t, queryInt(t, db, fmt.Sprintf("SELECT count(*) FROM %s x JOIN profiles p USING (profile_id) JOIN accounts a ON a.account_id = p.account_id WHERE x.day >= DATE '2025-01-01' + CAST(a.churn_day AS INTEGER)", plays)),
		"demo.plays agrees: nobody plays after cancelling")
	lastDay := queryInt(t, db, fmt.Sprintf("SELECT count(DISTINCT p.account_id) FROM %s x JOIN profiles p USING (profile_id) WHERE x.day = DATE '2025-01-30'", plays))
	require.Positive(t, lastDay)
	require.Equal(t, lastDay, queryInt(t, db, fmt.Sprintf(
		"SELECT count(DISTINCT p.account_id) FROM %s x JOIN profiles p USING (profile_id) SEMI JOIN (SELECT q.account_id FROM s3 JOIN profiles q USING (profile_id) WHERE month = DATE '2025-02-01') f ON f.account_id = p.account_id WHERE x.day = DATE '2025-01-30'", plays)))

	// A rerun replaces the catalog: three snapshots again, the same rows.
	_, err = db.ExecContext(t.Context(), "CREATE TEMP TABLE before AS SELECT * FROM s3")
	require.NoError(t, err)
	again, err := WriteIceberg(t.Context(), db, IcebergOptions{Warehouse: dir, Allocator: mem})
	require.NoError(t, err)
	require.Len(t, again.Snapshots, 3)
	lake2 := openLake(t, again)
	snapshotView(t, db, lake2, "rerun", lakehouse.AsOf{}, again.TablesDir)
	require.Zero(t, queryInt(t, db, "SELECT count(*) FROM ((SELECT * FROM before EXCEPT ALL SELECT * FROM rerun) UNION ALL (SELECT * FROM rerun EXCEPT ALL SELECT * FROM before))"))
	require.Equal(t, accounts+retained, queryInt(t, db, "SELECT count(*) FROM rerun"))
}

// feb is the file of files that holds February's invoices.
func feb(t *testing.T, db *sql.DB, files []string) string {
	t.Helper()
	for _, f := range files {
		if queryInt(t, db, fmt.Sprintf("SELECT count(*) FROM read_parquet(%s) WHERE month = DATE '2025-02-01'", sqlString(f))) > 0 {
			return f
		}
	}
	t.Fatalf("no February file in %v", files)
	return ""
}

func TestWriteIcebergRejectsBadOptions(t *testing.T) {
	db := openDB(t)
	_, err := WriteIceberg(t.Context(), db, IcebergOptions{})
	require.ErrorIs(t, err, ErrNoWarehouse)
	_, err = WriteIceberg(t.Context(), db, IcebergOptions{Warehouse: "s3://bucket/wh"})
	require.ErrorIs(t, err, ErrIcebergNotLocal)
	_, err = WriteIceberg(t.Context(), db, IcebergOptions{Warehouse: t.TempDir()})
	require.ErrorContains(t, err, "read demo.profiles")
}
