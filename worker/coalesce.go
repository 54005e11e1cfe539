package worker

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// coalescer gathers DuckDB's small chunks into batches of at least target
// rows, or fewer once they hold maxBytes: gRPC clients refuse messages over
// 4 MiB by default, so wide rows must not grow a batch past that.
// Concatenation copies column buffers (memcpy per column), never rows.
type coalescer struct {
	schema   *arrow.Schema
	target   int64
	maxBytes int64
	pending  []arrow.RecordBatch
	rows     int64
	bytes    int64
}

// coalesceMaxBytes keeps coalesced batches well under gRPC's default 4 MiB
// message limit.
const coalesceMaxBytes = 2 << 20

func newCoalescer(schema *arrow.Schema, target int64) *coalescer {
	if target <= 0 {
		target = 1 << 16
	}
	return &coalescer{schema: schema, target: target, maxBytes: coalesceMaxBytes}
}

// add takes a batch the caller still owns; it returns a batch to send (owned
// by the caller) once enough rows are pending.
func (c *coalescer) add(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.NumRows() == 0 {
		return nil, nil
	}
	rec.Retain()
	c.pending = append(c.pending, rec)
	c.rows += rec.NumRows()
	c.bytes += recordBytes(rec)
	if c.rows < c.target && c.bytes < c.maxBytes {
		return nil, nil
	}
	return c.flush()
}

// flush returns what is pending as one batch, or nil.
func (c *coalescer) flush() (arrow.RecordBatch, error) {
	defer c.release()
	switch len(c.pending) {
	case 0:
		return nil, nil
	case 1:
		c.pending[0].Retain()
		return c.pending[0], nil
	}
	cols := make([]arrow.Array, c.schema.NumFields())
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(c.pending))
	for i := range cols {
		for j, rec := range c.pending {
			parts[j] = rec.Column(i)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, fmt.Errorf("coalesce column %s: %w", c.schema.Field(i).Name, err)
		}
		cols[i] = a
	}
	return array.NewRecordBatch(c.schema, cols, c.rows), nil
}

func (c *coalescer) release() {
	for _, r := range c.pending {
		r.Release()
	}
	c.pending, c.rows, c.bytes = nil, 0, 0
}

// recordBytes is the size of the buffers a batch references.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += dataBytes(col.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}
