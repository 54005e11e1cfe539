package planner

import (
	"context"

	"github.com/quiver-data/quiver/storage"
)

// PartialsTable is the table the merge statement reads: the union of all
// fragment results, registered by the coordinator.
const PartialsTable = "quiver_partials"

// Plan is a planned query.
type Plan struct {
	// SQL is the statement as the client sent it.
	SQL string
	// Tables are the pinned snapshots of every table the query reads.
	Tables []*storage.Table
	// Probe is the statement with table references normalized to
	// <schema>.<table> and its limit set to 0: run against empty tables of
	// the same types it yields the result schema without computing anything.
	Probe string
	// Params is the number of bind parameters the statement takes.
	Params int
	// Fragments are the statements workers run.
	Fragments []Fragment
	// Merge, when set, runs on the coordinator over the union of all
	// fragment results (the table PartialsTable) and its result is the
	// query's result. When nil the result is the concatenation of the
	// fragment results, in any order, one endpoint per fragment.
	Merge *Merge
	// Explain is true for `EXPLAIN <query>`: the client wants Decisions,
	// not rows.
	Explain bool
	// Local plans read only virtual tables (system tables): their one
	// fragment runs on the coordinator over tables named LocalTableName.
	Local bool
	// Decisions record why the plan looks the way it does.
	Decisions Decisions
}

// Fragment is one unit of work for one worker.
type Fragment struct {
	SQL string
	// Group is the label of the file group of the split table this fragment
	// reads (the Partitioner's label, e.g. the preferred worker); empty when
	// the fragment may run anywhere.
	Group string
	// Files is how many files of the split table it reads.
	Files int
}

// Merge is the coordinator's final step.
type Merge struct {
	// SQL reads PartialsTable.
	SQL string
	// PartialsProbe, run against empty tables, yields the schema of one
	// fragment's result (and so of PartialsTable).
	PartialsProbe string
}

// Decisions describe a plan for EXPLAIN, logs and tests.
type Decisions struct {
	// Strategy is one of "scan", "aggregate", "topk", "distinct", "single".
	Strategy string `json:"strategy"`
	// Split is the table whose files are divided among fragments.
	Split string `json:"split,omitempty"`
	// Broadcast are tables every fragment reads whole.
	Broadcast []string `json:"broadcast,omitempty"`
	// Fallback says why the query runs as a single fragment.
	Fallback string `json:"fallback,omitempty"`
	// Files and Pruned count, per table, the files read and removed by pruning.
	Files  map[string]int `json:"files,omitempty"`
	Pruned map[string]int `json:"pruned,omitempty"`
}

// Partitioner splits a table's files into groups, one fragment each. The
// coordinator's implementation hashes files onto the live workers so that a
// repeated query lands where the files are cached.
type Partitioner interface {
	Partition(files []storage.File) []FileGroup
}

// FileGroup is a set of files with a label (the preferred worker).
type FileGroup struct {
	Label string
	Files []storage.File
}

// Footers returns a file's Parquet footer (cached by ETag);
// *storage.Warehouse is one.
type Footers interface {
	Footer(ctx context.Context, f storage.File) (*storage.Footer, error)
}
