package output

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrUnknownFormat means a format is not one Render knows.
var ErrUnknownFormat = errors.New("unknown output format")

// Output formats.
const (
	FormatTable   = "table"
	FormatCSV     = "csv"
	FormatJSON    = "json"
	FormatParquet = "parquet"
)

// DefaultMaxRows is how many rows the table format shows by default.
const DefaultMaxRows = 40

// sink writes a stream of record batches in one format. close is always
// called: after the last write, or with failed set after an error, when a
// sink must not make its output look complete (a table is not drawn, a
// Parquet file gets no footer).
type sink interface {
	write(rec arrow.RecordBatch) error
	close(failed bool) error
}

// Render writes every batch of rdr to w in format ("table", "csv", "json"
// or "parquet"; "" means "table"). maxRows limits the rows the table format
// shows (0 means DefaultMaxRows); the other formats write every row. Render
// does not release rdr.
func Render(ctx context.Context, w io.Writer, format string, rdr array.RecordReader, maxRows int) error {
	return RenderWith(ctx, w, format, rdr, maxRows, memory.DefaultAllocator)
}

// RenderWith is Render with the allocator the Parquet writer buffers in.
func RenderWith(ctx context.Context, w io.Writer, format string, rdr array.RecordReader, maxRows int, mem memory.Allocator) (err error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	s, err := newSink(w, format, rdr.Schema(), maxRows, mem)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.close(err != nil); cerr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", format, cerr)
		}
	}()
	for rdr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.write(rdr.RecordBatch()); err != nil {
			return fmt.Errorf("write %s: %w", format, err)
		}
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return ctx.Err()
}

func newSink(w io.Writer, format string, schema *arrow.Schema, maxRows int, mem memory.Allocator) (sink, error) {
	switch format {
	case "", FormatTable:
		return newTableSink(w, schema, maxRows), nil
	case FormatCSV:
		return newCSVSink(w, schema)
	case FormatJSON:
		return newJSONSink(w, schema), nil
	case FormatParquet:
		return newParquetSink(w, schema, mem)
	default:
		return nil, CheckFormat(format)
	}
}

// CheckFormat returns ErrUnknownFormat, explained, for a format Render does
// not know.
func CheckFormat(format string) error {
	switch format {
	case "", FormatTable, FormatCSV, FormatJSON, FormatParquet:
		return nil
	default:
		return fmt.Errorf("%w: %q (want table, csv, json or parquet)", ErrUnknownFormat, format)
	}
}
