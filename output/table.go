package output

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/text/width"
)

const (
	// tableWidth is the widest line a table may print, borders included.
	tableWidth = 120
	// minColumnWidth is how narrow a column of numbers, times or booleans
	// may be squeezed (cutting its type name) before columns are left out.
	minColumnWidth = 5
	// minTextWidth is how narrow a text column may be squeezed, cutting its
	// values.
	minTextWidth = 12
	ellipsis     = "…"
	nullText     = "NULL"
)

// cell is one formatted value of a shown row.
type cell struct {
	text string
	null bool
}

// tableSink renders a DuckDB-CLI-like box. It keeps only the rows it will
// show: the first head rows and a ring buffer of the last tail rows, already
// formatted, so a result of any size renders in bounded memory.
type tableSink struct {
	w       io.Writer
	schema  *arrow.Schema
	head    [][]cell
	ring    [][]cell
	ringPos int // index of the oldest row once the ring is full
	headCap int
	tailCap int
	total   int64
	width   int // the widest line drawn
}

func newTableSink(w io.Writer, schema *arrow.Schema, maxRows, width int) *tableSink {
	return &tableSink{
		w:       w,
		width:   width,
		schema:  schema,
		headCap: (maxRows + 1) / 2,
		tailCap: maxRows / 2,
	}
}

func (s *tableSink) write(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for r := range n {
		switch {
		case len(s.head) < s.headCap:
			s.head = append(s.head, rowCells(rec, r, s.width))
		case r >= n-s.tailCap:
			// Earlier rows of this batch would be pushed out of the ring by
			// its later rows anyway, so only the last tailCap are formatted.
			s.push(rowCells(rec, r, s.width))
		}
	}
	s.total += int64(n)
	return nil
}

func (s *tableSink) push(row []cell) {
	if len(s.ring) < s.tailCap {
		s.ring = append(s.ring, row)
		return
	}
	s.ring[s.ringPos] = row
	s.ringPos = (s.ringPos + 1) % s.tailCap
}

// tail returns the ring's rows, oldest first.
func (s *tableSink) tail() [][]cell {
	return append(append([][]cell(nil), s.ring[s.ringPos:]...), s.ring[:s.ringPos]...)
}

func rowCells(rec arrow.RecordBatch, r, width int) []cell {
	row := make([]cell, rec.NumCols())
	for j, col := range rec.Columns() {
		if col.IsNull(r) {
			row[j] = cell{text: nullText, null: true}
			continue
		}
		// No column can be wider than the table: cut long values now so
		// a shown row stays small whatever the data.
		row[j] = cell{text: truncate(printable(cellString(col, r)), width)}
	}
	return row
}

