package shell

import "strings"

// splitter gathers lines into statements: a statement ends at a ';'
// outside single quotes, double quotes, -- comments and /* */ comments.
type splitter struct {
	buf   strings.Builder
	state scanState
}

// scanState is where the scanner is between lines.
type scanState int

const (
	plain scanState = iota
	inSingle
	inDouble
	inBlock
)

// feed adds a line and returns the statements it completes, each without
// its ';' and trimmed; empty statements are dropped.
func (s *splitter) feed(line string) []string {
	var out []string
	inLine := false // a -- comment ends with the line
	for i := 0; i < len(line); i++ {
		c := line[i]
		next := byte(0)
		if i+1 < len(line) {
			next = line[i+1]
		}
		switch s.state {
		case inSingle:
			if c == '\'' {
				s.state = plain
			}
		case inDouble:
			if c == '"' {
				s.state = plain
			}
		case inBlock:
			if c == '*' && next == '/' {
				s.buf.WriteByte(c)
				i++
				c = next
				s.state = plain
			}
		default:
			if inLine {
				break
			}
			switch {
			case c == '\'':
				s.state = inSingle
			case c == '"':
				s.state = inDouble
			case c == '-' && next == '-':
				inLine = true
			case c == '/' && next == '*':
				s.buf.WriteByte(c)
				i++
				c = next
				s.state = inBlock
			case c == ';':
				if stmt := strings.TrimSpace(s.buf.String()); stmt != "" {
					out = append(out, stmt)
				}
				s.buf.Reset()
				continue
			}
		}
		s.buf.WriteByte(c)
	}
	s.buf.WriteByte('\n')
	return out
}

// pending reports whether an unfinished statement is buffered (text that
// is not only blanks and comments).
func (s *splitter) pending() bool {
	return strings.TrimSpace(stripComments(s.buf.String())) != "" || s.state != plain
}

// rest returns the unfinished statement and forgets it.
func (s *splitter) rest() string {
	r := strings.TrimSpace(s.buf.String())
	s.buf.Reset()
	s.state = plain
	if strings.TrimSpace(stripComments(r)) == "" {
		return ""
	}
	return r
}

// reset forgets the unfinished statement.
func (s *splitter) reset() {
	s.buf.Reset()
	s.state = plain
}

// stripComments removes -- and /* */ comments outside quotes.
func stripComments(text string) string {
	var b strings.Builder
	state := plain
	for i := 0; i < len(text); i++ {
		c := text[i]
		next := byte(0)
		if i+1 < len(text) {
			next = text[i+1]
		}
		switch state {
		case inSingle, inDouble:
			if (state == inSingle && c == '\'') || (state == inDouble && c == '"') {
				state = plain
			}
			b.WriteByte(c)
		case inBlock:
			if c == '*' && next == '/' {
				i++
				state = plain
			}
		default:
			switch {
			case c == '-' && next == '-':
				for i < len(text) && text[i] != '\n' {
					i++
				}
				b.WriteByte('\n')
			case c == '/' && next == '*':
				i++
				state = inBlock
			default:
				if c == '\'' {
					state = inSingle
				} else if c == '"' {
					state = inDouble
				}
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
