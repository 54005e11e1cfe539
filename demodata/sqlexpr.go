package demodata

import (
	"fmt"
	"strings"
)

// choice is one value of a weighted categorical column.
type choice struct {
	value  string // Go string; quoted as a SQL literal by pick
	weight int
}

// hmod returns a SQL expression for hash(key, salt) mod n as a BIGINT: a
// deterministic pseudo-random integer in [0, n) for each key.
func hmod(key, salt string, n int64) string {
	return fmt.Sprintf("CAST(hash(%s, %s) %% %d AS BIGINT)", key, sqlString(salt), n)
}

// pick returns a SQL expression that chooses one of choices for each key,
// with probability proportional to its weight. Each value is repeated weight
// times in a constant list so the choice is one list lookup.
func pick(key, salt string, choices []choice) string {
	var items []string
	for _, c := range choices {
		for range c.weight {
			items = append(items, sqlString(c.value))
		}
	}
	return fmt.Sprintf("list_element([%s], %s + 1)", strings.Join(items, ", "), hmod(key, salt, int64(len(items))))
}

// pickUniform chooses one of values with equal probability.
func pickUniform(key, salt string, values []string) string {
	choices := make([]choice, len(values))
	for i, v := range values {
		choices[i] = choice{value: v, weight: 1}
	}
	return pick(key, salt, choices)
}

// pickInt is pick for integer values, returning a BIGINT expression.
func pickInt(key, salt string, values []int64, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	return fmt.Sprintf("list_element(%s, %s + 1)", int64List(values, weights), hmod(key, salt, int64(total)))
}

// int64List renders a BIGINT list literal, repeating values[i] weights[i]
// times when weights is given.
func int64List(values []int64, weights []int) string {
	var items []string
	for i, v := range values {
		n := 1
		if weights != nil {
			n = weights[i]
		}
		for range n {
			items = append(items, fmt.Sprint(v))
		}
	}
	return "[" + strings.Join(items, ", ") + "]::BIGINT[]"
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// sqlList renders values as a SQL list literal of strings.
func sqlList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = sqlString(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