func (s *tableSink) close(failed bool) error {
	if failed {
		return nil
	}
	bw := bufio.NewWriter(s.w)
	if err := s.render(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// tableColumn is a column as drawn.
type tableColumn struct {
	index    int // in the schema; -1 for the "…" column standing for left-out ones
	name     string
	typ      string
	numeric  bool
	width    int // wide enough for everything in the column
	minWidth int // how far it may be squeezed
}

func (s *tableSink) render(w *bufio.Writer) error {
	fields := s.schema.Fields()
	rows := append([][]cell(nil), s.head...)
	truncated := s.total > int64(len(s.head)+len(s.ring))
	if truncated {
		rows = append(append(rows, nil), s.tail()...) // nil marks the "…" row
	} else {
		rows = append(rows, s.tail()...)
	}

	all := make([]tableColumn, len(fields))
	for j, f := range fields {
		c := tableColumn{index: j, name: printable(f.Name), typ: TypeName(f.Type), numeric: isNumeric(f.Type)}
		values := 1
		for _, row := range rows {
			if row != nil {
				values = max(values, displayWidth(row[j].text))
			}
		}
		nameWidth := displayWidth(c.name)
		c.width = max(nameWidth, displayWidth(c.typ), values)
		if isText(f.Type) {
			c.minWidth = min(c.width, minTextWidth)
		} else {
			// Numbers, times and booleans are never cut; only a long type
			// name may be.
			c.minWidth = min(c.width, max(values, nameWidth, minColumnWidth))
		}
		all[j] = c
	}
	cols := fitColumns(all, s.width)

	shown := len(rows)
	if truncated {
		shown--
	}
	footer := fmt.Sprintf("%s (%d shown)  %s", plural(s.total, "row"), shown, plural(int64(len(fields)), "column"))
	if shownCols := countShown(cols); shownCols < len(fields) {
		footer += fmt.Sprintf(" (%d shown)", shownCols)
	}
	if len(cols) == 0 {
		_, err := fmt.Fprintln(w, footer)
		return err
	}

	border := func(left, mid, right string) {
		w.WriteString(left)
		for k, c := range cols {
			if k > 0 {
				w.WriteString(mid)
			}
			w.WriteString(strings.Repeat("─", c.width+2))
		}
		w.WriteString(right + "\n")
	}
	line := func(text func(c tableColumn) string, align func(c tableColumn) alignment) {
		for _, c := range cols {
			w.WriteString("│ ")
			w.WriteString(pad(truncate(text(c), c.width), c.width, align(c)))
			w.WriteString(" ")
		}
		w.WriteString("│\n")
	}
	center := func(tableColumn) alignment { return alignCenter }
	byType := func(c tableColumn) alignment {
		if c.numeric {
			return alignRight
		}
		return alignLeft
	}

	border("┌", "┬", "┐")
	line(func(c tableColumn) string { return headerText(c, c.name) }, center)
	line(func(c tableColumn) string { return headerText(c, c.typ) }, center)
	border("├", "┼", "┤")
	for _, row := range rows {
		line(func(c tableColumn) string {
			if row == nil || c.index < 0 {
				return ellipsis
			}
			return row[c.index].text
		}, func(c tableColumn) alignment {
			if row == nil || c.index < 0 {
				return alignCenter
			}
			return byType(c)
		})
	}
	border("└", "┴", "┘")
	w.WriteString(footer + "\n")
	return nil
}

func countShown(cols []tableColumn) int {
	n := 0
	for _, c := range cols {
		if c.index >= 0 {
			n++
		}
	}
	return n
}

func headerText(c tableColumn, text string) string {
	if c.index < 0 {
		return ellipsis
	}
	return text
}

// fitColumns chooses the columns to draw and their widths so a line is at
// most maxWidth wide. Columns give up width down to their minWidth, text
// first (the widest is cut first); when even that does not fit, it keeps as
// many columns from both ends as fit and puts a "…" column in the middle,
// as the DuckDB CLI does.
func fitColumns(all []tableColumn, maxWidth int) []tableColumn {
	lineWidth := func(cols []tableColumn, limit int) int {
		total := 1
		for _, c := range cols {
			total += max(c.minWidth, min(c.width, limit)) + 3
		}
		return total
	}
	cols := all
	if lineWidth(all, 0) > maxWidth {
		gap := tableColumn{index: -1, width: 1, minWidth: 1}
		var left, right []tableColumn
		for i, j := 0, len(all)-1; i <= j; {
			fromLeft := len(left) <= len(right)
			next := all[j]
			if fromLeft {
				next = all[i]
			}
			trial := append(append(append([]tableColumn(nil), left...), gap, next), right...)
			if lineWidth(trial, 0) > maxWidth {
				break
			}
			if fromLeft {
				left = append(left, next)
				i++
			} else {
				right = append([]tableColumn{next}, right...)
				j--
			}
		}
		cols = append(append(append([]tableColumn(nil), left...), gap), right...)
	}
	widest := 0
	for _, c := range cols {
		widest = max(widest, c.width)
	}
	// The largest cap that fits; columns narrower than it keep their width
	// and none goes below its minWidth.
	limit := sort.Search(widest+1, func(k int) bool {
		return lineWidth(cols, k+1) > maxWidth
	})
	out := make([]tableColumn, len(cols))
	for k, c := range cols {
		c.width = max(c.minWidth, min(c.width, limit))
		out[k] = c
	}
	return out
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

type alignment int

const (
	alignLeft alignment = iota
	alignRight
	alignCenter
)

// pad fills s with spaces to display width w.
func pad(s string, w int, a alignment) string {
	gap := w - displayWidth(s)
	if gap <= 0 {
		return s
	}
	switch a {
	case alignRight:
		return strings.Repeat(" ", gap) + s
	case alignCenter:
		return strings.Repeat(" ", gap/2) + s + strings.Repeat(" ", gap-gap/2)
	default:
		return s + strings.Repeat(" ", gap)
	}
}

// truncate cuts s to display width w, ending it with "…" when cut.
func truncate(s string, w int) string {
	if displayWidth(s) <= w {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := runeWidth(r)
		if used+rw > w-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	return b.String() + ellipsis
}

// printable escapes control characters so a value cannot break the box.
func printable(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// displayWidth is the number of terminal cells s occupies.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// runeWidth is 2 for East Asian wide characters, 0 for combining marks and
// zero-width characters, 1 otherwise.
func runeWidth(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	default:
		return 1
	}
}
