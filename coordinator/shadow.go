package coordinator

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/lru"
	"github.com/quiver-data/quiver/storage"
)

// shadow is the catalog of empty tables used to type queries.
type shadow struct {
	db *engine.DB
	// mu lets probes run together and keeps them out while a table's
	// definition changes.
	mu      sync.RWMutex
	defined map[storage.TableName]string // table -> DDL it was created with
	// schemas are probe results by probe and argument types: a statement
	// run again (a prepared statement's executions, a dashboard's query)
	// is typed without DuckDB. Entries are added under mu's read lock and
	// the memo is cleared under its write lock whenever a definition
	// changes, so no entry outlives the definitions it was typed against.
	schemas *lru.Cache[string, *arrow.Schema]
}

// schemaMemoSize bounds the typing caches (entries).
const schemaMemoSize = 4096

func newShadow(db *engine.DB) *shadow {
	return &shadow{db: db, defined: map[storage.TableName]string{}, schemas: lru.New[string, *arrow.Schema](schemaMemoSize)}
}

// argTypesKey identifies what typing a statement depends on in its
// arguments: their Go types (a statement's result type follows its
// parameters' types, not their values; every argument is one of the
// primitive types fragwire.Arg carries).
func argTypesKey(args []any) string {
	var b strings.Builder
	for _, a := range args {
		fmt.Fprintf(&b, "\x00%T", a)
	}
	return b.String()
}

// ddl is the CREATE statement for an empty table shaped like t.
func ddl(t *storage.Table) (string, error) {
	cols := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		typ, err := engine.DuckDBType(c.Type)
		if err != nil {
			return "", fmt.Errorf("table %s column %s: %w", t.Name, c.Name, err)
		}
		cols = append(cols, engine.QuoteIdent(c.Name)+" "+typ)
	}
	return fmt.Sprintf("CREATE OR REPLACE TABLE %s.%s (%s)",
		engine.QuoteIdent(t.Name.Schema), engine.QuoteIdent(t.Name.Name), strings.Join(cols, ", ")), nil
}

// ensure (re)defines the shadow tables whose shape changed.
func (s *shadow) ensure(ctx context.Context, tables []*storage.Table) error {
	type change struct {
		t   *storage.Table
		ddl string
	}
	var changes []change
	s.mu.RLock()
	for _, t := range tables {
		d, err := ddl(t)
		if err != nil {
			s.mu.RUnlock()
			return err
		}
		if s.defined[t.Name] != d {
			changes = append(changes, change{t, d})
		}
	}
	s.mu.RUnlock()
	if len(changes) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schemas.Clear()
	for _, c := range changes {
		stmts := []string{"CREATE SCHEMA IF NOT EXISTS " + engine.QuoteIdent(c.t.Name.Schema), c.ddl}
		for _, q := range stmts {
			if _, err := s.db.SQL().ExecContext(ctx, q); err != nil {
				return fmt.Errorf("define table %s: %w", c.t.Name, err)
			}
		}
		s.defined[c.t.Name] = c.ddl
	}
	return nil
}

// schema runs the probe statement and returns its result schema.
func (s *shadow) schema(ctx context.Context, tables []*storage.Table, probe string, args []any) (*arrow.Schema, error) {
	if err := s.ensure(ctx, tables); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	key := probe + argTypesKey(args)
	if schema, ok := s.schemas.Get(key); ok {
		return schema, nil
	}
	rdr, err := s.db.QueryArrow(ctx, probe, args...)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	s.schemas.Put(key, rdr.Schema())
	return rdr.Schema(), nil
}

// tableSchema returns the Arrow schema a `SELECT *` of t produces.
func (s *shadow) tableSchema(ctx context.Context, t *storage.Table) (*arrow.Schema, error) {
	probe := fmt.Sprintf("SELECT * FROM %s.%s LIMIT 0", engine.QuoteIdent(t.Name.Schema), engine.QuoteIdent(t.Name.Name))
	return s.schema(ctx, []*storage.Table{t}, probe, nil)
}

// paramTypes prepares the probe against the shadow tables and returns the
// types of its parameters.
func (s *shadow) paramTypes(ctx context.Context, tables []*storage.Table, probe string) ([]arrow.DataType, error) {
	if err := s.ensure(ctx, tables); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.ParamTypes(ctx, probe)
}
