package planner

import (
	"context"
	"slices"
	"strings"

	"github.com/quiver-data/quiver/search"
	"github.com/quiver-data/quiver/storage"
)

// tableLister is a Catalog that can also list its tables; planning then
// names the closest ones when a reference matches none.
type tableLister interface {
	Tables(ctx context.Context) ([]storage.TableName, error)
}

// maxSuggestions bounds the names one "did you mean" offers.
const maxSuggestions = 3

// suggest returns the tables the caller may read whose names are closest
// to the missing name: the same table name in another schema first (an
// unqualified "plays" is demo.plays), then qualified names a few edits
// away. Nothing when the catalog cannot list or nothing is close.
func (p *Planner) suggest(ctx context.Context, missing storage.TableName) []string {
	lister, ok := p.opts.Catalog.(tableLister)
	if !ok {
		return nil
	}
	names, err := lister.Tables(ctx)
	if err != nil {
		return nil
	}
	want := strings.ToLower(missing.Schema + "." + missing.Name)
	type candidate struct {
		name string
		dist int
	}
	var close []candidate
	for _, n := range names {
		if p.opts.Policy != nil {
			if _, err := p.opts.Policy.Restrict(ctx, n, nil); err != nil {
				continue // a table the caller may not read is not named
			}
		}
		full := strings.ToLower(n.Schema + "." + n.Name)
		limit := max(2, len(want)/4)
		d := search.EditDistance(want, full, limit)
		if strings.EqualFold(n.Name, missing.Name) {
			d = 0
		}
		if d <= limit {
			close = append(close, candidate{n.Schema + "." + n.Name, d})
		}
	}
	slices.SortFunc(close, func(a, b candidate) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range close[:min(len(close), maxSuggestions)] {
		out = append(out, c.name)
	}
	return out
}

// didYouMean is the hint for a missing table: " (did you mean demo.plays?)".
func didYouMean(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return " (did you mean " + names[0] + "?)"
	}
	return " (did you mean " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + "?)"
}
