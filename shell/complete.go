package shell

import (
	"context"
	"sort"
	"strings"
)

// keywords are the SQL words completion offers.
var keywords = []string{
	"SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "OFFSET", "JOIN", "LEFT", "RIGHT", "FULL",
	"INNER", "OUTER", "CROSS", "ON", "USING", "AS", "AND", "OR", "NOT", "IN", "EXISTS", "BETWEEN", "LIKE", "ILIKE",
	"IS", "NULL", "DISTINCT", "UNION", "ALL", "INTERSECT", "EXCEPT", "WITH", "CASE", "WHEN", "THEN", "ELSE", "END",
	"ASC", "DESC", "NULLS", "FIRST", "LAST", "OVER", "PARTITION", "ROLLUP", "CUBE", "GROUPING", "SETS", "QUALIFY",
	"EXPLAIN", "ANALYZE", "DESCRIBE", "count", "sum", "avg", "min", "max", "median", "date_trunc",
}

// dotCommands complete at the start of a line.
var dotCommands = []string{".help", ".tables", ".schema", ".mode", ".timer", ".output", ".refresh", ".quit", ".exit"}

// complete is liner's word completer: the word before pos completed from
// keywords, the catalog's schemas, tables (bare and schema.table) and
// columns, and dot commands at the start of a line.
func (s *Shell) complete(ctx context.Context, line string, pos int) (head string, completions []string, tail string) {
	if pos > len(line) {
		pos = len(line)
	}
	start := strings.LastIndexAny(line[:pos], " \t\n(),;=<>+-*/|") + 1
	head, word, tail := line[:start], line[start:pos], line[pos:]
	if word == "" {
		return head, nil, tail
	}
	return head, s.candidates(ctx, word, strings.TrimSpace(head) == ""), tail
}

// candidates are the completions of word, sorted, without duplicates.
func (s *Shell) candidates(ctx context.Context, word string, lineStart bool) []string {
	seen := map[string]bool{}
	var out []string
	add := func(c string) {
		if len(c) > len(word) && strings.HasPrefix(strings.ToLower(c), strings.ToLower(word)) && !seen[c] {
			seen[c] = true
			out = append(out, word+c[len(word):])
		}
	}
	if strings.HasPrefix(word, ".") && lineStart {
		for _, d := range dotCommands {
			add(d)
		}
		return out
	}
	upper := word == strings.ToUpper(word)
	for _, k := range keywords {
		if upper || k != strings.ToUpper(k) {
			add(k)
		} else {
			add(strings.ToLower(k))
		}
	}
	tables, err := s.tablesOf(ctx)
	if err == nil {
		for _, t := range tables {
			add(t.Schema)
			add(t.Name)
			add(qualified(t))
			for _, c := range t.Columns {
				add(c.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}
