package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// jsonSink writes newline-delimited JSON: one object per row with the
// columns in schema order (array.RecordToJSON goes through a map, which
// sorts the keys and merges duplicate column names).
type jsonSink struct {
	w    *bufio.Writer
	keys [][]byte // `"name":` per column, encoded once
	line bytes.Buffer
	enc  *json.Encoder // writes into line
}

func newJSONSink(w io.Writer, schema *arrow.Schema) *jsonSink {
	s := &jsonSink{w: bufio.NewWriter(w)}
	s.enc = json.NewEncoder(&s.line)
	s.enc.SetEscapeHTML(false)
	for _, f := range schema.Fields() {
		s.line.Reset()
		_ = s.enc.Encode(f.Name) // a string always encodes
		key := bytes.TrimSuffix(s.line.Bytes(), []byte("\n"))
		s.keys = append(s.keys, append(append([]byte(nil), key...), ':'))
	}
	return s
}

func (s *jsonSink) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for r := range int(rec.NumRows()) {
		s.line.Reset()
		s.line.WriteByte('{')
		for j, col := range cols {
			if j > 0 {
				s.line.WriteByte(',')
			}
			s.line.Write(s.keys[j])
			if col.IsNull(r) {
				s.line.WriteString("null")
				continue
			}
			// Encode appends a newline, which is dropped below.
			if err := s.enc.Encode(jsonValue(col, r)); err != nil {
				return fmt.Errorf("encode column %s: %w", rec.ColumnName(j), err)
			}
			s.line.Truncate(s.line.Len() - 1)
		}
		s.line.WriteString("}\n")
		if _, err := s.w.Write(s.line.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// close flushes the rows written so far, even after a failure.
func (s *jsonSink) close(bool) error {
	return s.w.Flush()
}
