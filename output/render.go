package output

import (
	"bufio"
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
	// FormatMarkdown is a GitHub-flavoured Markdown table of every row.
	FormatMarkdown = "markdown"
	// FormatLine is one "column = value" line per value, rows apart (DuckDB's .mode line).
	FormatLine = "line"
)

// Options configure RenderOptions.
type Options struct {
	// Format is one of the Format constants; "" is table.
	Format string
	// MaxRows limits the rows the table format shows; 0 is DefaultMaxRows.
	MaxRows int
	// Width is the widest line the table format draws; 0 is 120.
	Width int
	// Allocator is where the Parquet writer buffers; nil is the default.
	Allocator memory.Allocator
}

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
func RenderWith(ctx context.Context, w io.Writer, format string, rdr array.RecordReader, maxRows int, mem memory.Allocator) error {
	return RenderOptions(ctx, w, rdr, Options{Format: format, MaxRows: maxRows, Allocator: mem})
}

// RenderOptions writes every batch of rdr to w as o says.
func RenderOptions(ctx context.Context, w io.Writer, rdr array.RecordReader, o Options) (err error) {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Width <= 0 {
		o.Width = tableWidth
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	format := o.Format
	s, err := newSink(w, o, rdr.Schema())
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

func newSink(w io.Writer, o Options, schema *arrow.Schema) (sink, error) {
	switch o.Format {
	case "", FormatTable:
		return newTableSink(w, schema, o.MaxRows, o.Width), nil
	case FormatCSV:
		return newCSVSink(w, schema)
	case FormatJSON:
		return newJSONSink(w, schema), nil
	case FormatParquet:
		return newParquetSink(w, schema, o.Allocator)
	case FormatMarkdown:
		return &markdownSink{w: bufio.NewWriter(w), schema: schema}, nil
	case FormatLine:
		return &lineSink{w: bufio.NewWriter(w), schema: schema}, nil
	default:
		return nil, CheckFormat(o.Format)
	}
}

// CheckFormat returns ErrUnknownFormat, explained, for a format Render does
// not know.
func CheckFormat(format string) error {
	switch format {
	case "", FormatTable, FormatCSV, FormatJSON, FormatParquet, FormatMarkdown, FormatLine:
		return nil
	default:
		return fmt.Errorf("%w: %q (want table, csv, json, parquet, markdown or line)", ErrUnknownFormat, format)
	}
}
