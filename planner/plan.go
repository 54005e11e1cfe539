package planner

import (
	"slices"

	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/planner/prune"
	"github.com/quiver-data/quiver/storage"
)

// PartialsTable is the table the merge statement reads: the union of all
// fragment results, registered by the coordinator.
const PartialsTable = "quiver_partials"

// PartitionColumn is the column an exchange's producers add to every row:
// the part, 0 … parts-1, whose consumer fragment reads the row.
const PartitionColumn = "quiver_part"

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
	// ParamNames name them in binding order, as messages to the client
	// do: "$1" for the first `?` or `$1`, "$name" for `$name`.
	ParamNames []string
	// Fragments are the statements workers run.
	Fragments []Fragment
	// Exchanges run before the fragments: each hash-partitions one
	// table's rows on join keys into len(Fragments) parts, and fragment
	// p reads part p of every exchange. Until Planner.Bind fills them
	// with the parts' files, the fragments' SQL is empty.
	Exchanges []Exchange
	// consumers are the fragments' statement trees, waiting for the
	// exchanges' files (Planner.Bind); exchanged is set once they are bound.
	consumers *consumers
	exchanged bool
	// needsExchange is set for a split that is only exact when it is
	// exchanged with its partner (a side of a FULL join).
	needsExchange bool
	// staging, when set, runs subqueries as stages of their own before the
	// plan's one fragment, which reads their outputs (stages.go).
	staging *staging
	// Final, when set, finishes a grouped aggregate on the workers: the
	// fragments' partials are exchanged on the group keys and one final
	// fragment per part merges its groups (Next, Bind).
	Final *FinalAggregate
	// Merge, when set, runs on the coordinator over the union of all
	// fragment results (the table PartialsTable) and its result is the
	// query's result. When nil the result is the concatenation of the
	// fragment results, in any order, one endpoint per fragment.
	Merge *Merge
	// Explain is true for `EXPLAIN <query>`: the client wants Decisions,
	// not rows. Analyze is true for `EXPLAIN ANALYZE <query>`: the query
	// runs, its rows are counted and dropped, and the client gets the
	// Decisions with what every stage and fragment did.
	Explain bool
	Analyze bool
	// Local plans read only virtual tables (system tables): their one
	// fragment runs on the coordinator over tables named LocalTableName.
	Local bool
	// Decisions record why the plan looks the way it does.
	Decisions Decisions
	// CacheKey identifies the statement's result (Planner.cacheKey):
	// two plans with the same key return the same rows. It is computed
	// only under WithResultProbe, and is "" for a statement whose result
	// may differ between runs, an EXPLAIN, a system-table query and a
	// plan made only to type its result.
	CacheKey string
	// Hit is set when the context's result probe (WithResultProbe) said
	// the caller holds the result of CacheKey: the plan stops there, with
	// its tables, parameters and lineage but no fragments; it cannot run.
	Hit bool
	// Lineage is the query's column lineage, bound over the policy's
	// rewrite; nil for a statement it could not be derived for, a
	// system-table query and a plan made only to type its result.
	Lineage *lineage.Graph
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

// Exchange is a stage that hash-partitions the rows of one table on the
// keys it is joined on, so that the rows of two large tables that join
// meet in the same fragment without either being read whole by every
// fragment (a broadcast). The parts are Parquet files in the spool.
type Exchange struct {
	// Table is the table exchanged (schema.table), for EXPLAIN and logs.
	Table string
	// Keys are its columns the rows are hashed on.
	Keys []string
	// Rows estimates the rows it reads: its pruned files' footer counts.
	Rows int64
	// Producers each read a group of the table's files and return the
	// rows the query needs (its columns, rows its filters keep) with
	// PartitionColumn. The coordinator writes their results into the
	// spool partitioned by PartitionColumn.
	Producers []Fragment
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
	// Strategy is one of "scan", "aggregate", "topk", "distinct", "staged",
	// "single".
	Strategy string `json:"strategy"`
	// Split is the table whose files are divided among fragments.
	Split string `json:"split,omitempty"`
	// Slices, when set, is how many slices of whole row groups the split
	// table's one file was cut into.
	Slices int `json:"slices,omitempty"`
	// Broadcast are tables every fragment reads whole.
	Broadcast []string `json:"broadcast,omitempty"`
	// CoLocated are the joined tables each fragment reads only the files
	// of that can meet its own files of the split table on the join key
	// (colocate.go): "main.orders by o_orderkey ranges of
	// main.lineitem.l_orderkey".
	CoLocated []string `json:"co_located,omitempty"`
	// Exchanged are the tables hash-partitioned on a join key, with the
	// key ("main.lineitem on l_orderkey"): fragment p reads part p.
	Exchanged []string `json:"exchanged,omitempty"`
	// Final describes a FinalAggregate ("k0, k1 (about N groups) into P
	// parts"), or says that the fragments' groups are complete because
	// they group on an exchanged key.
	Final string `json:"final,omitempty"`
	// Derived says why the split table, inside the derived table the
	// query reads, keeps that table's groups whole in every fragment.
	Derived string `json:"derived,omitempty"`
	// Fallback says why the query runs as a single fragment.
	Fallback string `json:"fallback,omitempty"`
	// Stages are the subqueries planned on their own (strategy "staged"),
	// in the order they run; Remainder says where the rest runs and why.
	Stages    []StageDecision `json:"stages,omitempty"`
	Remainder string          `json:"remainder,omitempty"`
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
type Footers = prune.Footers

// Credentials are the S3 credentials Iceberg catalogs vended for the
// plan's tables, once each: every fragment carries them (sealed) to the
// worker that reads the tables' files.
func (p *Plan) Credentials() []storage.S3Credential {
	var out []storage.S3Credential
	for _, t := range p.Tables {
		if t.Iceberg == nil {
			continue
		}
		for _, c := range t.Iceberg.Credentials {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}
