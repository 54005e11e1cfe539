package output

import "github.com/apache/arrow-go/v18/arrow/array"

// CountingReader counts the rows that pass through it.
type CountingReader struct {
	array.RecordReader
	Rows int64
}

// Next implements array.RecordReader.
func (c *CountingReader) Next() bool {
	if !c.RecordReader.Next() {
		return false
	}
	c.Rows += c.RecordReader.RecordBatch().NumRows()
	return true
}
