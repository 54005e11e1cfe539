package planner

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quiver-data/quiver/storage"
)

// DuckDB reports errors about the statements the planner renders from a
// client's SQL — the probe (`… LIMIT 0`), the fragments (`read_parquet(
// list_value('/…/warehouse/…'), …)`), the merge — and its binder and
// conversion errors quote the statement they were about in a context line
// with a caret:
//
//	Binder Error: Referenced column "nope" not found in FROM clause!
//
//	LINE 1: SELECT nope FROM shop.orders LIMIT 0
//	               ^
//
// A client must be told about its own statement: ErrorText puts the
// client's line under the caret instead, and removes from every message
// the warehouse's file paths and URIs, read_parquet calls and a LIMIT 0
// the client did not write.

// RenderedError is an error DuckDB reported about a statement the planner
// rendered (a probe, a fragment, a merge) rather than the client's text. It
// carries that statement so ErrorText can find in it the part DuckDB's
// message quotes.
type RenderedError struct {
	SQL string
	Err error
}

func (e *RenderedError) Error() string { return e.Err.Error() }
func (e *RenderedError) Unwrap() error { return e.Err }

// ErrorText rewrites error messages about one client statement so they
// speak of the statement as the client sent it. The zero ErrorText knows
// no statement: it drops context lines and scrubs paths.
type ErrorText struct {
	// SQL is the statement as the client sent it.
	SQL string
	// Rendered are the statements DuckDB ran for it: the probe, the
	// fragments, the merge.
	Rendered []string
	// Tables are the tables it reads: a read_parquet call over their files
	// becomes the table's name, a file URI its key in the warehouse.
	Tables []*storage.Table

	files map[string]*storage.Table // by file URI, while Message runs
}

// NewErrorText is the ErrorText of the client statement sql, planned as
// plan (nil when planning failed); a RenderedError in err adds the
// statement it carries.
func NewErrorText(sql string, plan *Plan, err error) ErrorText {
	t := ErrorText{SQL: sql}
	if plan != nil {
		t.Tables = plan.Tables
		t.Rendered = append(t.Rendered, plan.Probe)
		for _, f := range plan.Fragments {
			t.Rendered = append(t.Rendered, f.SQL)
		}
		if plan.Merge != nil {
			t.Rendered = append(t.Rendered, plan.Merge.SQL, plan.Merge.PartialsProbe)
		}
	}
	var re *RenderedError
	if errors.As(err, &re) {
		t.Rendered = append(t.Rendered, re.SQL)
	}
	return t
}

// contextLine is DuckDB's context: "LINE n: <statement>" and a caret under
// the position, after a blank line.
var contextLine = regexp.MustCompile(`(?:^|\n+)LINE (\d+): ([^\n]*)\n( *)\^`)

// Message is msg as the client may read it: every context line quotes
// the client's statement with the caret where DuckDB's pointed (or is
// removed when that place cannot be found in it), read_parquet calls name
// their tables, file URIs their keys in the warehouse, other absolute
// paths and storage URIs only their last element, and a LIMIT 0 the
// client did not write is gone.
func (t ErrorText) Message(msg string) string {
	t.files = map[string]*storage.Table{}
	for _, tb := range t.Tables {
		for _, f := range tb.Files {
			t.files[f.URI] = tb
		}
	}
	msg = t.contexts(msg)
	msg = t.readParquetCalls(msg)
	msg = t.paths(msg)
	if !limitZeroWord.MatchString(t.SQL) {
		msg = limitZeroWord.ReplaceAllString(msg, "")
	}
	if !strings.Contains(strings.ToLower(t.SQL), "quiver_system") {
		msg = strings.NewReplacer("quiver_system_", "system.", "quiver_system.", "system.").Replace(msg)
	}
	return msg
}

// limitZeroWord is the probe's LIMIT 0, with the space before it.
var limitZeroWord = regexp.MustCompile(`(?i)\s*\bLIMIT\s+0\b`)

// contexts replaces every context line of msg.
func (t ErrorText) contexts(msg string) string {
	var b strings.Builder
	last := 0
	for _, m := range contextLine.FindAllStringSubmatchIndex(msg, -1) {
		b.WriteString(msg[last:m[0]])
		last = m[1]
		line, _ := strconv.Atoi(msg[m[2]:m[3]])
		snippet := msg[m[4]:m[5]]
		// The caret is indented by "LINE n: " and then by the render
		// width of the text before the position.
		col := (m[7] - m[6]) - len("LINE : ") - (m[3] - m[2])
		if pos, ok := t.mapCaret(line, snippet, col); ok {
			b.WriteString("\n\n")
			b.WriteString(quoteLine(t.SQL, pos))
		}
	}
	b.WriteString(msg[last:])
	if last == 0 {
		return msg
	}
	return strings.TrimRight(b.String(), "\n")
}

