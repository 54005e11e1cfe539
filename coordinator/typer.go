package coordinator

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

// Typer is the planner's view of the shadow catalog: it types statements
// and merges without reading any data.
type Typer struct{ c *Coordinator }

// Typer returns the planner.Typer of this coordinator.
func (c *Coordinator) Typer() planner.Typer { return Typer{c} }

// Schema types a probe statement.
func (t Typer) Schema(ctx context.Context, tables []*storage.Table, probe string, args []any) (*arrow.Schema, error) {
	s, err := t.c.shadow.schema(ctx, tables, probe, args)
	if err != nil {
		// The planner's error is the client's: DuckDB's message quotes
		// the probe, which the client never wrote.
		return nil, &planner.RenderedError{SQL: probe, Err: err}
	}
	return s, nil
}

// MergeSchema types a merge over partials shaped like partialsProbe's
// result, registered exactly as the merge step registers real partials.
func (t Typer) MergeSchema(ctx context.Context, tables []*storage.Table, partialsProbe, merge string, args []any) (*arrow.Schema, error) {
	partials, err := t.c.shadow.schema(ctx, tables, partialsProbe, args)
	if err != nil {
		return nil, fmt.Errorf("type partials: %w", err)
	}
	// The merge's result type follows from its statement and the partials'
	// schema alone.
	fp := partials.Fingerprint() // "" for a type without one: not cached
	key := fp + "\x00" + merge
	if schema, ok := t.c.merges.Get(key); ok && fp != "" {
		return schema, nil
	}
	empty, err := array.NewRecordReader(partials, nil)
	if err != nil {
		return nil, err
	}
	defer empty.Release()
	rdr, err := t.c.opts.DB.QueryArrowOverTables(ctx, map[string]array.RecordReader{planner.PartialsTable: empty}, merge)
	if err != nil {
		return nil, fmt.Errorf("type merge: %w", err)
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	if err := rdr.Err(); err != nil {
		return nil, err
	}
	if fp != "" {
		t.c.merges.Put(key, rdr.Schema())
	}
	return rdr.Schema(), nil
}
