package planner

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/storage"
)

// fakeCatalog serves fixed tables (fakes are fine in unit tests).
type fakeCatalog map[storage.TableName]*storage.Table

func (c fakeCatalog) Table(_ context.Context, n storage.TableName) (*storage.Table, error) {
	if t, ok := c[n]; ok {
		return t, nil
	}
	return nil, storage.ErrTableNotFound
}

func newTestPlanner(t *testing.T) *Planner {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	plays := storage.TableName{Schema: "demo", Name: "plays"}
	titles := storage.TableName{Schema: "demo", Name: "titles"}
	cat := fakeCatalog{
		plays: {
			Name: plays,
			Files: []storage.File{
				{URI: "/wh/demo/plays/day=2025-01-01/data_0.parquet"},
				{URI: "/wh/demo/plays/day=2025-01-02/it's.parquet"},
			},
			Columns: []storage.Column{{Name: "device", Type: arrow.BinaryTypes.String},
				{Name: "day", Type: arrow.FixedWidthTypes.Date32}},
			Partitions: []storage.Column{{Name: "day", Type: arrow.FixedWidthTypes.Date32}},
		},
		titles: {Name: titles, Files: []storage.File{{URI: "s3://b/wh/demo/titles/titles.parquet"}}},
	}
	return New(Options{Parser: db, Catalog: cat, TypeName: engine.DuckDBType})
}

func TestPlanRewritesTables(t *testing.T) {
	p := newTestPlanner(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		sql      string
		fragment string
		probe    string
		tables   int
		params   int
	}{
		{
			name:     "partitioned table keeps its name as alias",
			sql:      "SELECT day, count(*) FROM demo.plays WHERE plays.device = 'tv' GROUP BY day",
			fragment: `SELECT "day", count_star() FROM (SELECT device, "day" FROM read_parquet(list_value('/wh/demo/plays/day=2025-01-01/data_0.parquet', '/wh/demo/plays/day=2025-01-02/it''s.parquet'), (hive_partitioning = true), (hive_types = struct_pack("day" := 'DATE')))) AS plays WHERE (plays.device = 'tv') GROUP BY "day" ORDER BY COLUMNS(*)`,
			probe:    `SELECT "day", count_star() FROM demo.plays WHERE (plays.device = 'tv') GROUP BY "day" LIMIT 0`,
			tables:   1,
		},
		{
			name:     "catalog-qualified name and alias",
			sql:      "SELECT t.name FROM quiver.demo.titles t LIMIT 3",
			fragment: `SELECT t."name" FROM read_parquet(list_value('s3://b/wh/demo/titles/titles.parquet'), (hive_partitioning = false)) AS t LIMIT 3`,
			probe:    `SELECT t."name" FROM demo.titles AS t LIMIT 0`,
			tables:   1,
		},
		{
			name:   "cte names are not tables",
			sql:    "WITH titles AS (SELECT 1 AS x) SELECT * FROM titles, demo.titles",
			tables: 1,
		},
		{
			name:   "subquery and parameters",
			sql:    "SELECT count(*) FROM demo.plays WHERE title_id IN (SELECT title_id FROM demo.titles WHERE kind = ?) AND device = ?",
			tables: 2,
			params: 2,
		},
		{
			name:   "no tables",
			sql:    "SELECT 42 AS answer",
			tables: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := p.Plan(ctx, tc.sql)
			require.NoError(t, err)
			require.Len(t, plan.Tables, tc.tables)
			require.Equal(t, tc.params, plan.Params)
			require.Len(t, plan.Fragments, 1)
			require.NotContains(t, plan.Fragments[0].SQL, "demo.")
			if tc.fragment != "" {
				require.Equal(t, tc.fragment, plan.Fragments[0].SQL)
			}
			if tc.probe != "" {
				require.Equal(t, tc.probe, plan.Probe)
			}
			require.Contains(t, plan.Probe, "LIMIT 0")

			typed, err := p.Type(ctx, tc.sql)
			require.NoError(t, err)
			require.Equal(t, plan.Probe, typed.Probe, "GetSchema types with the same probe GetFlightInfo does")
			require.Equal(t, plan.Params, typed.Params)
			require.Equal(t, plan.Tables, typed.Tables)
			require.Empty(t, typed.Fragments, "typing plans no fragments")
		})
	}
}

func TestPlanErrors(t *testing.T) {
	p := newTestPlanner(t)
	cases := []struct {
		name string
		sql  string
		is   error
		msg  string
	}{
		{"syntax", "SELEC 1", ErrSyntax, `syntax error at or near "SELEC"`},
		{"unknown table", "SELECT * FROM demo.nope", ErrTableNotFound, "demo.nope"},
		{"other catalog", "SELECT * FROM other.demo.plays", ErrTableNotFound, "other.demo.plays"},
		{"ddl", "CREATE TABLE x (a INT)", ErrUnsupported, "read-only"},
		{"two statements", "SELECT 1; SELECT 2", ErrUnsupported, "one statement"},
		{"empty", "  ", ErrSyntax, "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Plan(context.Background(), tc.sql)
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.msg)
			_, err = p.Type(context.Background(), tc.sql)
			require.ErrorIs(t, err, tc.is, "typing refuses what planning refuses")
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// barrierCatalog answers a lookup only once `want` lookups are waiting at
// once, so a planner that resolves tables one after another never gets
// past the first (and fails on the guard instead).
type barrierCatalog struct {
	fakeCatalog
	want    int
	mu      sync.Mutex
	waiting int
	all     chan struct{}
}

func (c *barrierCatalog) Table(ctx context.Context, n storage.TableName) (*storage.Table, error) {
	c.mu.Lock()
	c.waiting++
	if c.waiting == c.want {
		close(c.all)
	}
	c.mu.Unlock()
	select {
	case <-c.all:
		return c.fakeCatalog.Table(ctx, n)
	case <-time.After(30 * time.Second):
		return nil, errors.New("lookups were not concurrent")
	}
}

func TestPlanResolvesTablesConcurrently(t *testing.T) {
	p := newTestPlanner(t)
	cat := &barrierCatalog{fakeCatalog: p.opts.Catalog.(fakeCatalog), want: 2, all: make(chan struct{})}
	p.opts.Catalog = cat
	plan, err := p.Plan(context.Background(), "SELECT count(*) FROM demo.plays p JOIN demo.titles t USING (title_id) JOIN demo.plays q USING (title_id)")
	require.NoError(t, err)
	require.Len(t, plan.Tables, 2, "each table once, in statement order")
	require.Equal(t, "plays", plan.Tables[0].Name.Name)
	require.Equal(t, "titles", plan.Tables[1].Name.Name)
	require.Equal(t, 2, cat.waiting, "one lookup per distinct table")
}

func TestPlanReportsFirstMissingTableInStatementOrder(t *testing.T) {
	p := newTestPlanner(t)
	for range 20 { // lookups finish in any order; the error must not
		_, err := p.Plan(context.Background(), "SELECT * FROM demo.nope1, demo.titles, demo.nope2")
		require.ErrorIs(t, err, ErrTableNotFound)
		require.ErrorContains(t, err, "demo.nope1")
	}
}
