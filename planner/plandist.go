package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/quiver-data/quiver/storage"
)

// Typer types statements against empty tables shaped like the warehouse's
// (the coordinator's shadow catalog).
type Typer interface {
	// Schema is the result schema of probe.
	Schema(ctx context.Context, tables []*storage.Table, probe string, args []any) (*arrow.Schema, error)
	// MergeSchema is the result schema of merge run over a PartialsTable
	// shaped like the result of partialsProbe.
	MergeSchema(ctx context.Context, tables []*storage.Table, partialsProbe, merge string, args []any) (*arrow.Schema, error)
}

// distribute chooses how to split the statement. It returns the shape and
// the index in refs of the split reference, or a fallback error.
func (p *Planner) distribute(ctx context.Context, stmt *statement, refs []tableRef, files [][]storage.File, plan *Plan) (*shape, int, error) {
	if len(refs) == 0 {
		return nil, -1, fallbackf("no_tables")
	}
	if p.opts.Partitioner == nil || p.opts.Typer == nil || p.opts.Functions == nil {
		return nil, -1, fallbackf("distribution_disabled")
	}
	kinds, err := p.loadKinds(ctx)
	if err != nil {
		return nil, -1, err
	}
	d := &dist{kinds: kinds}
	if t := str(stmt.node, "type"); t != "SELECT_NODE" {
		return nil, -1, fallbackf("statement:%s", strings.ToLower(t))
	}
	cands := d.splitCandidates(stmt.node, refs)
	if len(cands) == 0 {
		return nil, -1, fallbackf("no_splittable_table")
	}
	split := -1
	for _, c := range cands {
		for i, r := range refs {
			if !sameNode(r.node, c.node) {
				continue
			}
			if split < 0 || r.table.Rows > refs[split].table.Rows ||
				r.table.Rows == refs[split].table.Rows && len(files[i]) > len(files[split]) {
				split = i
			}
		}
	}
	if len(files[split]) < 2 {
		return nil, -1, fallbackf("single_file")
	}
	args := make([]any, plan.Params)
	schema, err := p.opts.Typer.Schema(ctx, plan.Tables, plan.Probe, args)
	if err != nil {
		return nil, -1, err
	}
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	sh, err := d.choose(stmt.node, names)
	if err != nil {
		return nil, -1, err
	}
	if sh.merge == nil {
		return sh, split, nil
	}
	if contains(sh.merge, false, func(e node) bool { return str(e, "class") == "PARAMETER" }) {
		return nil, -1, fallbackf("parameter_in_merge")
	}
	env := node{"error": false, "statements": []any{node{"named_param_map": []any{}, "node": sh.merge}}}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, -1, fmt.Errorf("encode merge: %w", err)
	}
	mergeSQL, err := p.opts.Parser.Deserialize(ctx, raw)
	if err != nil {
		return nil, -1, err
	}
	penv, proot, _ := copyWithRefs(stmt, refs)
	sh.partial(proot)
	limitZero(proot)
	partialsProbe, err := p.render(ctx, &statement{envelope: penv, node: proot})
	if err != nil {
		return nil, -1, err
	}
	got, err := p.opts.Typer.MergeSchema(ctx, plan.Tables, partialsProbe, mergeSQL, args)
	if err != nil {
		// A merge DuckDB cannot even bind is a planner limitation, not the
		// user's error: run the query whole.
		return nil, -1, fallbackf("merge_invalid")
	}
	if !got.Equal(schema) {
		for i, f := range schema.Fields() {
			if i >= got.NumFields() || !arrow.TypeEqual(f.Type, got.Field(i).Type) || f.Name != got.Field(i).Name {
				return nil, -1, fallbackf("merge_type_mismatch:%s", f.Name)
			}
		}
		return nil, -1, fallbackf("merge_type_mismatch")
	}
	plan.Merge = &Merge{SQL: mergeSQL, PartialsProbe: partialsProbe}
	return sh, split, nil
}

// pruneRefs returns the files each reference reads after pruning, and
// records per-table counts in the decisions.
func (p *Planner) pruneRefs(_ context.Context, _ node, refs []tableRef, _ map[storage.TableName]*storage.Table, dec *Decisions) ([][]storage.File, error) {
	out := make([][]storage.File, len(refs))
	dec.Files = map[string]int{}
	for i, r := range refs {
		out[i] = r.table.Files
		name := r.name.String()
		dec.Files[name] = max(dec.Files[name], len(out[i]))
	}
	return out, nil
}
