package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/planner/ast"
)

// VolatileLister lists the functions whose results may differ between
// two runs of one statement (lower-cased); *engine.DB is one. Without
// one, no plan has a CacheKey.
type VolatileLister interface {
	VolatileFunctions(ctx context.Context) (map[string]bool, error)
}

type resultProbeKey struct{}

// WithResultProbe returns a context under which Plan computes the
// statement's CacheKey and asks probe, as soon as it is known, whether
// the caller holds its result; when it does, Plan returns a plan with Hit set without
// distributing the statement (a result cache's hit then costs no
// fragment planning).
func WithResultProbe(ctx context.Context, probe func(key string) bool) context.Context {
	return context.WithValue(ctx, resultProbeKey{}, probe)
}

// cacheKeyVersion changes when what a key covers does.
const cacheKeyVersion = "quiver-plan-key-2"

// cacheKey is a digest of everything a deterministic statement's result
// depends on: the statement as parsed (the parser's serialized tree), the
// restriction the policy put on each of its table references (denials,
// masks, row filters, claim values: two principals whose restrictions
// are the same share it), and the pinned snapshot of every table it
// reads (file keys, sizes and ETags; an Iceberg table's metadata
// location and snapshot id; delete files). The policy's rewrite of the
// tree is a function of these, so they stand for it without the cost of
// serializing the rewritten tree.
// It is "" for a statement whose result may change with nothing of that
// changing: a volatile function (random(), now(), CURRENT_DATE …), a
// function the catalog does not know, or a sample.
func (p *Planner) cacheKey(ctx context.Context, stmt *statement, restrictions []*Restriction, plan *Plan) string {
	vl, ok := p.opts.Functions.(VolatileLister)
	if !ok || p.opts.Functions == nil {
		return ""
	}
	volatile, err := p.loadVolatile(ctx, vl)
	if err != nil {
		return ""
	}
	kinds, err := p.loadKinds(ctx)
	if err != nil {
		return ""
	}
	if ast.Contains(stmt.node, false, func(e node) bool {
		switch {
		case e.Class() == ast.ClassFunction:
			name := strings.ToLower(e.FunctionName())
			return volatile[name] || kinds[name] == ""
		case e.Class() == ast.ClassColumnRef:
			names, _ := e["column_names"].([]any)
			if len(names) == 1 {
				n, _ := names[0].(string)
				return volatile[strings.ToLower(n)]
			}
		case e[ast.FieldSample] != nil:
			return true
		}
		return false
	}) {
		return ""
	}
	if len(stmt.raw) == 0 {
		return ""
	}
	policy, err := json.Marshal(restrictions) // maps marshal with sorted keys
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", cacheKeyVersion, len(stmt.raw))
	h.Write(stmt.raw)
	fmt.Fprintf(h, "\x00%d\x00", len(policy))
	h.Write(policy)
	for _, t := range plan.Tables {
		fmt.Fprintf(h, "\x00table %s %v", t.Name, t.Virtual)
		if ice := t.Iceberg; ice != nil {
			fmt.Fprintf(h, " iceberg %s %d %d", ice.MetadataLocation, ice.SnapshotID, ice.SchemaID)
		}
		for _, f := range t.Files {
			fmt.Fprintf(h, "\x00%s %s %d %s %s", f.URI, f.Key, f.Size, f.ETag, f.Path)
			for _, d := range f.Deletes {
				fmt.Fprintf(h, " del %s %d", d.Path, d.Rows)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadVolatile fetches the volatile functions once.
func (p *Planner) loadVolatile(ctx context.Context, vl VolatileLister) (map[string]bool, error) {
	p.kindsOnce.Lock()
	defer p.kindsOnce.Unlock()
	if p.volatile != nil {
		return p.volatile, nil
	}
	v, err := vl.VolatileFunctions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load volatile functions: %w", err)
	}
	p.volatile = v
	return v, nil
}
