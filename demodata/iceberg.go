package demodata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// The demo's Iceberg table, lake.billing.invoices when served as catalog
// "lake": one invoice per account and month, derived from demo.profiles so
// that it tells the same story (plans, countries, and accounts that cancel
// in January get no February invoice). It lives in a local SQL catalog
// under <warehouse>/_iceberg, which the Parquet warehouse layout ignores
// (a directory starting with "_"), so no table shows up twice.
//
// Its three snapshots make time travel worth trying:
//
//  1. append: the January 2025 invoices, where the billing run charged
//     premium accounts February's new price (19.99) instead of 17.99;
//  2. append: the February 2025 invoices, premium at 19.99;
//  3. overwrite: January's premium invoices re-issued at 17.99.
//
// The table is partitioned by month(month): invoices are written and
// corrected a month at a time, so every commit touches one partition (the
// correction rewrites January's file and leaves February's alone, as
// system.iceberg_files and the snapshot summaries show), and a query for
// one month reads one month's files.
const (
	// IcebergDir is the directory under the warehouse that holds the
	// catalog and its tables.
	IcebergDir = "_iceberg"
	// IcebergCatalogName is the default catalog_name of the SQL catalog's
	// rows (what `--iceberg-catalog …&sql-catalog-name=` names).
	IcebergCatalogName = "demo_lake"
	// IcebergNamespace and IcebergTable name the table in its catalog.
	IcebergNamespace = "billing"
	IcebergTable     = "invoices"
)

// ErrIcebergNotLocal means WriteIceberg was given an s3:// (or other URI)
// warehouse: the demo's SQL catalog is a local sqlite file.
var ErrIcebergNotLocal = errors.New("the demo's Iceberg table needs a local warehouse")

// Prices in cents. The January run billed premium at premiumNewCents, the
// price that starts in February; the third snapshot corrects it.
const (
	basicCents      = 799
	standardCents   = 1299
	premiumOldCents = 1799
	premiumNewCents = 1999
	// refundDays: an account that cancels within this many days of its
	// invoice gets the month refunded.
	refundDays = 7
)

// IcebergOptions configures WriteIceberg.
type IcebergOptions struct {
	// Warehouse is the local warehouse directory that already holds
	// demo.profiles (written by Generate).
	Warehouse string
	// CatalogName is the catalog_name of the catalog's rows; "" means
	// IcebergCatalogName.
	CatalogName string
	// Allocator builds the Arrow records committed; nil means
	// memory.DefaultAllocator.
	Allocator memory.Allocator
	// Logger receives one line per snapshot; nil discards.
	Logger *slog.Logger
}

// IcebergStats reports what WriteIceberg wrote.
type IcebergStats struct {
	// CatalogPath is the sqlite file of the SQL catalog.
	CatalogPath string
	// TablesDir is the catalog's warehouse directory (tables' data and
	// metadata files).
	TablesDir string
	// CatalogName is the catalog_name of the catalog's rows.
	CatalogName string
	// Snapshots are the table's commits, oldest first.
	Snapshots []IcebergCommit
}

// IcebergCommit is one snapshot WriteIceberg committed.
type IcebergCommit struct {
	SnapshotID  int64
	TimestampMS int64
	// Operation is the snapshot's operation: "append" or "overwrite".
	Operation string
	// Note says what the commit was; it is the snapshot summary's "note".
	Note string
	// Rows is the number of invoices the commit wrote.
	Rows int64
	// TableRows is the table's row count after the commit.
	TableRows int64
}

// invoiceRun is one commit: the invoices of one month for the accounts
// where selects, and the existing rows they replace (nil: an append).
type invoiceRun struct {
	note         string
	month        time.Time
	where        string
	premiumCents int64
	replaces     iceberg.BooleanExpression
}

var (
	january  = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
	february = time.Date(2025, time.February, 1, 0, 0, 0, 0, time.UTC)
)

