package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/quiver-data/quiver/lineage"
)

// lineage derives the statement's column lineage over the policy's
// rewrite (root as applyPolicy left it, before distribution changes
// anything). A statement it cannot bind runs without lineage: that is
// counted and logged, never an error for the client.
func (p *Planner) lineage(ctx context.Context, root node, refs []tableRef) (g *lineage.Graph) {
	defer func() {
		// A binder bug must cost the lineage, never the query.
		if r := recover(); r != nil {
			p.unbound.Inc()
			p.logger.Error("lineage binder failed", "panic", fmt.Sprint(r))
			g = nil
		}
	}()
	kinds, err := p.loadKinds(ctx)
	if err != nil {
		p.unbound.Inc()
		p.logger.Debug("lineage not derived", "err", err)
		return nil
	}
	g, err = lineage.Bind(root, lineage.Options{
		Table: func(n node) (lineage.Table, bool) {
			for _, ref := range refs {
				if sameNode(ref.node, n) {
					return lineageTable(ref), true
				}
			}
			return lineage.Table{}, false
		},
		Aggregate: func(name string) bool { return kinds[strings.ToLower(name)] == "aggregate" },
	})
	if err != nil {
		p.unbound.Inc()
		p.logger.Debug("lineage not derived", "err", err)
		return nil
	}
	return g
}

// lineageTable names a reference's table as the catalog does: an
// Iceberg table's schema is "<catalog>.<namespace>".
func lineageTable(ref tableRef) lineage.Table {
	t := lineage.Table{Name: ref.base.Name, Restricted: ref.restricted}
	t.Catalog, t.Schema = ref.table.Qualified(CatalogName)
	for _, c := range ref.table.Columns {
		t.Columns = append(t.Columns, c.Name)
	}
	return t
}
