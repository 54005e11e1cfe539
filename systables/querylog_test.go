package systables

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/storage"
)

func record(id, principal string, rows int64) QueryRecord {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return QueryRecord{
		ID: id, Principal: principal, SQL: "SELECT " + id, State: StateFinished,
		Submitted: now.Add(-time.Second), Finished: now, Queued: 3 * time.Millisecond, Planning: 5 * time.Millisecond,
		Execution: time.Second, Rows: rows, Bytes: rows * 8, Tables: []string{"demo.plays"}, Strategy: "scan",
		Fragments: 2, FragmentsDone: 2, Workers: []string{"w1", "w2"}, Stages: 2, SpoolRows: rows * 3, SpoolBytes: rows * 40, SpillBytes: rows * 100,
	}
}

// TestQueryHistoryFromBeforeStages reads a history file written before
// stages and the spool were recorded: those read as zero.
func TestQueryHistoryFromBeforeStages(t *testing.T) {
	want := record("old", "alice", 5)
	rec := encodeQueries(memory.DefaultAllocator, []QueryRecord{want})
	defer rec.Release()
	old := array.NewRecordBatch(arrow.NewSchema(queriesSchema.Fields()[:historyColumnsV1], nil), rec.Columns()[:historyColumnsV1], rec.NumRows())
	defer old.Release()
	got, err := decodeQueries(old)
	require.NoError(t, err)
	full := want
	want.Stages, want.SpoolRows, want.SpoolBytes, want.SpillBytes = 0, 0, 0, 0
	require.Equal(t, []QueryRecord{want}, got)

	// Written before spill was recorded: it reads as zero.
	v2 := array.NewRecordBatch(arrow.NewSchema(queriesSchema.Fields()[:historyColumnsV2], nil), rec.Columns()[:historyColumnsV2], rec.NumRows())
	defer v2.Release()
	got, err = decodeQueries(v2)
	require.NoError(t, err)
	want = full
	want.SpillBytes = 0
	require.Equal(t, []QueryRecord{want}, got)

	got, err = decodeQueries(rec)
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
}