// invoiceRuns are the table's commits, in order.
func invoiceRuns() []invoiceRun {
	return []invoiceRun{
		{
			note:  "January 2025 invoices (premium billed at February's price by mistake)",
			month: january, where: "TRUE", premiumCents: premiumNewCents,
		},
		{
			// Accounts that cancelled in January (churn day before the end
			// of the data) are not billed again.
			note:  "February 2025 invoices",
			month: february, where: fmt.Sprintf("churn_day = %d", dataDays), premiumCents: premiumNewCents,
		},
		{
			note:  "correction: January premium invoices re-issued at 17.99",
			month: january, where: "plan = 'premium'", premiumCents: premiumOldCents,
			replaces: iceberg.NewAnd(
				iceberg.EqualTo(iceberg.Reference("month"), iceberg.Date(january.Unix()/secondsPerDay)),
				iceberg.EqualTo(iceberg.Reference("plan"), "premium"),
			),
		},
	}
}

// invoiceSchema is the Iceberg schema of billing.invoices.
func invoiceSchema() *iceberg.Schema {
	return iceberg.NewSchemaWithIdentifiers(0, []int{1},
		iceberg.NestedField{ID: 1, Name: "invoice_id", Type: iceberg.PrimitiveTypes.Int64, Required: true, Doc: "yyyymm × 10⁹ + account_id"},
		iceberg.NestedField{ID: 2, Name: "profile_id", Type: iceberg.PrimitiveTypes.Int64, Doc: "the account's billing profile: its first adult profile"},
		iceberg.NestedField{ID: 3, Name: "plan", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 4, Name: "country", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 5, Name: "month", Type: iceberg.PrimitiveTypes.Date, Doc: "the first day of the month billed"},
		iceberg.NestedField{ID: 6, Name: "amount", Type: iceberg.DecimalTypeOf(10, 2)},
		iceberg.NestedField{ID: 7, Name: "status", Type: iceberg.PrimitiveTypes.String, Doc: "paid, or refunded when the account cancelled within a week"},
	)
}

