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
	rows := []explainRow{{"strategy", describeDecisions(d)}}
	for i, st := range d.Stages {
		spool := "written to the spool"
		if st.Parts > 1 {
			spool = fmt.Sprintf("written to the spool in %d parts", st.Parts)
		}
		if st.Distinct {
			spool += ", each producer's rows deduplicated"
		}
		if st.Counted {
			spool += ", each producer's distinct rows with their counts"
		}
		if st.Fused {
			spool = "its partials written to the spool and merged where they are read"
		}
		rows = append(rows, explainRow{fmt.Sprintf("stage %d", i), fmt.Sprintf("%s: %s; %d fragments, %s", st.Of, describeDecisions(st.Decisions), st.Fragments, spool)})
	}
	if d.Remainder != "" {
		rows = append(rows, explainRow{"remainder", d.Remainder + ", over the stages' outputs"})
	}
	return explainRest(plan, rows)
}

// describeDecisions is EXPLAIN's strategy row: the strategy first, then
// what was split, broadcast, exchanged and why.
func describeDecisions(d planner.Decisions) string {
	strategy := d.Strategy
	if strategy == "" {
		strategy = "single"
	}
	parts := []string{strategy}
	if d.Split != "" {
		split := "split " + d.Split
		if d.Slices > 0 {
			split += fmt.Sprintf(" (its one file in %d slices of row groups)", d.Slices)
		}
		parts = append(parts, split)
	}
	if len(d.Broadcast) > 0 {
		parts = append(parts, "broadcast "+strings.Join(d.Broadcast, ", "))
	}
	if len(d.CoLocated) > 0 {
		parts = append(parts, "co-located "+strings.Join(d.CoLocated, ", "))
	}
	if len(d.Exchanged) > 0 {
		parts = append(parts, "repartition "+strings.Join(d.Exchanged, " and "))
	}
	if d.Derived != "" {
		parts = append(parts, "derived table "+d.Derived)
	}
	if d.Final != "" {
		parts = append(parts, "final "+d.Final)
	}
	if len(d.Stages) > 0 {
		parts = append(parts, fmt.Sprintf("%d stages", len(d.Stages)))
	}
	if d.Fallback != "" {
		parts = append(parts, "fallback: "+d.Fallback)
	}
	return strings.Join(parts, "; ")
}

// explainRest adds the exchanges, fragments, final stage and merge rows.
func explainRest(plan *planner.Plan, rows []explainRow) []explainRow {
	d := plan.Decisions
	for x, ex := range plan.Exchanges {
		rows = append(rows, explainRow{fmt.Sprintf("exchange %d", x),
			fmt.Sprintf("hash(%s) of %s (about %d rows) into %d parts by %d producers", strings.Join(ex.Keys, ", "), ex.Table, ex.Rows, len(plan.Fragments), len(ex.Producers))})
		for i, f := range ex.Producers {
			rows = append(rows, explainRow{fmt.Sprintf("exchange %d producer %d", x, i), fmt.Sprintf("worker=%s files=%d sql=%s", workerOf(f), f.Files, f.SQL)})
		}
	}
	for i, f := range plan.Fragments {
		sql := f.SQL
		switch {
		case sql == "" && len(plan.Exchanges) > 0:
			sql = fmt.Sprintf("(reads part %d of each exchange)", i)
		case sql == "" && len(d.Stages) > 0:
			sql = "(reads the stages' outputs)"
		}
		rows = append(rows, explainRow{fmt.Sprintf("fragment %d", i), fmt.Sprintf("worker=%s files=%d sql=%s", workerOf(f), f.Files, sql)})
	}
	if f := plan.Final; f != nil {
		rows = append(rows, explainRow{"final exchange", fmt.Sprintf("hash(%s) of the fragments' partials (about %d groups) into %d parts by %d producers",
			strings.Join(f.Keys, ", "), f.Groups, f.Parts, len(plan.Fragments))})
		rows = append(rows, explainRow{"final fragments", fmt.Sprintf("up to %d, one per part that holds groups, each over its part: sql=%s", f.Parts, f.SQL())})
		if f.Gather != nil {
			rows = append(rows, explainRow{"merge", f.Gather.SQL})
		}
	} else if plan.Merge != nil {
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
	snapshots := map[string]int64{}
	for _, t := range plan.Tables {
		if t.Iceberg != nil {
			snapshots[t.Name.String()] = t.Iceberg.SnapshotID
		}
	}
	for _, t := range names {
		detail := fmt.Sprintf("files=%d pruned=%d", d.Files[t], d.Pruned[t])
		if id, ok := snapshots[t]; ok {
			detail += fmt.Sprintf(" snapshot=%d", id)
		}
		rows = append(rows, explainRow{"table " + t, detail})
	}
	return rows
}

// workerOf names the worker a fragment's files are grouped for.
func workerOf(f planner.Fragment) string {
	if f.Group == "" {
		return "any"
	}
	return f.Group
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
		_ = w.Close() // the error above is the one to report
		return fmt.Errorf("send rows: %w", err)
	}
	return w.Close()
}
