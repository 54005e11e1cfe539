package output

import (
	"bufio"
	stdcsv "encoding/csv"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/csv"
)

// csvSink writes a header line and then every row with arrow-go's CSV
// writer; NULL is an empty field.
type csvSink struct {
	buf *bufio.Writer
	w   *csv.Writer
}

func newCSVSink(w io.Writer, schema *arrow.Schema) (*csvSink, error) {
	buf := bufio.NewWriter(w)
	// The header is written here rather than by arrow-go, which only writes
	// it with the first batch: an empty result still gets its header.
	header := stdcsv.NewWriter(buf)
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	if err := header.Write(names); err != nil {
		return nil, fmt.Errorf("write csv header: %w", err)
	}
	header.Flush()
	if err := header.Error(); err != nil {
		return nil, fmt.Errorf("write csv header: %w", err)
	}
	return &csvSink{
		buf: buf,
		w: csv.NewWriter(buf, schema,
			csv.WithHeader(false),
			csv.WithNullWriter(""),
			csv.WithCustomTypeConverter(convertCSV),
		),
	}, nil
}

func (s *csvSink) write(rec arrow.RecordBatch) error {
	return s.w.Write(rec)
}

// close flushes the rows written so far even after a failure: like any
// streaming CSV producer, the output then simply stops.
func (s *csvSink) close(bool) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.buf.Flush()
}

// convertCSV formats the types arrow-go's CSV writer does not know (it would
// panic on them) the way the table format does.
func convertCSV(typ arrow.DataType, col arrow.Array) ([]string, bool) {
	switch typ.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.STRING, arrow.LARGE_STRING,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.DECIMAL128, arrow.DECIMAL256,
		arrow.BINARY, arrow.LARGE_BINARY, arrow.NULL:
		return nil, false
	}
	out := make([]string, col.Len())
	for i := range out {
		if col.IsValid(i) {
			out[i] = cellString(col, i)
		}
	}
	return out, true
}