// invoiceArrowSchema is the schema of the records committed.
var invoiceArrowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "invoice_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "profile_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "plan", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "month", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// WriteIceberg writes the demo's Iceberg table billing.invoices into a SQL
// catalog at <warehouse>/_iceberg/catalog.db over <warehouse>/_iceberg/tables,
// from the demo.profiles files Generate wrote (read with db, a DuckDB).
// An existing _iceberg directory is replaced, so reruns are safe; the rows
// are the same on every run (the snapshot ids and times are not).
func WriteIceberg(ctx context.Context, db *sql.DB, opts IcebergOptions) (IcebergStats, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	if opts.CatalogName == "" {
		opts.CatalogName = IcebergCatalogName
	}
	if opts.Warehouse == "" {
		return IcebergStats{}, ErrNoWarehouse
	}
	root, local, err := resolveRoot(opts.Warehouse)
	if err != nil {
		return IcebergStats{}, err
	}
	if !local {
		return IcebergStats{}, fmt.Errorf("iceberg demo table in %s: %w", root, ErrIcebergNotLocal)
	}
	profiles := filepath.Join(root, "demo", "profiles")
	if _, err := os.Stat(profiles); err != nil {
		return IcebergStats{}, fmt.Errorf("iceberg demo table: read demo.profiles: %w", err)
	}
	dir := filepath.Join(root, IcebergDir)
	stats := IcebergStats{
		CatalogPath: filepath.Join(dir, "catalog.db"),
		TablesDir:   filepath.Join(dir, "tables"),
		CatalogName: opts.CatalogName,
	}
	if err := os.RemoveAll(dir); err != nil {
		return stats, fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.MkdirAll(stats.TablesDir, 0o755); err != nil {
		return stats, fmt.Errorf("create %s: %w", stats.TablesDir, err)
	}

	sqldb, err := sql.Open(sqliteshim.ShimName, "file:"+escapeSQLitePath(stats.CatalogPath))
	if err != nil {
		return stats, fmt.Errorf("open iceberg catalog %s: %w", stats.CatalogPath, err)
	}
	defer func() { _ = sqldb.Close() }() // every commit is durable when it returns
	cat, err := sqlcat.NewCatalog(opts.CatalogName, sqldb, sqlcat.SQLite, iceberg.Properties{
		"warehouse": "file://" + filepath.ToSlash(stats.TablesDir),
	})
	if err != nil {
		return stats, fmt.Errorf("create iceberg catalog %s: %w", stats.CatalogPath, err)
	}
	defer func() { _ = cat.Close() }()

	ns := table.Identifier{IcebergNamespace}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"comment": "the streaming service's invoices"}); err != nil {
		return stats, fmt.Errorf("create namespace %s: %w", IcebergNamespace, err)
	}
	spec, err := iceberg.NewPartitionSpecOpts(
		iceberg.AddPartitionFieldByName("month", "month_month", iceberg.MonthTransform{}, invoiceSchema(), nil))
	if err != nil {
		return stats, fmt.Errorf("partition spec of %s.%s: %w", IcebergNamespace, IcebergTable, err)
	}
	tbl, err := cat.CreateTable(ctx, table.Identifier{IcebergNamespace, IcebergTable}, invoiceSchema(),
		catalog.WithPartitionSpec(&spec),
		catalog.WithProperties(iceberg.Properties{table.PropertyFormatVersion: "2"}))
	if err != nil {
		return stats, fmt.Errorf("create table %s.%s: %w", IcebergNamespace, IcebergTable, err)
	}

	glob := filepath.Join(profiles, "**", "*.parquet")
	var lastMS int64
	for _, run := range invoiceRuns() {
		start := time.Now()
		// Snapshot times are commit times; AT (TIMESTAMP => …) needs them
		// apart, and commits of a small table can land in one millisecond.
		if err := waitPast(ctx, lastMS); err != nil {
			return stats, err
		}
		rec, err := invoices(ctx, db, opts.Allocator, glob, run)
		if err != nil {
			return stats, fmt.Errorf("invoices of %s: %w", run.month.Format("2006-01"), err)
		}
		tbl, err = commit(ctx, tbl, rec, run)
		rows := rec.NumRows()
		rec.Release()
		if err != nil {
			return stats, fmt.Errorf("commit %q to %s.%s: %w", run.note, IcebergNamespace, IcebergTable, err)
		}
		snap := tbl.CurrentSnapshot()
		c := IcebergCommit{SnapshotID: snap.SnapshotID, TimestampMS: snap.TimestampMs, Note: run.note, Rows: rows}
		if snap.Summary != nil {
			c.Operation = string(snap.Summary.Operation)
			c.TableRows, _ = strconv.ParseInt(snap.Summary.Properties["total-records"], 10, 64)
		}
		lastMS = snap.TimestampMs
		stats.Snapshots = append(stats.Snapshots, c)
		opts.Logger.Info("iceberg snapshot committed", "table", IcebergNamespace+"."+IcebergTable,
			"snapshotID", c.SnapshotID, "operation", c.Operation, "rows", c.Rows, "tableRows", c.TableRows,
			"note", c.Note, "duration", time.Since(start).Round(time.Millisecond))
	}
	return stats, nil
}

