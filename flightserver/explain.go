package flightserver

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/quiver-data/quiver/planner"
)

// explainSchema is what `EXPLAIN <query>` returns: one row per step.
var explainSchema = arrow.NewSchema([]arrow.Field{
	{Name: "step", Type: arrow.BinaryTypes.String},
	{Name: "detail", Type: arrow.BinaryTypes.String},
}, nil)

type explainRow struct{ step, detail string }

// explain describes a plan: its strategy (and why it fell back to one
// fragment), each fragment with the worker its files are grouped for,
// the merge step, and per table the files read and pruned.
func explain(plan *planner.Plan) []explainRow {
	d := plan.Decisions
	strategy := d.Strategy
	if strategy == "" {
		strategy = "single"
	}
	parts := []string{strategy}
	if d.Split != "" {
		parts = append(parts, "split "+d.Split)
	}
	if len(d.Broadcast) > 0 {
		parts = append(parts, "broadcast "+strings.Join(d.Broadcast, ", "))
	}
	if d.Fallback != "" {
		parts = append(parts, "fallback: "+d.Fallback)
	}
	rows := []explainRow{{"strategy", strings.Join(parts, "; ")}}
	for i, f := range plan.Fragments {
		w := f.Group
		if w == "" {
			w = "any"
		}
		rows = append(rows, explainRow{fmt.Sprintf("fragment %d", i), fmt.Sprintf("worker=%s files=%d sql=%s", w, f.Files, f.SQL)})
	}
	if plan.Merge != nil {
		rows = append(rows, explainRow{"merge", plan.Merge.SQL})
	}
	tables := map[string]bool{}
	for t := range d.Files {
		tables[t] = true
	}
	for t := range d.Pruned {
		tables[t] = true
	}
	names := make([]string, 0, len(tables))
	for t := range tables {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		rows = append(rows, explainRow{"table " + t, fmt.Sprintf("files=%d pruned=%d", d.Files[t], d.Pruned[t])})
	}
	return rows
}

// writeRows streams two-column string rows as one batch of schema.
func (s *Server) writeRows(schema *arrow.Schema, rows []explainRow, out flight.DataStreamWriter) error {
	b := array.NewRecordBuilder(s.mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.step)
		b.Field(1).(*array.StringBuilder).Append(r.detail)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	w := flight.NewRecordWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(s.mem))
	if err := w.Write(rec); err != nil {
		w.Close()
		return fmt.Errorf("send rows: %w", err)
	}
	return w.Close()
}
