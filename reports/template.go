package reports

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Template variables of a report's SQL and output URI.
const (
	VarRunDate     = "run_date"     // the logical run's date in the report's zone: 2025-01-31
	VarRunTime     = "run_time"     // the logical run time (the scheduled time)
	VarWindowStart = "window_start" // the previous scheduled time
	VarWindowEnd   = "window_end"   // the scheduled time: the window is [start, end)
)

var knownVars = []string{VarRunDate, VarRunTime, VarWindowStart, VarWindowEnd}

// varRE matches {{ name }} with optional spaces.
var varRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// Template is text with {{ variable }} placeholders. In SQL each
// placeholder becomes a ? parameter and its value is bound, never spliced;
// in an output URI it is rendered as text.
type Template struct {
	raw   string
	parts []part
}

type part struct {
	text string // literal text, when name is ""
	name string
}

// ParseTemplate splits s into literal text and known variables; an unknown
// variable or an unbalanced brace pair is an error naming it.
func ParseTemplate(s string) (Template, error) {
	t := Template{raw: s}
	last := 0
	for _, m := range varRE.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		if !isKnownVar(name) {
			return Template{}, fmt.Errorf("unknown template variable {{ %s }} (known: %s)", name, strings.Join(knownVars, ", "))
		}
		if lit := s[last:m[0]]; lit != "" {
			t.parts = append(t.parts, part{text: lit})
		}
		t.parts = append(t.parts, part{name: name})
		last = m[1]
	}
	if lit := s[last:]; lit != "" {
		t.parts = append(t.parts, part{text: lit})
	}
	for _, p := range t.parts {
		if p.name == "" && (strings.Contains(p.text, "{{") || strings.Contains(p.text, "}}")) {
			return Template{}, fmt.Errorf("unbalanced {{ }} in %q", strings.TrimSpace(p.text))
		}
	}
	return t, nil
}

func isKnownVar(name string) bool {
	for _, k := range knownVars {
		if name == k {
			return true
		}
	}
	return false
}

// String is the template as written.
func (t Template) String() string { return t.raw }

// Vars are the variables in order of appearance (repeats included).
func (t Template) Vars() []string {
	var out []string
	for _, p := range t.parts {
		if p.name != "" {
			out = append(out, p.name)
		}
	}
	return out
}

// SQL is the template with every variable replaced by a ? parameter.
func (t Template) SQL() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name != "" {
			b.WriteString("?")
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// Bind returns SQL() and the values of its parameters, in order.
func (t Template) Bind(p Params) (string, []any) {
	var args []any
	for _, name := range t.Vars() {
		args = append(args, p.value(name))
	}
	return t.SQL(), args
}

// Text renders the template with each variable as text.
func (t Template) Text(p Params) string {
	var b strings.Builder
	for _, part := range t.parts {
		if part.name == "" {
			b.WriteString(part.text)
			continue
		}
		b.WriteString(p.text(part.name))
	}
	return b.String()
}

// Params are the values of one run's variables.
type Params struct {
	// RunTime is the logical (scheduled) time, in the report's zone.
	RunTime time.Time
	// WindowStart is the previous scheduled time before RunTime.
	WindowStart time.Time
}

// sample is a fixed run used to check output templates.
func (Params) sample() Params {
	t := time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)
	return Params{RunTime: t, WindowStart: t.Add(-time.Hour)}
}

// value is what a variable binds to: run_date as a 'YYYY-MM-DD' string
// (DuckDB casts it where a DATE is expected), the times as timestamps.
func (p Params) value(name string) any {
	switch name {
	case VarRunDate:
		return p.RunTime.Format(time.DateOnly)
	case VarRunTime, VarWindowEnd:
		return p.RunTime.UTC()
	case VarWindowStart:
		return p.WindowStart.UTC()
	}
	return nil
}

// text is a variable in an output URI: the date, or RFC 3339 in the
// report's zone.
func (p Params) text(name string) string {
	switch name {
	case VarRunDate:
		return p.RunTime.Format(time.DateOnly)
	case VarRunTime, VarWindowEnd:
		return p.RunTime.Format(time.RFC3339)
	case VarWindowStart:
		return p.WindowStart.Format(time.RFC3339)
	}
	return ""
}