// commit appends rec, or overwrites the rows run replaces with it.
func commit(ctx context.Context, tbl *table.Table, rec arrow.RecordBatch, run invoiceRun) (*table.Table, error) {
	at := array.NewTableFromRecords(invoiceArrowSchema, []arrow.RecordBatch{rec})
	defer at.Release()
	props := iceberg.Properties{"note": run.note}
	txn := tbl.NewTransaction()
	if run.replaces == nil {
		if err := txn.AppendTable(ctx, at, rec.NumRows(), props); err != nil {
			return nil, err
		}
		return txn.Commit(ctx)
	}
	if err := txn.OverwriteTable(ctx, at, rec.NumRows(), props, table.WithOverwriteFilter(run.replaces)); err != nil {
		return nil, err
	}
	// A copy-on-write overwrite also sets a default name mapping, for
	// files without field ids. Every file here has them, and Quiver
	// refuses tables with a name mapping (it reads by field id only).
	if err := txn.RemoveProperties([]string{table.DefaultNameMappingKey}); err != nil {
		return nil, err
	}
	return txn.Commit(ctx)
}

// invoices reads the invoices of one run from demo.profiles into a record.
func invoices(ctx context.Context, db *sql.DB, mem memory.Allocator, profilesGlob string, run invoiceRun) (arrow.RecordBatch, error) {
	rows, err := db.QueryContext(ctx, invoicesQuery(profilesGlob, run))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	b := array.NewRecordBuilder(mem, invoiceArrowSchema)
	defer b.Release()
	var (
		ids      = b.Field(0).(*array.Int64Builder)
		profiles = b.Field(1).(*array.Int64Builder)
		plans    = b.Field(2).(*array.StringBuilder)
		country  = b.Field(3).(*array.StringBuilder)
		months   = b.Field(4).(*array.Date32Builder)
		amounts  = b.Field(5).(*array.Decimal128Builder)
		statuses = b.Field(6).(*array.StringBuilder)
		month    = arrow.Date32FromTime(run.month)
	)
	for rows.Next() {
		var id, profile, cents int64
		var plan, cc, status string
		if err := rows.Scan(&id, &profile, &plan, &cc, &cents, &status); err != nil {
			return nil, err
		}
		ids.Append(id)
		profiles.Append(profile)
		plans.Append(plan)
		country.Append(cc)
		months.Append(month)
		amounts.Append(decimal128.FromI64(cents))
		statuses.Append(status)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// invoicesQuery selects one run's invoices, one per account, in account
// order: billed to the account's first adult profile (its first profile
// when all are kids'), at its plan's price, refunded when the account
// cancelled within refundDays of the month's start. churn_day is the day
// the account stopped playing (churnDayOf; dataDays when it never did).
func invoicesQuery(profilesGlob string, run invoiceRun) string {
	return expand(`
WITH accounts AS (
    SELECT
        account_id,
        coalesce(min(profile_id) FILTER (WHERE NOT is_kids), min(profile_id)) AS profile_id,
        min(plan) AS plan,
        min(country) AS country
    FROM read_parquet({glob})
    GROUP BY account_id
), billed AS (
    SELECT *, {churnDay} AS churn_day FROM accounts
)
SELECT
    CAST({monthKey} AS BIGINT) * 1000000000 + account_id AS invoice_id,
    profile_id,
    plan,
    country,
    CAST(CASE plan WHEN 'basic' THEN {basic} WHEN 'standard' THEN {standard} ELSE {premium} END AS BIGINT) AS amount_cents,
    CASE WHEN churn_day <= {refundDays} THEN 'refunded' ELSE 'paid' END AS status
FROM billed
WHERE {where}
ORDER BY account_id`,
		"glob", sqlString(profilesGlob),
		"churnDay", churnDayOf("account_id"),
		"monthKey", run.month.Format("200601"),
		"basic", fmt.Sprint(basicCents),
		"standard", fmt.Sprint(standardCents),
		"premium", fmt.Sprint(run.premiumCents),
		"refundDays", fmt.Sprint(refundDays),
		"where", run.where,
	)
}

// waitPast returns once the wall clock is past the millisecond ms.
func waitPast(ctx context.Context, ms int64) error {
	for time.Now().UnixMilli() <= ms {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// escapeSQLitePath makes an absolute path safe inside a sqlite file: URI.
func escapeSQLitePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(p)
}
