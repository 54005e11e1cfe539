package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/quiver-data/quiver/storage"
	"github.com/quiver-data/quiver/systables"
)

// Run statuses, as system.report_runs shows them.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	// StatusRetrying is an attempt that failed with another to follow.
	StatusRetrying = "retrying"
	// StatusFailed is the last attempt of a run, failed.
	StatusFailed = "failed"
	// StatusSkipped is a due run not started because the previous run of
	// the report was still going (overlap: skip).
	StatusSkipped = "skipped"
	// StatusInterrupted is an attempt whose server stopped or died before
	// it ended.
	StatusInterrupted = "interrupted"
)

// Triggers: why a run happened.
const (
	TriggerSchedule = "schedule"
	TriggerCatchUp  = "catch-up"
	TriggerManual   = "manual"
)

// HistoryPrefix is where the history lives in the warehouse: hidden from
// table discovery by its leading underscore.
const HistoryPrefix = "_system/report_runs/"

// Record is one attempt of one run: a row of system.report_runs.
type Record struct {
	RunID         string
	Report        string
	Principal     string
	Trigger       string
	ScheduledTime time.Time
	StartTime     time.Time
	// EndTime is zero while the attempt runs.
	EndTime   time.Time
	Status    string
	Rows      int64
	Bytes     int64
	OutputURI string
	Error     string
	// Attempt is 1 for the first try; 0 for a skipped run.
	Attempt int
}

// terminal reports whether the run is over for scheduling purposes: it
// succeeded, failed for good or was skipped.
func (r Record) terminal() bool {
	switch r.Status {
	case StatusSucceeded, StatusFailed, StatusSkipped:
		return true
	}
	return false
}

func (r Record) key() string { return fmt.Sprintf("%s-%d", r.RunID, r.Attempt) }

// History is every report run, in memory and persisted as one small
// Parquet file per attempt under HistoryPrefix of the warehouse, rewritten
// when the attempt ends, so it survives restarts. It is the system table
// report_runs.
type History struct {
	wh     *storage.Warehouse
	logger *slog.Logger

	mu      sync.Mutex
	records map[string]Record // by key()
}

// NewHistory is an empty history persisted to wh (nil: memory only),
// for when loading it failed.
func NewHistory(wh *storage.Warehouse, logger *slog.Logger) *History {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &History{wh: wh, logger: logger, records: map[string]Record{}}
}

