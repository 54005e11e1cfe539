package systables

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Schema is the schema name system tables live under.
const Schema = "system"

// CatalogName is the Parquet warehouse's catalog (planner.CatalogName).
const CatalogName = "quiver"

// Viewer is who reads a system table.
type Viewer struct {
	// Principal is the subject of the caller ("anonymous" without auth).
	Principal string
	// Admin callers see every row; others see rows about themselves where
	// a table has an owner column (system.queries).
	Admin bool
}

// Table is one system table: a fixed schema and a snapshot of its rows.
type Table interface {
	// Name is the table name under Schema, e.g. "report_runs".
	Name() string
	// Schema is the Arrow schema of Rows; it never changes.
	Schema() *arrow.Schema
	// Rows returns the rows v may see, as one record of Schema (the caller
	// releases it).
	Rows(ctx context.Context, v Viewer) (arrow.RecordBatch, error)
}