// mapCaret finds the byte offset in the client's SQL of the place a
// context line points at: column col (in runes) of snippet, which is line
// `line` of one of the rendered statements, shortened with "..." at either
// end when DuckDB truncated it.
func (t ErrorText) mapCaret(line int, snippet string, col int) (int, bool) {
	if t.SQL == "" || col < 0 {
		return 0, false
	}
	core, cut := snippet, false
	if rest, ok := strings.CutPrefix(core, "..."); ok {
		core, cut, col = rest, true, col-3
	}
	core = strings.TrimSuffix(core, "...")
	if col < 0 {
		return 0, false
	}
	off := runeOffset(core, col)
	text, pos := core, off
	for _, r := range t.Rendered {
		l := nthLine(r, line)
		if !cut && strings.HasPrefix(l, core) {
			text, pos = l, off
			break
		}
		if i := strings.Index(l, core); cut && i >= 0 {
			text, pos = l, i+off
			break
		}
	}
	return alignPosition(t.renderedTokens(text), pos, tokenize(t.SQL))
}

// nthLine is line n (1-based) of s, "" when s has fewer.
func nthLine(s string, n int) string {
	for i := 1; i < n; i++ {
		_, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return ""
		}
		s = rest
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// runeOffset is the byte offset of rune n of s (len(s) past its end).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// quoteLine renders the client's line holding byte offset pos as DuckDB
// does: "LINE n: <line>" (a long line cut to 120 characters around pos)
// and a caret under pos.
func quoteLine(sql string, pos int) string {
	const width = 120
	start := strings.LastIndexByte(sql[:pos], '\n') + 1
	end := len(sql)
	if i := strings.IndexByte(sql[pos:], '\n'); i >= 0 {
		end = pos + i
	}
	line := []rune(strings.TrimRight(sql[start:end], "\r"))
	col := utf8.RuneCountInString(sql[start:pos])
	lo, hi, pre, suf := 0, len(line), "", ""
	if len(line) > width {
		lo = max(0, col-width/2)
		hi = min(len(line), lo+width)
		lo = max(0, hi-width)
		if lo > 0 {
			pre = "..."
		}
		if hi < len(line) {
			suf = "..."
		}
	}
	prefix := fmt.Sprintf("LINE %d: ", strings.Count(sql[:pos], "\n")+1)
	return prefix + pre + string(line[lo:hi]) + suf + "\n" +
		strings.Repeat(" ", len(prefix)+len(pre)+col-lo) + "^"
}

// token is one lexical token of a statement: norm is what two spellings
// of it share (identifiers lowercased and unquoted), start and end its
// bytes.
type token struct {
	norm       string
	start, end int
	// word: an identifier, keyword, literal or parameter, not punctuation.
	word bool
}

// tokenize splits SQL into tokens, skipping whitespace and comments. It
// does not need to be exact: tokens only anchor an alignment.
func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case strings.HasPrefix(s[i:], "--"):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(s)
			}
		case strings.HasPrefix(s[i:], "/*"):
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(s)
			}
		case r == '\'':
			j := quotedEnd(s, i, '\'')
			out = append(out, token{norm: s[i:j], start: i, end: j, word: true})
			i = j
		case r == '"':
			j := quotedEnd(s, i, '"')
			name := strings.TrimSuffix(s[i+1:j], `"`)
			out = append(out, token{norm: strings.ToLower(strings.ReplaceAll(name, `""`, `"`)), start: i, end: j, word: true})
			i = j
		case r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || (r == '$' || r == '?'):
			j := i + size
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if r != '_' && r != '$' && r != '.' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				if r == '.' && !unicode.IsDigit(first(s[i:])) {
					break // qualified names are three tokens; 1.5 is one
				}
				j += size
			}
			out = append(out, token{norm: strings.ToLower(s[i:j]), start: i, end: j, word: true})
			i = j
		default:
			out = append(out, token{norm: s[i : i+size], start: i, end: i + size})
			i += size
		}
	}
	return out
}

func first(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// quotedEnd is the end of the quoted string or identifier starting at i
// (a doubled quote is part of it); len(s) when it is not closed.
func quotedEnd(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] != q {
			continue
		}
		if j+1 < len(s) && s[j+1] == q {
			j++
			continue
		}
		return j + 1
	}
	return len(s)
}

