package harness

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Query is one statement of the shared e2e corpus.
type Query struct {
	Name    string
	SQL     string
	Ordered bool // rows must come back in exactly this order
	Line    int  // line of the `-- name:` header, for messages
}

var (
	nameLine    = regexp.MustCompile(`^--\s*name:\s*(\S+)\s*$`)
	orderedLine = regexp.MustCompile(`^--\s*ordered\s*$`)
	validName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// LoadQueries parses the corpus format: blocks that start with
// `-- name: <identifier>`, optionally followed directly by `-- ordered`; the
// statement is the remaining lines up to the next header, trimmed, with a
// trailing `;` removed (and any comment-only lines after it). Lines before
// the first header are ignored.
func LoadQueries(path string) ([]Query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open corpus: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	queries, err := parseQueries(bufio.NewScanner(f))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return queries, nil
}

func parseQueries(sc *bufio.Scanner) ([]Query, error) {
	var (
		queries []Query
		cur     *Query
		body    []string
		header  bool // just after `-- name:`, where `-- ordered` may appear
		seen    = map[string]int{}
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		// Comment-only lines after the statement (e.g. a section heading
		// before the next block) are not part of it.
		for len(body) > 0 {
			last := strings.TrimSpace(body[len(body)-1])
			if last != "" && !strings.HasPrefix(last, "--") {
				break
			}
			body = body[:len(body)-1]
		}
		stmt := strings.TrimSpace(strings.Join(body, "\n"))
		stmt = strings.TrimSpace(strings.TrimSuffix(stmt, ";"))
		if stmt == "" {
			return fmt.Errorf("line %d: query %s has no statement", cur.Line, cur.Name)
		}
		cur.SQL = stmt
		queries = append(queries, *cur)
		return nil
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if m := nameLine.FindStringSubmatch(trimmed); m != nil {
			if err := flush(); err != nil {
				return nil, err
			}
			if !validName.MatchString(m[1]) {
				return nil, fmt.Errorf("line %d: query name %q is not an identifier", lineNo, m[1])
			}
			if prev, dup := seen[m[1]]; dup {
				return nil, fmt.Errorf("line %d: query name %s already used on line %d", lineNo, m[1], prev)
			}
			seen[m[1]] = lineNo
			cur = &Query{Name: m[1], Line: lineNo}
			body = nil
			header = true
			continue
		}
		if header && orderedLine.MatchString(trimmed) {
			cur.Ordered = true
			header = false
			continue
		}
		header = false
		if cur != nil {
			body = append(body, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return queries, nil
}
