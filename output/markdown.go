package output

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// markdownSink writes a GitHub-flavoured Markdown table of every row:
// numbers right-aligned, pipes in values escaped, NULL as NULL.
type markdownSink struct {
	w      *bufio.Writer
	schema *arrow.Schema
	header bool
}

func (s *markdownSink) writeHeader() {
	s.header = true
	var names, rule []string
	for _, f := range s.schema.Fields() {
		names = append(names, markdownCell(f.Name))
		if isNumeric(f.Type) {
			rule = append(rule, "---:")
		} else {
			rule = append(rule, "---")
		}
	}
	fmt.Fprintf(s.w, "| %s |\n|%s|\n", strings.Join(names, " | "), strings.Join(rule, "|"))
}

func (s *markdownSink) write(rec arrow.RecordBatch) error {
	if !s.header {
		s.writeHeader()
	}
	row := make([]string, rec.NumCols())
	for r := range int(rec.NumRows()) {
		for j, col := range rec.Columns() {
			if col.IsNull(r) {
				row[j] = nullText
				continue
			}
			row[j] = markdownCell(cellString(col, r))
		}
		fmt.Fprintf(s.w, "| %s |\n", strings.Join(row, " | "))
	}
	return nil
}

func (s *markdownSink) close(failed bool) error {
	if failed {
		return nil
	}
	if !s.header {
		s.writeHeader()
	}
	return s.w.Flush()
}

// markdownCell is v on one line with its pipes escaped.
func markdownCell(v string) string {
	return strings.ReplaceAll(printable(v), "|", `\|`)
}

// lineSink writes each value as "column = value", names right-aligned,
// rows apart by an empty line: DuckDB's .mode line.
type lineSink struct {
	w      *bufio.Writer
	schema *arrow.Schema
	rows   int64
}

func (s *lineSink) write(rec arrow.RecordBatch) error {
	width := 0
	for _, f := range s.schema.Fields() {
		width = max(width, displayWidth(printable(f.Name)))
	}
	for r := range int(rec.NumRows()) {
		if s.rows > 0 {
			s.w.WriteString("\n")
		}
		s.rows++
		for j, col := range rec.Columns() {
			v := nullText
			if !col.IsNull(r) {
				v = printable(cellString(col, r))
			}
			fmt.Fprintf(s.w, "%s = %s\n", pad(printable(s.schema.Field(j).Name), width, alignRight), v)
		}
	}
	return nil
}

func (s *lineSink) close(failed bool) error {
	if failed {
		return nil
	}
	return s.w.Flush()
}