// renderedTokens tokenizes a rendered statement with each read_parquet
// call replaced by its table's name (or by nothing when its files are not
// known): the client wrote the name, not the call.
func (t ErrorText) renderedTokens(sql string) []token {
	toks := tokenize(sql)
	out := make([]token, 0, len(toks))
	for i := 0; i < len(toks); i++ {
		if toks[i].norm != "read_parquet" || i+1 >= len(toks) || toks[i+1].norm != "(" {
			out = append(out, toks[i])
			continue
		}
		end := matchingParen(toks, i+1)
		var table *storage.Table
		for _, tok := range toks[i+1 : end] {
			if table = t.tableOf(unquote(tok.norm)); table != nil {
				break
			}
		}
		// The whole call stands for the name: a caret anywhere in it
		// points at the name.
		start, stop := toks[i].start, toks[min(end, len(toks)-1)].end
		if table != nil {
			for _, part := range []string{table.Name.Schema, ".", table.Name.Name} {
				out = append(out, token{norm: strings.ToLower(part), start: start, end: stop, word: part != "."})
			}
		}
		i = end
	}
	return out
}

// matchingParen is the index of the token closing the parenthesis at
// toks[open] (len(toks)-1 when the statement ends first).
func matchingParen(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch toks[i].norm {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(toks) - 1
}

// unquote is the text of a single-quoted SQL string.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return s
	}
	return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
}

// tableOf is the table one of whose files is at uri, if any.
func (t ErrorText) tableOf(uri string) *storage.Table { return t.files[uri] }

// Bounds of the alignment: tokens of the rendered statement on each side
// of the caret, and the client statements it is tried on.
const (
	alignWindow    = 24
	alignMaxTokens = 20000
)

// alignPosition maps byte offset pos of the rendered statement (tokens
// rt) to a byte offset of the client's (tokens ut). The rendered statement
// is the client's with rewrites: parentheses and AS added, keywords
// uppercased, casts spelled out, table references replaced, projections
// added by policies and distribution. So the tokens around the caret are
// aligned with the client's (most matches, fewest gaps, either end of the
// client's statement free), and the caret goes to the client's token
// aligned with the one it points at, or, when that one is the planner's
// own (CAST for ::), to the nearest aligned word after or before it.
func alignPosition(rt []token, pos int, ut []token) (int, bool) {
	k := 0
	for k < len(rt) && rt[k].end <= pos {
		k++
	}
	if k == len(rt) || len(ut) == 0 || len(ut) > alignMaxTokens {
		return 0, false
	}
	lo, hi := max(0, k-alignWindow), min(len(rt), k+alignWindow+1)
	w, k := rt[lo:hi], k-lo
	matched := align(w, ut)
	words, hits := 0, 0
	for i, tok := range w {
		if tok.word {
			words++
			if matched[i] >= 0 {
				hits++
			}
		}
	}
	if hits == 0 || hits*3 < words {
		// Mostly not the client's text (a policy's filter, say): no
		// place in it is the right one.
		return 0, false
	}
	if matched[k] >= 0 {
		return ut[matched[k]].start, true
	}
	for d := 1; d <= 3; d++ {
		if i := k + d; i < len(w) && w[i].word && matched[i] >= 0 {
			return ut[matched[i]].start, true
		}
		if i := k - d; i >= 0 && w[i].word && matched[i] >= 0 && matched[i]+1 < len(ut) {
			return ut[matched[i]+1].start, true
		}
	}
	return 0, false
}

// align aligns w with a stretch of u and returns, for each token of w, the
// index of the token of u it is aligned with, or -1.
func align(w, u []token) []int {
	const match, gap = 4, 1
	const (
		diag byte = iota + 1
		up        // skip a token of w
		left      // skip a token of u
	)
	m, n := len(w), len(u)
	score := make([]int32, (m+1)*(n+1))
	dir := make([]byte, (m+1)*(n+1))
	at := func(i, j int) int { return i*(n+1) + j }
	for i := 1; i <= m; i++ {
		score[at(i, 0)], dir[at(i, 0)] = -int32(i)*gap, up
		for j := 1; j <= n; j++ {
			best, d := score[at(i-1, j)]-gap, up
			if s := score[at(i, j-1)] - gap; s > best {
				best, d = s, left
			}
			if w[i-1].norm == u[j-1].norm {
				if s := score[at(i-1, j-1)] + match; s >= best {
					best, d = s, diag
				}
			}
			score[at(i, j)], dir[at(i, j)] = best, d
		}
	}
	// The client's statement may go on after the stretch.
	j := 0
	for c := 1; c <= n; c++ {
		if score[at(m, c)] > score[at(m, j)] {
			j = c
		}
	}
	matched := make([]int, m)
	for i := range matched {
		matched[i] = -1
	}
	for i := m; i > 0; {
		switch dir[at(i, j)] {
		case diag:
			matched[i-1] = j - 1
			i, j = i-1, j-1
		case up:
			i--
		default:
			j--
		}
	}
	return matched
}

