package systables

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/lineage"
	"github.com/quiver-data/quiver/storage"
)

func record(id, principal string, rows int64) QueryRecord {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return QueryRecord{
		ID: id, Principal: principal, SQL: "SELECT " + id, State: StateFinished,
		Submitted: now.Add(-time.Second), Finished: now, Queued: 3 * time.Millisecond, Planning: 5 * time.Millisecond,
		Execution: time.Second, Rows: rows, Bytes: rows * 8, Tables: []string{"demo.plays"}, Strategy: "scan",
		Fragments: 2, FragmentsDone: 2, Workers: []string{"w1", "w2"}, Stages: 2, SpoolRows: rows * 3, SpoolBytes: rows * 40, SpillBytes: rows * 100,
		Run: lineage.Run{Report: "daily", RunID: "daily-" + id, Output: "s3://out/" + id + ".csv"},
		Lineage: []lineage.Edge{
			{Output: "n", Source: lineage.Column{Catalog: "quiver", Schema: "demo", Table: "plays", Column: "revenue"}, Kind: lineage.Aggregate},
			{Output: "name", Source: lineage.Column{Catalog: "lake", Schema: "crm", Table: "people", Column: "email"}, Kind: lineage.Expression, Policy: true},
			{Source: lineage.Column{Catalog: "quiver", Schema: "demo", Table: "plays", Column: "device"}, Kind: lineage.Filter, Policy: true},
		},
	}
}

// TestQueryHistoryFromBeforeStages reads a history file written before
// stages and the spool were recorded: those read as zero.
func TestQueryHistoryFromBeforeStages(t *testing.T) {
	want := record("old", "alice", 5)
	rec := encodeQueries(memory.DefaultAllocator, historySchema, []QueryRecord{want})
	defer rec.Release()
	prefix := func(n int) arrow.RecordBatch {
		return array.NewRecordBatch(arrow.NewSchema(historySchema.Fields()[:n], nil), rec.Columns()[:n], rec.NumRows())
	}
	// Each older shape reads with what it lacks as zero.
	for _, old := range []struct {
		columns int
		clear   func(*QueryRecord)
	}{
		{historyColumnsV1, func(r *QueryRecord) { r.Stages, r.SpoolRows, r.SpoolBytes, r.SpillBytes = 0, 0, 0, 0 }}, // before stages
		{historyColumnsV2, func(r *QueryRecord) { r.SpillBytes = 0 }},                                               // before spill
		{historyColumnsV3, func(*QueryRecord) {}},                                                                   // before report runs and lineage
	} {
		batch := prefix(old.columns)
		got, err := decodeQueries(batch)
		batch.Release()
		require.NoError(t, err)
		expect := want
		old.clear(&expect)
		expect.Run, expect.Lineage = lineage.Run{}, nil
		require.Equal(t, []QueryRecord{expect}, got, "%d columns", old.columns)
	}

	got, err := decodeQueries(rec)
	require.NoError(t, err)
	require.Equal(t, []QueryRecord{record("old", "alice", 5)}[0].SpoolBytes, got[0].SpoolBytes)
	require.Equal(t, 2, got[0].Stages)
}

func TestQueryLogSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	wh, err := storage.Open(ctx, t.TempDir(), storage.Options{})
	require.NoError(t, err)
	log := NewQueryLog(QueryLogOptions{Store: wh, Keep: 3})
	b := record("b", "alice", 1)
	log.Record(record("a", "alice", 0))
	log.Record(b)
	require.NoError(t, log.Flush(ctx))
	failed := record("c", "bob", 0)
	failed.State, failed.Error, failed.Finished, failed.Strategy = StateFailed, "boom", time.Time{}, ""
	log.Record(failed)
	log.Record(record("d", "bob", 7))
	require.NoError(t, log.Flush(ctx))
	require.NoError(t, log.Flush(ctx)) // nothing pending: no file
	objs, err := wh.List(ctx, QueriesPrefix)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	tables, err := wh.Tables(ctx)
	require.NoError(t, err)
	require.Empty(t, tables, "history under _system/ is not a warehouse table")

	restarted := NewQueryLog(QueryLogOptions{Store: wh, Keep: 3})
	require.NoError(t, restarted.Load(ctx))
	_, ok := restarted.Lookup("a")
	require.False(t, ok, "only the newest Keep are loaded")
	got, ok := restarted.Lookup("c")
	require.True(t, ok)
	require.Equal(t, failed, got)
	got, ok = restarted.Lookup("b")
	require.True(t, ok)
	require.Equal(t, b, got)

	rec, err := restarted.Rows(ctx, Viewer{Principal: "bob"})
	require.NoError(t, err)
	defer rec.Release()
	require.EqualValues(t, 2, rec.NumRows())
	require.Equal(t, "c", rec.Column(0).(*array.String).Value(0))
	require.True(t, rec.Column(6).IsNull(0), "finished is NULL while unknown")
	rec2, err := restarted.Rows(ctx, Viewer{Principal: "x", Admin: true})
	require.NoError(t, err)
	defer rec2.Release()
	require.EqualValues(t, 3, rec2.NumRows())

	// system.lineage: the restored edges, one row each, by the same rule.
	lin := LineageTable{Log: restarted}
	l, err := lin.Rows(ctx, Viewer{Principal: "bob"})
	require.NoError(t, err)
	defer l.Release()
	require.True(t, lin.Schema().Equal(l.Schema()))
	require.EqualValues(t, 6, l.NumRows(), "two queries of bob's, three edges each")
	col := func(name string) arrow.Array { return l.Column(l.Schema().FieldIndices(name)[0]) }
	require.Equal(t, "c", col("query_id").(*array.String).Value(0))
	require.Equal(t, "s3://out/c.csv", col("output_dataset").(*array.String).Value(0))
	require.Equal(t, "n", col("output_column").(*array.String).Value(0))
	require.Equal(t, "revenue", col("source_column").(*array.String).Value(0))
	require.Equal(t, "lake", col("source_catalog").(*array.String).Value(1))
	require.True(t, col("policy").(*array.Boolean).Value(1))
	require.True(t, col("output_column").IsNull(2), "an indirect edge has no output column")
	require.Equal(t, "filter", col("kind").(*array.String).Value(2))
	all, err := lin.Rows(ctx, Viewer{Principal: "x", Admin: true})
	require.NoError(t, err)
	defer all.Release()
	require.EqualValues(t, 9, all.NumRows())
}
