// Package search is a ranked, typo-tolerant search over what the catalog
// knows about tables and columns: their names, descriptions and tags.
// An Index is built from a snapshot of the catalog (Build) and searched
// per caller with a filter that applies the caller's policy (Search), so
// a hit is only ever a table or column the caller may see.
//
// Ranking: the text is split into terms; each term matches a document's
// tokens exactly, as a prefix, or within a small edit distance ("revnue"
// finds "revenue"), weighted by where it matched (a name counts most,
// then a tag, then the enclosing table's name, then the description).
// Documents that match more terms rank first, then by score.
package search

import (
	"slices"
	"strings"
	"unicode"

	"github.com/quiver-data/quiver/storage"
)

// Kinds of documents.
const (
	KindTable  = "table"
	KindColumn = "column"
)

// Doc is one searchable table or column.
type Doc struct {
	Kind string `json:"kind"`
	// Name is the table's name in the planner's terms (Iceberg tables'
	// schema "<catalog>.<namespace>"), for the policy filter.
	Name    storage.TableName `json:"-"`
	Catalog string            `json:"catalog"`
	Schema  string            `json:"schema"`
	Table   string            `json:"table"`
	// Column and Type are a column's; "" for a table.
	Column      string   `json:"column,omitempty"`
	Type        string   `json:"type,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}

// Hit is a document that matched, with its score and the fields that
// matched ("name", "tags", "table", "description").
type Hit struct {
	Doc
	Score   float64  `json:"score"`
	Matched []string `json:"matched"`
}

// field is where in a document a token is.
type field uint8

const (
	fieldName field = iota
	fieldTags
	fieldTable
	fieldDescription
	fields
)

var fieldNames = [fields]string{"name", "tags", "table", "description"}

// weights of a match by field.
var weights = [fields]float64{fieldName: 3, fieldTags: 2, fieldTable: 1, fieldDescription: 1}

// posting is one occurrence of a token.
type posting struct {
	doc   int32
	field field
}

// Index is an immutable search index; safe for concurrent Search.
type Index struct {
	docs []Doc
	// keys are the documents' full names, the last tie-break of ranking.
	keys     []string
	postings map[string][]posting
	// vocab is every token, sorted (prefix matches), and byLen the same
	// by length (fuzzy matches compare only tokens of a near length).
	vocab []string
	byLen map[int][]string
}

// Build indexes docs.
func Build(docs []Doc) *Index {
	ix := &Index{docs: docs, postings: map[string][]posting{}, byLen: map[int][]string{}}
	add := func(doc int, f field, text string) {
		for _, tok := range tokens(text) {
			ps := ix.postings[tok]
			if n := len(ps); n > 0 && ps[n-1] == (posting{int32(doc), f}) {
				continue
			}
			ix.postings[tok] = append(ps, posting{int32(doc), f})
		}
	}
	ix.keys = make([]string, len(docs))
	for i, d := range docs {
		ix.keys[i] = d.Catalog + "." + d.Schema + "." + d.Table + "." + d.Column
		if d.Kind == KindColumn {
			add(i, fieldName, d.Column)
			add(i, fieldTable, d.Table)
		} else {
			add(i, fieldName, d.Table)
			add(i, fieldTable, d.Schema)
		}
		for _, t := range d.Tags {
			add(i, fieldTags, t)
		}
		add(i, fieldDescription, d.Description)
	}
	for tok := range ix.postings {
		ix.vocab = append(ix.vocab, tok)
		n := len([]rune(tok))
		ix.byLen[n] = append(ix.byLen[n], tok)
	}
	slices.Sort(ix.vocab)
	return ix
}

// Len is the number of documents.
func (ix *Index) Len() int { return len(ix.docs) }

// Terms are the words Search looks for in text.
func Terms(text string) []string { return tokens(text) }

// tokens splits text into lower-case words of letters and digits:
// "total_revenue", "pii:email" and "Total Revenue" give two each.
func tokens(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// quality of a query term matching a token: exact 1, prefix 0.7, one
// edit 0.5, two edits (long terms only) 0.35.
func (ix *Index) matches(term string) map[string]float64 {
	out := map[string]float64{}
	if _, ok := ix.postings[term]; ok {
		out[term] = 1
	}
	n := len([]rune(term))
	if n >= 3 {
		i, _ := slices.BinarySearch(ix.vocab, term)
		for ; i < len(ix.vocab) && strings.HasPrefix(ix.vocab[i], term); i++ {
			if ix.vocab[i] != term {
				out[ix.vocab[i]] = 0.7
			}
		}
	}
	maxEdits := 0
	switch {
	case n >= 8:
		maxEdits = 2
	case n >= 4:
		maxEdits = 1
	}
	for l := n - maxEdits; l <= n+maxEdits; l++ {
		for _, tok := range ix.byLen[l] {
			if _, done := out[tok]; done {
				continue
			}
			if d := EditDistance(term, tok, maxEdits); d <= maxEdits {
				out[tok] = max(out[tok], 0.5-0.15*float64(d-1))
			}
		}
	}
	return out
}

// Search returns up to limit documents matching text that allow admits,
// best first. allow is the caller's policy (nil admits everything).
func (ix *Index) Search(text string, limit int, allow func(Doc) bool) []Hit {
	terms := slices.Compact(slices.Sorted(slices.Values(tokens(text))))
	if len(terms) == 0 || limit <= 0 {
		return nil
	}
	// Dense per-document accumulators: a search over a large catalog
	// touches tens of thousands of postings, which maps would make slow.
	var (
		score    = make([]float64, len(ix.docs))
		matched  = make([]uint8, len(ix.docs)) // terms matched
		fieldSet = make([]uint8, len(ix.docs)) // bit per field that matched
		best     = make([]float64, len(ix.docs))
		bestF    = make([]field, len(ix.docs))
		found    []int32
		touched  []int32
	)
	for _, term := range terms {
		touched = touched[:0]
		for tok, q := range ix.matches(term) {
			for _, p := range ix.postings[tok] {
				s := weights[p.field] * q
				if best[p.doc] == 0 {
					touched = append(touched, p.doc)
				}
				if s > best[p.doc] {
					best[p.doc], bestF[p.doc] = s, p.field
				}
			}
		}
		for _, d := range touched {
			if matched[d] == 0 {
				found = append(found, d)
			}
			score[d] += best[d]
			matched[d]++
			fieldSet[d] |= 1 << bestF[d]
			best[d] = 0
		}
	}
	// Best first: a heap of the candidates, popped until limit are
	// admitted, so a large result is never sorted whole.
	less := func(a, b int32) bool {
		if matched[a] != matched[b] {
			return matched[a] > matched[b]
		}
		if score[a] != score[b] {
			return score[a] > score[b]
		}
		if ka, kb := kindRank(ix.docs[a].Kind), kindRank(ix.docs[b].Kind); ka != kb {
			return ka < kb
		}
		return ix.keys[a] < ix.keys[b]
	}
	h := candidateHeap{items: found, less: less}
	h.init()
	var out []Hit
	for len(out) < limit && len(h.items) > 0 {
		d := h.pop()
		doc := ix.docs[d]
		if allow != nil && !allow(doc) {
			continue
		}
		hit := Hit{Doc: doc, Score: score[d]}
		for f := range fields {
			if fieldSet[d]&(1<<f) != 0 {
				hit.Matched = append(hit.Matched, fieldNames[f])
			}
		}
		out = append(out, hit)
	}
	return out
}

// candidateHeap is a binary heap of document numbers under less.
type candidateHeap struct {
	items []int32
	less  func(a, b int32) bool
}

func (h *candidateHeap) init() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *candidateHeap) pop() int32 {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	h.down(0)
	return top
}

func (h *candidateHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.items) {
			return
		}
		m := l
		if r := l + 1; r < len(h.items) && h.less(h.items[r], h.items[l]) {
			m = r
		}
		if !h.less(h.items[m], h.items[i]) {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

func kindRank(k string) int {
	if k == KindTable {
		return 0
	}
	return 1
}

// EditDistance is the optimal-string-alignment distance of a and b by
// runes (an insertion, deletion, substitution or transposition of
// neighbours is one edit), or limit+1 once it exceeds limit.
func EditDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
