package detect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/catalogmeta"
	"github.com/quiver-data/quiver/errkind"
	"github.com/quiver-data/quiver/storage"
)

// fakeTables and fakeExec stand in for the catalog and the server.
type fakeTables map[storage.TableName]*storage.Table

func (f fakeTables) Tables(context.Context) ([]storage.TableName, error) {
	var out []storage.TableName
	for n := range f {
		out = append(out, n)
	}
	return out, nil
}

func (f fakeTables) Table(_ context.Context, n storage.TableName) (*storage.Table, error) {
	return f[n], nil
}

type fakeExec struct {
	fail    map[string]bool // table names (in the SQL) whose sample fails
	sqls    []string
	block   chan struct{} // when set, Execute says so on entered and waits
	entered chan struct{}
}

func (f *fakeExec) Execute(_ context.Context, sql string, _ []any) (array.RecordReader, error) {
	f.sqls = append(f.sqls, sql)
	if f.block != nil {
		f.entered <- struct{}{}
		<-f.block
	}
	for name := range f.fail {
		if strings.Contains(sql, name) {
			return nil, errors.New("worker lost")
		}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "contact", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for range 10 {
		b.Append("ann@example.com")
	}
	b.AppendNull()
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 11)
	defer rec.Release()
	return array.NewRecordReader(schema, []arrow.RecordBatch{rec})
}

func TestJobKeepsWhatItCouldNotResample(t *testing.T) {
	cols := []storage.Column{{Name: "contact", Type: arrow.BinaryTypes.String}, {Name: "signed_up", Type: arrow.FixedWidthTypes.Date32}}
	a, b := storage.TableName{Schema: "crm", Name: "a"}, storage.TableName{Schema: "crm", Name: "b"}
	tables := fakeTables{a: {Name: a, Columns: cols}, b: {Name: b, Columns: cols}}
	exec := &fakeExec{}
	job := NewJob(Options{Executor: exec, Tables: tables, Rows: 50})
	sum, err := job.Run(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, sum.Tables)
	require.Equal(t, 2, sum.Findings)
	require.Contains(t, exec.sqls[0], `SELECT CAST("contact" AS VARCHAR) AS "contact" FROM "crm".`)
	require.Contains(t, exec.sqls[0], "USING SAMPLE reservoir(50 ROWS)")
	require.NotContains(t, exec.sqls[0], "signed_up", "a date is not sampled")
	r := job.Results()[0]
	require.Equal(t, Finding{Kind: Email, Confidence: 1, Sampled: 10, Matched: 10, Method: "values"}, r.Finding, "NULLs are not sampled")

	exec.fail = map[string]bool{`"b"`: true}
	sum, err = job.Run(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"crm.b: worker lost"}, sum.Failed)
	require.Len(t, job.Results(), 2, "b keeps its earlier finding")

	// A second run while one is under way is refused.
	exec.fail, exec.block, exec.entered = nil, make(chan struct{}), make(chan struct{}, 2)
	done := make(chan error)
	go func() { _, err := job.Run(context.Background()); done <- err }()
	<-exec.entered
	_, err = job.Run(t.Context())
	require.ErrorIs(t, err, ErrRunning)
	close(exec.block)
	require.NoError(t, <-done)
}

// memStore is a Store in memory; failPut makes Put fail.
type memStore struct {
	objects map[string][]byte
	failPut bool
}

func (m *memStore) Put(_ context.Context, key string, data []byte) error {
	if m.failPut {
		return errors.New("object store down")
	}
	m.objects[key] = slices.Clone(data)
	return nil
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, error) {
	b, ok := m.objects[key]
	if !ok {
		return nil, storage.ErrObjectNotFound
	}
	return b, nil
}

// TestAcceptPersists: an acceptance tags the column, bumps the version
// and survives a new job loading the state; a bad acceptance or one the
// store cannot save changes nothing.
func TestAcceptPersists(t *testing.T) {
	ctx := t.Context()
	store := &memStore{objects: map[string][]byte{}}
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	crm := storage.TableName{Schema: "crm", Name: "people"}
	tables := fakeTables{crm: {Name: crm, Columns: []storage.Column{{Name: "contact", Type: arrow.BinaryTypes.String}}}}
	newJob := func() *Job {
		return NewJob(Options{Executor: &fakeExec{}, Tables: tables, Rows: 50, Store: store, Now: func() time.Time { return now }})
	}
	job := newJob()
	require.NoError(t, job.Load(ctx), "nothing saved yet is no error")
	_, err := job.Accept(ctx, "quiver", "crm", "people", "contact", "", "root")
	require.ErrorIs(t, err, ErrNoFinding, "nothing was detected yet")
	require.Equal(t, errkind.NotFound, errkind.Of(err))

	_, err = job.Run(ctx)
	require.NoError(t, err)
	require.Contains(t, store.objects, StateKey, "a run saves its findings")
	v := job.Version()
	_, err = job.Accept(ctx, "quiver", "crm", "people", "contact", "shoe_size", "root")
	require.ErrorIs(t, err, ErrKind)
	require.Equal(t, errkind.Invalid, errkind.Of(err))
	store.failPut = true
	_, err = job.Accept(ctx, "quiver", "crm", "people", "contact", "", "root")
	require.ErrorContains(t, err, "save detection state: object store down")
	store.failPut = false
	require.Empty(t, job.Tags(), "refused acceptances tag nothing")
	require.Equal(t, v, job.Version())

	a, err := job.Accept(ctx, "QUIVER", "crm", "People", "CONTACT", "", "root")
	require.NoError(t, err)
	require.Equal(t, Acceptance{Catalog: "quiver", Schema: "crm", Table: "people", Column: "contact", Kind: Email, AcceptedBy: "root", AcceptedAt: now}, a,
		"names as the finding spells them, the finding's kind")
	_, err = job.Accept(ctx, "quiver", "crm", "people", "contact", "", "pia")
	require.NoError(t, err, "accepting again replaces the acceptance")
	_, err = job.Accept(ctx, "quiver", "crm", "people", "contact", PersonName, "pia")
	require.NoError(t, err)
	want := map[catalogmeta.Key]map[string][]string{catalogmeta.NewKey("quiver", "crm", "people"): {"contact": {Tag(Email), Tag(PersonName)}}}
	require.Equal(t, want, job.Tags())
	require.Greater(t, job.Version(), v)

	restarted := newJob()
	require.Empty(t, restarted.Tags())
	require.NoError(t, restarted.Load(ctx))
	require.Equal(t, want, restarted.Tags(), "acceptances survive a restart")
	require.Equal(t, job.Results(), restarted.Results(), "and so do the findings")
	require.Positive(t, restarted.Version())

	store.objects[StateKey] = []byte("{not json")
	require.ErrorContains(t, newJob().Load(ctx), "read detection state "+StateKey)
}
