package output

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetRowGroupRows bounds a row group, and so the memory the writer holds
// while it buffers one: batches are appended to the open row group until it
// has this many rows (DuckDB's default row group size).
const parquetRowGroupRows = 122880

// parquetSink streams batches into one Parquet file with zstd compression.
// The Arrow schema is stored in the file so types such as time zones survive
// a round trip.
type parquetSink struct {
	fw  *pqarrow.FileWriter
	out *switchWriter
}

// switchWriter forwards to the output until the result fails; then the
// footer pqarrow writes on Close goes nowhere and the truncated file cannot
// be mistaken for a complete one. It also hides the output's Close: pqarrow
// closes its writer when it is an io.Closer, and that is the caller's
// business.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func newParquetSink(w io.Writer, schema *arrow.Schema, mem memory.Allocator) (*parquetSink, error) {
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows),
	)
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
	out := &switchWriter{w: w}
	fw, err := pqarrow.NewFileWriter(schema, out, props, arrowProps)
	if err != nil {
		return nil, fmt.Errorf("create parquet writer: %w", err)
	}
	return &parquetSink{fw: fw, out: out}, nil
}

func (s *parquetSink) write(rec arrow.RecordBatch) error {
	return s.fw.WriteBuffered(rec)
}

func (s *parquetSink) close(failed bool) error {
	if failed {
		s.out.w = io.Discard
	}
	// Close also frees the writer's buffers, so it runs on failure too.
	return s.fw.Close()
}
