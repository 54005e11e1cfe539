package systables

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/storage"
)

// InternalSchema is where system tables live in the coordinator's DuckDB:
// "system" itself is DuckDB's own catalog there.
const InternalSchema = "quiver_system"

// Registry holds the system tables by name.
type Registry struct {
	tables map[string]Table
}

// NewRegistry returns a registry of tables.
func NewRegistry(tables ...Table) *Registry {
	r := &Registry{tables: map[string]Table{}}
	for _, t := range tables {
		r.tables[strings.ToLower(t.Name())] = t
	}
	return r
}

// Get returns the table called name (case-insensitive).
func (r *Registry) Get(name string) (Table, bool) {
	t, ok := r.tables[strings.ToLower(name)]
	return t, ok
}

// Names lists the tables, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.tables))
	for _, t := range r.tables {
		names = append(names, t.Name())
	}
	slices.Sort(names)
	return names
}

// storageTable describes t to the planner: a virtual table under
// InternalSchema with t's columns.
func storageTable(t Table) *storage.Table {
	st := &storage.Table{Name: storage.TableName{Schema: InternalSchema, Name: t.Name()}, Virtual: true}
	for _, f := range t.Schema().Fields() {
		st.Columns = append(st.Columns, storage.Column{Name: f.Name, Type: f.Type, Nullable: f.Nullable})
	}
	return st
}

// WarehouseCatalog resolves warehouse tables; *storage.Warehouse is one.
type WarehouseCatalog interface {
	Table(ctx context.Context, name storage.TableName) (*storage.Table, error)
}

// Catalog is the planner's catalog: the warehouse's tables plus the
// system tables under schema "system".
type Catalog struct {
	Warehouse WarehouseCatalog
	System    *Registry
}

// Tables lists the warehouse's tables (when its catalog can list them)
// and then the system tables.
func (c Catalog) Tables(ctx context.Context) ([]storage.TableName, error) {
	var out []storage.TableName
	if l, ok := c.Warehouse.(interface {
		Tables(ctx context.Context) ([]storage.TableName, error)
	}); ok {
		names, err := l.Tables(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
	}
	for _, n := range c.System.Names() {
		out = append(out, storage.TableName{Schema: Schema, Name: n})
	}
	return out, nil
}

// Table resolves name.
func (c Catalog) Table(ctx context.Context, name storage.TableName) (*storage.Table, error) {
	if strings.EqualFold(name.Schema, Schema) {
		if t, ok := c.System.Get(name.Name); ok {
			return storageTable(t), nil
		}
		return nil, fmt.Errorf("system.%s (system tables: %s): %w", name.Name, strings.Join(c.System.Names(), ", "), storage.ErrTableNotFound)
	}
	return c.Warehouse.Table(ctx, name)
}

// TableAt resolves name at a snapshot, when the warehouse catalog has
// snapshots (a DataCatalog with Iceberg catalogs).
func (c Catalog) TableAt(ctx context.Context, name storage.TableName, at storage.AsOf) (*storage.Table, error) {
	if sc, ok := c.Warehouse.(interface {
		TableAt(ctx context.Context, name storage.TableName, at storage.AsOf) (*storage.Table, error)
	}); ok && !strings.EqualFold(name.Schema, Schema) {
		return sc.TableAt(ctx, name, at)
	}
	if _, err := c.Table(ctx, name); err != nil {
		return nil, err
	}
	return nil, errNoSnapshots
}