// OpenHistory loads the history persisted in wh (nil keeps it in memory
// only). Attempts that were running when their server stopped are marked
// interrupted, in memory and in the store.
func OpenHistory(ctx context.Context, wh *storage.Warehouse, logger *slog.Logger) (*History, error) {
	h := NewHistory(wh, logger)
	if wh == nil {
		return h, nil
	}
	objs, err := wh.List(ctx, HistoryPrefix)
	if err != nil {
		return nil, fmt.Errorf("load report history: %w", err)
	}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".parquet") {
			continue
		}
		raw, err := wh.Get(ctx, o.Key)
		if errors.Is(err, storage.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load report history: %w", err)
		}
		recs, err := decodeRecords(raw)
		if err != nil {
			// One unreadable file must not lose the rest of the history.
			logger.Warn("report history file unreadable; skipped", "key", o.Key, "err", err)
			continue
		}
		for _, r := range recs {
			if old, ok := h.records[r.key()]; ok && old.terminal() && !r.terminal() {
				continue
			}
			h.records[r.key()] = r
		}
	}
	for k, r := range h.records {
		if r.Status == StatusRunning {
			r.Status, r.Error = StatusInterrupted, "the server stopped before the attempt ended"
			if r.EndTime.IsZero() {
				r.EndTime = r.StartTime
			}
			h.records[k] = r
			if err := h.persist(ctx, r); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// Put records r (a new attempt or a later state of one) and persists it.
func (h *History) Put(ctx context.Context, r Record) error {
	h.mu.Lock()
	h.records[r.key()] = r
	h.mu.Unlock()
	return h.persist(ctx, r)
}

func (h *History) persist(ctx context.Context, r Record) error {
	if h.wh == nil {
		return nil
	}
	raw, err := encodeRecords([]Record{r})
	if err != nil {
		return err
	}
	key := HistoryPrefix + r.Report + "/" + r.key() + ".parquet"
	if err := h.wh.Put(ctx, key, raw); err != nil {
		return fmt.Errorf("persist report run %s: %w", r.key(), err)
	}
	return nil
}

// Records returns every record, ordered by scheduled time, run and attempt.
func (h *History) Records() []Record {
	h.mu.Lock()
	out := make([]Record, 0, len(h.records))
	for _, r := range h.records {
		out = append(out, r)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.ScheduledTime.Equal(b.ScheduledTime) {
			return a.ScheduledTime.Before(b.ScheduledTime)
		}
		if !a.StartTime.Equal(b.StartTime) {
			return a.StartTime.Before(b.StartTime)
		}
		if a.RunID != b.RunID {
			return a.RunID < b.RunID
		}
		return a.Attempt < b.Attempt
	})
	return out
}

// Of returns the records of one report, in Records order.
func (h *History) Of(report string) []Record {
	var out []Record
	for _, r := range h.Records() {
		if r.Report == report {
			out = append(out, r)
		}
	}
	return out
}

// Name is the system table's name.
func (h *History) Name() string { return "report_runs" }

var historySchema = arrow.NewSchema([]arrow.Field{
	{Name: "report", Type: arrow.BinaryTypes.String},
	{Name: "scheduled_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "start_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "end_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "rows", Type: arrow.PrimitiveTypes.Int64},
	{Name: "bytes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "output_uri", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "attempt", Type: arrow.PrimitiveTypes.Int32},
	{Name: "run_id", Type: arrow.BinaryTypes.String},
	{Name: "principal", Type: arrow.BinaryTypes.String},
	{Name: "trigger", Type: arrow.BinaryTypes.String},
}, nil)

// Schema is the schema of system.report_runs.
func (h *History) Schema() *arrow.Schema { return historySchema }

// Rows returns the records v may see: every one for admins, else the runs
// of reports that run as v's principal.
func (h *History) Rows(ctx context.Context, v systables.Viewer) (arrow.RecordBatch, error) {
	var recs []Record
	for _, r := range h.Records() {
		if v.Admin || r.Principal == v.Principal {
			recs = append(recs, r)
		}
	}
	return buildRecord(memory.DefaultAllocator, recs), nil
}

var _ systables.Table = (*History)(nil)

func buildRecord(mem memory.Allocator, recs []Record) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, historySchema)
	defer b.Release()
	ts := func(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMicro()) }
	optString := func(i int, s string) {
		if s == "" {
			b.Field(i).AppendNull()
		} else {
			b.Field(i).(*array.StringBuilder).Append(s)
		}
	}
	for _, r := range recs {
		b.Field(0).(*array.StringBuilder).Append(r.Report)
		b.Field(1).(*array.TimestampBuilder).Append(ts(r.ScheduledTime))
		b.Field(2).(*array.TimestampBuilder).Append(ts(r.StartTime))
		if r.EndTime.IsZero() {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.TimestampBuilder).Append(ts(r.EndTime))
		}
		b.Field(4).(*array.StringBuilder).Append(r.Status)
		b.Field(5).(*array.Int64Builder).Append(r.Rows)
		b.Field(6).(*array.Int64Builder).Append(r.Bytes)
		optString(7, r.OutputURI)
		optString(8, r.Error)
		b.Field(9).(*array.Int32Builder).Append(int32(r.Attempt))
		b.Field(10).(*array.StringBuilder).Append(r.RunID)
		b.Field(11).(*array.StringBuilder).Append(r.Principal)
		b.Field(12).(*array.StringBuilder).Append(r.Trigger)
	}
	return b.NewRecordBatch()
}

// encodeRecords writes records as one Parquet file.
func encodeRecords(recs []Record) ([]byte, error) {
	rec := buildRecord(memory.DefaultAllocator, recs)
	defer rec.Release()
	b, err := systables.EncodeParquet(rec)
	if err != nil {
		return nil, fmt.Errorf("report runs: %w", err)
	}
	return b, nil
}

// decodeRecords reads a file encodeRecords wrote.
func decodeRecords(raw []byte) ([]Record, error) {
	var out []Record
	err := systables.DecodeParquet(context.Background(), raw, func(rec arrow.RecordBatch) error {
		col := map[string]int{}
		for i, f := range rec.Schema().Fields() {
			col[f.Name] = i
		}
		for _, f := range historySchema.Fields() {
			if _, ok := col[f.Name]; !ok {
				return fmt.Errorf("report runs file lacks column %s", f.Name)
			}
		}
		out = append(out, recordsOf(rec, col)...)
		return nil
	})
	return out, err
}

// recordsOf decodes one batch of a report runs file; col maps column
// names to their index.
func recordsOf(rec arrow.RecordBatch, col map[string]int) []Record {
	var out []Record
	str := func(name string, i int) string {
		a := rec.Column(col[name]).(*array.String)
		if a.IsNull(i) {
			return ""
		}
		return a.Value(i)
	}
	tm := func(name string, i int) time.Time {
		a := rec.Column(col[name]).(*array.Timestamp)
		if a.IsNull(i) {
			return time.Time{}
		}
		return time.UnixMicro(int64(a.Value(i))).UTC()
	}
	for i := range int(rec.NumRows()) {
		out = append(out, Record{
			Report:        str("report", i),
			ScheduledTime: tm("scheduled_time", i),
			StartTime:     tm("start_time", i),
			EndTime:       tm("end_time", i),
			Status:        str("status", i),
			Rows:          rec.Column(col["rows"]).(*array.Int64).Value(i),
			Bytes:         rec.Column(col["bytes"]).(*array.Int64).Value(i),
			OutputURI:     str("output_uri", i),
			Error:         str("error", i),
			Attempt:       int(rec.Column(col["attempt"]).(*array.Int32).Value(i)),
			RunID:         str("run_id", i),
			Principal:     str("principal", i),
			Trigger:       str("trigger", i),
		})
	}
	return out
}