// readParquetCalls replaces the read_parquet calls left in msg (outside
// context lines) by their tables' names.
func (t ErrorText) readParquetCalls(msg string) string {
	lower := strings.ToLower(t.SQL)
	var b strings.Builder
	for {
		i := strings.Index(strings.ToLower(msg), "read_parquet(")
		if i < 0 || strings.Contains(lower, "read_parquet") {
			b.WriteString(msg)
			return b.String()
		}
		end := callEnd(msg, i+len("read_parquet"))
		call := msg[i:end]
		name := "a table"
		for _, tok := range tokenize(call) {
			if tb := t.tableOf(unquote(tok.norm)); tb != nil {
				name = tb.Name.String()
				break
			}
		}
		b.WriteString(msg[:i])
		b.WriteString(name)
		msg = msg[end:]
	}
}

// callEnd is the end of the parenthesized arguments starting at msg[open]:
// past the closing parenthesis, or at the end of the line when DuckDB cut
// the text first.
func callEnd(msg string, open int) int {
	depth := 0
	for i := open; i < len(msg); i++ {
		switch msg[i] {
		case '\'', '"':
			i = quotedEnd(msg, i, msg[i]) - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '\n':
			return i
		}
	}
	return len(msg)
}

// Paths and URIs in messages. A local path has at least two elements and
// starts a word; http(s) URLs keep their host (an S3 endpoint is worth
// knowing) but not their path (the bucket and prefix).
var (
	storageURI = regexp.MustCompile(`(?i)\b(?:s3|s3a|s3n|gs|gcs|r2|az|azure|abfss?|hf|file)://[^\s'"(),;\[\]{}]+`)
	httpURL    = regexp.MustCompile(`(?i)\bhttps?://[^\s'"/(),;\[\]{}]+(/[^\s'"(),;\[\]{}]+)`)
	localPath  = regexp.MustCompile(`(^|[\s'"(=,\[{:])(/[^\s'"(),;\[\]{}/]+(?:/[^\s'"(),;\[\]{}]*)+)`)
)

// paths replaces the warehouse's file URIs by their keys, strips the
// warehouse's root from anything else under it and reduces other paths
// and storage URIs to their last element. Text the client wrote stays.
func (t ErrorText) paths(msg string) string {
	var pairs []string
	for _, tb := range t.Tables {
		for _, f := range tb.Files {
			if strings.Contains(msg, f.URI) && !strings.Contains(t.SQL, f.URI) {
				pairs = append(pairs, f.URI, f.Key)
			}
		}
		if len(tb.Files) > 0 {
			f := tb.Files[0]
			if root, ok := strings.CutSuffix(f.URI, f.Key); ok && root != "" && !strings.Contains(t.SQL, root) {
				pairs = append(pairs, root, "")
			}
		}
	}
	if len(pairs) > 0 {
		msg = strings.NewReplacer(pairs...).Replace(msg)
	}
	keep := func(s string) bool { return strings.Contains(t.SQL, s) }
	msg = storageURI.ReplaceAllStringFunc(msg, func(u string) string {
		if keep(u) {
			return u
		}
		return elided(u)
	})
	msg = replaceGroup(httpURL, msg, 1, func(p string) string {
		if p == "/" || keep(p) {
			return p
		}
		return "/..."
	})
	return replaceGroup(localPath, msg, 2, func(p string) string {
		if keep(p) {
			return p
		}
		return elided(p)
	})
}

// elided is a path or URI reduced to its last element; punctuation that
// ends a sentence stays.
func elided(p string) string {
	trimmed := strings.TrimRight(p, ".:,!?")
	tail := p[len(trimmed):]
	base := path.Base(strings.TrimRight(trimmed, "/"))
	if base == "." || base == "/" {
		return "..." + tail
	}
	return ".../" + base + tail
}

// replaceGroup replaces submatch g of every match of re in s by f of it.
func replaceGroup(re *regexp.Regexp, s string, g int, f func(string) string) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:m[2*g]])
		b.WriteString(f(s[m[2*g]:m[2*g+1]]))
		last = m[2*g+1]
	}
	b.WriteString(s[last:])
	return b.String()
}
