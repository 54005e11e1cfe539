package planner

import (
	"context"
	"slices"
	"strings"

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
			if _, err := p.opts.Policy.Restrict(ctx, n); err != nil {
				continue // a table the caller may not read is not named
			}
		}
		full := strings.ToLower(n.Schema + "." + n.Name)
		d := editDistance(want, full)
		if strings.EqualFold(n.Name, missing.Name) {
			d = 0
		}
		if d <= max(2, len(want)/4) {
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

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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
