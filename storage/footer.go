package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/quiver-data/quiver/objstore"
)

// footerTail is how much of a file's end the first read fetches: enough for
// the footer of almost every file, so one request usually does.
const footerTail = 64 << 10

var (
	parquetMagic   = []byte("PAR1")
	encryptedMagic = []byte("PARE")
)

// Footer is what the warehouse keeps of one Parquet file's footer.
type Footer struct {
	// Schema is the file's Arrow schema, derived from the Parquet schema
	// alone (an embedded ARROW:schema is ignored, as DuckDB ignores it).
	Schema *arrow.Schema
	// Rows is the file's row count.
	Rows int64
	// RowGroups are the file's row groups in file order.
	RowGroups []RowGroup
}

// RowGroup is one row group's size and statistics.
type RowGroup struct {
	Rows int64
	// Columns is indexed like Footer.Schema's fields. Only top-level
	// primitive columns carry statistics; others are the zero ColumnStats.
	Columns []ColumnStats
}

// ColumnStats are one column chunk's statistics.
//
// Min and Max hold the Go value arrow-go uses for the column's Arrow type
// (int8…int64, uint8…uint64, float32, float64, bool, string, []byte,
// arrow.Date32, arrow.Time32, arrow.Time64, arrow.Timestamp in the type's
// unit, decimal128.Num at the type's scale). Writers may truncate long
// strings, so a string Max is only a bound when the writer kept it whole.
type ColumnStats struct {
	HasMinMax    bool
	Min, Max     any
	HasNullCount bool
	NullCount    int64
}

// readFooter fetches and parses obj's footer: the last min(size, 64 KiB)
// bytes in one request, and the rest of the footer in a second request only
// when it is longer than that.
func readFooter(ctx context.Context, b objstore.Backend, obj Object) (*Footer, int64, error) {
	if obj.Size < 12 {
		return nil, 0, fmt.Errorf("%s: %d bytes is too short for a parquet file: %w", obj.Key, obj.Size, ErrCorruptFile)
	}
	n := min(obj.Size, footerTail)
	tail, err := b.ReadRange(ctx, obj.Key, obj.Size-n, n)
	if err != nil {
		return nil, 0, err
	}
	read := int64(len(tail))
	if int64(len(tail)) != n {
		return nil, read, fmt.Errorf("%s: listed as %d bytes but ends early: %w", obj.Key, obj.Size, ErrCorruptFile)
	}
	switch magic := tail[n-4:]; {
	case bytes.Equal(magic, encryptedMagic):
		return nil, read, fmt.Errorf("%s: encrypted parquet footers are not supported: %w", obj.Key, ErrCorruptFile)
	case !bytes.Equal(magic, parquetMagic):
		return nil, read, fmt.Errorf("%s: no parquet magic at the end (%q): %w", obj.Key, magic, ErrCorruptFile)
	}
	if n == obj.Size && !bytes.Equal(tail[:4], parquetMagic) {
		return nil, read, fmt.Errorf("%s: no parquet magic at the start: %w", obj.Key, ErrCorruptFile)
	}
	size := int64(binary.LittleEndian.Uint32(tail[n-8 : n-4]))
	if size == 0 || size > obj.Size-12 {
		return nil, read, fmt.Errorf("%s: footer length %d does not fit a %d-byte file: %w", obj.Key, size, obj.Size, ErrCorruptFile)
	}
	var raw []byte
	if size+8 <= n {
		raw = tail[n-8-size : n-8]
	} else {
		raw, err = b.ReadRange(ctx, obj.Key, obj.Size-8-size, size)
		if err != nil {
			return nil, read, err
		}
		read += int64(len(raw))
		if int64(len(raw)) != size {
			return nil, read, fmt.Errorf("%s: footer ends early: %w", obj.Key, ErrCorruptFile)
		}
	}
	f, err := parseFooter(raw)
	if err != nil {
		return nil, read, fmt.Errorf("%s: %w: %w", obj.Key, err, ErrCorruptFile)
	}
	return f, read, nil
}

// parseFooter decodes thrift footer bytes. The decoder trusts lengths in
// its input, so a panic on garbage is turned into an error.
func parseFooter(raw []byte) (f *Footer, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("parse footer: %v", r)
		}
	}()
	meta, err := metadata.NewFileMetaData(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("parse footer: %w", err)
	}
	sc, err := pqarrow.FromParquet(meta.Schema, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("convert schema: %w", err)
	}
	leaves := topLevelLeaves(meta.Schema, sc.NumFields())
	sc = textAsString(sc, meta.Schema, leaves)
	f = &Footer{Schema: sc, Rows: meta.GetNumRows()}
	for i := range meta.NumRowGroups() {
		rg := meta.RowGroup(i)
		g := RowGroup{Rows: rg.NumRows(), Columns: make([]ColumnStats, sc.NumFields())}
		for field, leaf := range leaves {
			if leaf < 0 {
				continue
			}
			chunk, err := rg.ColumnChunk(leaf)
			if err != nil {
				return nil, fmt.Errorf("row group %d column %s: %w", i, sc.Field(field).Name, err)
			}
			g.Columns[field] = chunkStats(chunk, sc.Field(field).Type)
		}
		f.RowGroups = append(f.RowGroups, g)
	}
	return f, nil
}

// topLevelLeaves maps each top-level field to its leaf column index, or -1
// for nested fields (whose statistics live on several leaves).
func topLevelLeaves(sc *schema.Schema, fields int) []int {
	out := make([]int, fields)
	root := sc.Root()
	for i := range out {
		out[i] = -1
		if i >= root.NumFields() {
			continue
		}
		if node, ok := root.Field(i).(*schema.PrimitiveNode); ok {
			out[i] = sc.ColumnIndexByNode(node)
		}
	}
	return out
}

// textAsString types top-level JSON and ENUM columns as strings: arrow-go
// reads them as binary, but they hold UTF-8 text and DuckDB reads them as
// VARCHAR.
func textAsString(sc *arrow.Schema, ps *schema.Schema, leaves []int) *arrow.Schema {
	fields := sc.Fields()
	changed := false
	for i, leaf := range leaves {
		if leaf < 0 || fields[i].Type.ID() != arrow.BINARY {
			continue
		}
		switch ps.Column(leaf).LogicalType().(type) {
		case schema.JSONLogicalType, schema.EnumLogicalType:
			fields[i].Type = arrow.BinaryTypes.String
			changed = true
		}
	}
	if !changed {
		return sc
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
}
