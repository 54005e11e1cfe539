package systables

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// LakeCatalog is the Iceberg catalogs: their tables are named
// storage.TableName{Schema: "<catalog>.<namespace>", Name: table}.
type LakeCatalog interface {
	// Has reports whether catalog names one of them.
	Has(catalog string) bool
	Tables(ctx context.Context) ([]storage.TableName, error)
	Table(ctx context.Context, name storage.TableName, at storage.AsOf) (*storage.Table, error)
	// Schemas lists a catalog's namespaces, also those without tables.
	Schemas(ctx context.Context, catalog string) ([]string, error)
}

// DataCatalog is every table with data: the Parquet warehouse's (catalog
// quiver) and, when Lake is set, the Iceberg catalogs'. A name whose
// schema starts with an Iceberg catalog's name and a dot is that
// catalog's.
type DataCatalog struct {
	Warehouse TableLister
	Lake      LakeCatalog
}

// lake reports whether name is an Iceberg catalog's table.
func (c DataCatalog) lake(name storage.TableName) bool {
	if c.Lake == nil {
		return false
	}
	catalog, _, ok := strings.Cut(name.Schema, ".")
	return ok && c.Lake.Has(catalog)
}

// Tables lists the warehouse's tables, then the Iceberg catalogs'.
func (c DataCatalog) Tables(ctx context.Context) ([]storage.TableName, error) {
	names, err := c.Warehouse.Tables(ctx)
	if err != nil {
		return nil, err
	}
	if c.Lake == nil {
		return names, nil
	}
	lake, err := c.Lake.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Iceberg tables: %w", err)
	}
	return slices.Concat(names, lake), nil
}

// Namespaces lists an Iceberg catalog's namespaces, empty ones too (the
// Parquet warehouse's schemas are its directories that hold tables, so
// they come from Tables).
func (c DataCatalog) Namespaces(ctx context.Context, catalog string) ([]string, error) {
	if c.Lake == nil || !c.Lake.Has(catalog) {
		return nil, nil
	}
	return c.Lake.Schemas(ctx, catalog)
}

// Table resolves name at its current snapshot.
func (c DataCatalog) Table(ctx context.Context, name storage.TableName) (*storage.Table, error) {
	if c.lake(name) {
		return c.Lake.Table(ctx, name, storage.AsOf{})
	}
	return c.Warehouse.Table(ctx, name)
}

// errNoSnapshots is time travel on a table without snapshots.
var errNoSnapshots = errkind.New(errkind.Invalid, "Parquet and system tables have no snapshots: time travel (AT …) reads Iceberg tables")

// TableAt resolves name at the snapshot at picks: Iceberg tables only.
func (c DataCatalog) TableAt(ctx context.Context, name storage.TableName, at storage.AsOf) (*storage.Table, error) {
	if c.lake(name) {
		return c.Lake.Table(ctx, name, at)
	}
	if _, err := c.Warehouse.Table(ctx, name); err != nil {
		return nil, err
	}
	return nil, errNoSnapshots
}
