package planner_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/coordinator"
	"github.com/quiver-data/quiver/demodata"
	"github.com/quiver-data/quiver/engine"
	"github.com/quiver-data/quiver/planner"
	"github.com/quiver-data/quiver/storage"
)

var update = flag.Bool("update", false, "rewrite planner/testdata golden files with the current plans")

// goldenCase is one entry of planner/testdata/<topic>_cases.json (Vitess
// style: scan, aggregate, topk, distinct, prune, fallback).
type goldenCase struct {
	Comment string      `json:"comment"`
	Query   string      `json:"query"`
	Plan    goldenPlan  `json:"plan"`
	Options caseOptions `json:"options,omitempty"`
}

type caseOptions struct {
	// Unordered marks results that are not deterministic as rows (LIMIT
	// without a total order): the differential test compares row counts.
	CountOnly bool `json:"count_only,omitempty"`
	// Args are bound to the statement's parameters in the differential run.
	Args []any `json:"args,omitempty"`
	// BroadcastRows plans the golden case with that exchange threshold.
	BroadcastRows int64 `json:"broadcast_rows,omitempty"`
	// FinalGroups plans it with that final-aggregate threshold.
	FinalGroups int64 `json:"final_groups,omitempty"`
	// Distributed requires that the query be spread over the workers
	// (its strategy is not "single") whenever there are several: the
	// analytical corpus (TestGoldenCoverage counts them).
	Distributed bool `json:"distributed,omitempty"`
	// Ordered compares the rows in the order the query returns them.
	Ordered bool `json:"ordered,omitempty"`
}

type goldenPlan struct {
	Strategy  string         `json:"strategy"`
	Fallback  string         `json:"fallback,omitempty"`
	Split     string         `json:"split,omitempty"`
	Broadcast []string       `json:"broadcast,omitempty"`
	Pruned    map[string]int `json:"pruned,omitempty"`
	Fragments int            `json:"fragments"`
	Fragment  string         `json:"fragment"`
	Merge     string         `json:"merge,omitempty"`
	// Exchanged and Producer (the first exchange's first producer) are
	// set for repartitioned plans, whose fragments are rendered with
	// every part empty.
	Exchanged []string `json:"exchanged,omitempty"`
	Producer  string   `json:"producer,omitempty"`
	// Final is the plan's Decisions.Final; Partials is the first producer
	// of a FinalAggregate's exchange (the fragments are then the final
	// ones, bound with every part empty).
	Final    string `json:"final,omitempty"`
	Partials string `json:"partials,omitempty"`
	// Stages are a staged plan's stages, "<of>: <strategy>", in order.
	Stages []string `json:"stages,omitempty"`
}

// groupsOf is a deterministic Partitioner: file i goes to group i mod n.
type groupsOf int

func (n groupsOf) Partition(files []storage.File) []planner.FileGroup {
	groups := make([]planner.FileGroup, 0, int(n))
	for i := 0; i < int(n) && i < len(files); i++ {
		groups = append(groups, planner.FileGroup{Label: fmt.Sprintf("w%d", i)})
	}
	for i, f := range files {
		groups[i%len(groups)].Files = append(groups[i%len(groups)].Files, f)
	}
	return groups
}

// fixedCatalog serves the demo tables with fixed file URIs, so golden plans
// are stable.
type fixedCatalog map[storage.TableName]*storage.Table

func (c fixedCatalog) Table(_ context.Context, n storage.TableName) (*storage.Table, error) {
	if t, ok := c[n]; ok {
		return t, nil
	}
	return nil, storage.ErrTableNotFound
}

func col(name string, t arrow.DataType) storage.Column {
	return storage.Column{Name: name, Type: t, Nullable: true}
}

func goldenCatalog() fixedCatalog {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond}
	files := func(prefix string, n int, part func(i int) string) []storage.File {
		var out []storage.File
		for i := 0; i < n; i++ {
			f := storage.File{URI: fmt.Sprintf("s3://wh/%s%s", prefix, part(i)), Rows: 1000}
			if d, ok := strings.CutPrefix(part(i), "day="); ok {
				f.Partition = map[string]string{"day": d[:10]}
			}
			out = append(out, f)
		}
		return out
	}
	day := func(i int) string { return fmt.Sprintf("day=2025-01-%02d/data_0.parquet", i+1) }
	part := func(i int) string { return fmt.Sprintf("part-%05d.parquet", i) }
	one := func(name string) func(int) string { return func(int) string { return name } }
	cat := fixedCatalog{}
	add := func(name string, fs []storage.File, cols, parts []storage.Column) {
		tn := storage.TableName{Schema: "demo", Name: name}
		cat[tn] = &storage.Table{Name: tn, Files: fs, Columns: append(cols, parts...), Partitions: parts, Rows: int64(len(fs)) * 1000}
	}
	add("titles", files("demo/titles/", 1, one("titles.parquet")), []storage.Column{
		col("title_id", arrow.PrimitiveTypes.Int64), col("name", arrow.BinaryTypes.String), col("kind", arrow.BinaryTypes.String),
		col("genre", arrow.BinaryTypes.String), col("release_date", arrow.FixedWidthTypes.Date32),
		col("runtime_minutes", arrow.PrimitiveTypes.Int32), col("rating", &arrow.Decimal128Type{Precision: 3, Scale: 1}),
		col("price", &arrow.Decimal128Type{Precision: 10, Scale: 2}),
	}, nil)
	add("profiles", files("demo/profiles/", 1, one("profiles.parquet")), []storage.Column{
		col("profile_id", arrow.PrimitiveTypes.Int64), col("account_id", arrow.PrimitiveTypes.Int64), col("name", arrow.BinaryTypes.String),
		col("country", arrow.BinaryTypes.String), col("plan", arrow.BinaryTypes.String), col("signup_at", ts),
		col("birth_year", arrow.PrimitiveTypes.Int16), col("is_kids", arrow.FixedWidthTypes.Boolean),
	}, nil)
	add("plays", files("demo/plays/", 6, day), []storage.Column{
		col("play_id", arrow.PrimitiveTypes.Int64), col("profile_id", arrow.PrimitiveTypes.Int64), col("title_id", arrow.PrimitiveTypes.Int64),
		col("started_at", ts), col("duration_seconds", arrow.PrimitiveTypes.Int32), col("device", arrow.BinaryTypes.String),
		col("completed", arrow.FixedWidthTypes.Boolean), col("bitrate_kbps", arrow.PrimitiveTypes.Int32),
		col("revenue", &arrow.Decimal128Type{Precision: 12, Scale: 4}),
	}, []storage.Column{col("day", arrow.FixedWidthTypes.Date32)})
	add("events", files("demo/events/", 4, part), []storage.Column{
		col("event_time", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}), col("user_id", arrow.PrimitiveTypes.Int64),
		col("event_name", arrow.BinaryTypes.String), col("country", arrow.BinaryTypes.String), col("device", arrow.BinaryTypes.String),
		col("properties", arrow.BinaryTypes.String), col("session_id", arrow.BinaryTypes.String),
	}, nil)
	return cat
}

// newDistPlanner returns a planner with a real parser, shadow catalog and
// function catalog over cat.
func newDistPlanner(t *testing.T, cat planner.Catalog, part planner.Partitioner, tweaks ...func(*planner.Options)) *planner.Planner {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	coord := coordinator.New(coordinator.Options{DB: db})
	footers, _ := cat.(planner.Footers)
	opts := planner.Options{
		Parser: db, Catalog: cat, TypeName: engine.DuckDBType,
		Partitioner: part, Typer: coord.Typer(), Functions: db, Footers: footers,
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	return planner.New(opts)
}

func goldenFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*_cases.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func loadCases(t *testing.T, path string) []goldenCase {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var cases []goldenCase
	require.NoError(t, json.Unmarshal(raw, &cases), path)
	return cases
}

func summarize(p *planner.Plan) goldenPlan {
	if len(p.Decisions.Stages) > 0 {
		// The remainder as it reads stages that returned no row.
		for round := p.Next(); round != nil; round = p.Next() {
			empty := make([][][]string, len(round.Exchanges))
			for x := range empty {
				empty[x] = make([][]string, round.Parts)
			}
			if err := p.Bind(context.Background(), empty); err != nil {
				panic(err)
			}
		}
		g := goldenPlan{Strategy: p.Decisions.Strategy, Fallback: p.Decisions.Remainder, Split: p.Decisions.Split,
			Broadcast: p.Decisions.Broadcast, Fragments: len(p.Fragments), Fragment: p.Fragments[0].SQL}
		if p.Merge != nil {
			g.Merge = p.Merge.SQL
		}
		for _, st := range p.Decisions.Stages {
			line := st.Of + ": " + st.Decisions.Strategy
			if strings.Contains(st.Decisions.Remainder, "parts") {
				line += " (" + st.Decisions.Remainder + ")"
			}
			if st.Parts > 1 {
				line += fmt.Sprintf(", written in %d parts", st.Parts)
			}
			if st.Distinct {
				line += ", deduplicated"
			}
			if st.Counted {
				line += ", counted"
			}
			g.Stages = append(g.Stages, line)
		}
		return g
	}
	if round := p.Next(); round != nil {
		bound := *p
		bound.Fragments = slices.Clone(p.Fragments)
		empty := make([][][]string, len(round.Exchanges))
		for x := range empty {
			empty[x] = make([][]string, round.Parts)
		}
		if err := bound.Bind(context.Background(), empty); err != nil {
			panic(err)
		}
		g := summarize(&bound)
		if len(p.Exchanges) > 0 && round.First == 0 {
			g.Exchanged, g.Producer = p.Decisions.Exchanged, round.Exchanges[0].Producers[0].SQL
		} else {
			g.Partials = round.Exchanges[0].Producers[0].SQL
		}
		return g
	}
	g := goldenPlan{
		Strategy: p.Decisions.Strategy, Fallback: p.Decisions.Fallback, Split: p.Decisions.Split,
		Broadcast: p.Decisions.Broadcast, Fragments: len(p.Fragments), Fragment: p.Fragments[0].SQL,
	}
	if len(p.Decisions.Pruned) > 0 {
		g.Pruned = p.Decisions.Pruned
	}
	if p.Merge != nil {
		g.Merge = p.Merge.SQL
	}
	g.Final = p.Decisions.Final
	return g
}

// TestGoldenPlans compares every plan with planner/testdata/*_cases.json; run
// with -update to rewrite them (then review the diff).
func TestGoldenPlans(t *testing.T) {
	pl := newDistPlanner(t, goldenCatalog(), groupsOf(3))
	for _, path := range goldenFiles(t) {
		cases := loadCases(t, path)
		for i := range cases {
			c := &cases[i]
			t.Run(c.Comment, func(t *testing.T) {
				pl := pl
				if c.Options.BroadcastRows > 0 || c.Options.FinalGroups > 0 {
					pl = newDistPlanner(t, goldenCatalog(), groupsOf(3), func(o *planner.Options) {
						o.BroadcastRows, o.FinalGroups = c.Options.BroadcastRows, c.Options.FinalGroups
					})
				}
				plan, err := pl.Plan(context.Background(), c.Query)
				require.NoError(t, err, c.Query)
				got := summarize(plan)
				if *update {
					c.Plan = got
					return
				}
				if !assertPlan(t, c.Plan, got) {
					out := filepath.Join(t.TempDir(), "got.json")
					b, _ := json.MarshalIndent(got, "", "  ")
					_ = os.WriteFile(out, b, 0o644)
					t.Logf("query: %s\nactual plan written to %s", c.Query, out)
				}
			})
		}
		if *update {
			b, err := json.MarshalIndent(cases, "", "  ")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
		}
	}
}

func assertPlan(t *testing.T, want, got goldenPlan) bool {
	t.Helper()
	return assertEqual(t, want.Strategy, got.Strategy, "strategy") &&
		assertEqual(t, want.Fallback, got.Fallback, "fallback") &&
		assertEqual(t, want.Split, got.Split, "split") &&
		assertEqual(t, strings.Join(want.Broadcast, ","), strings.Join(got.Broadcast, ","), "broadcast") &&
		assertEqual(t, fmt.Sprint(want.Pruned), fmt.Sprint(got.Pruned), "pruned") &&
		assertEqual(t, want.Fragments, got.Fragments, "fragments") &&
		assertEqual(t, want.Fragment, got.Fragment, "fragment") &&
		assertEqual(t, strings.Join(want.Exchanged, ","), strings.Join(got.Exchanged, ","), "exchanged") &&
		assertEqual(t, want.Producer, got.Producer, "producer") &&
		assertEqual(t, want.Final, got.Final, "final") &&
		assertEqual(t, want.Partials, got.Partials, "partials") &&
		assertEqual(t, want.Merge, got.Merge, "merge")
}

func assertEqual(t *testing.T, want, got any, what string) bool {
	t.Helper()
	if want != got {
		t.Errorf("%s:\nwant %v\n got %v", what, want, got)
		return false
	}
	return true
}

// TestGoldenCoverage keeps the golden files honest: enough cases, every
// strategy, and a variety of fallback reasons.
func TestGoldenCoverage(t *testing.T) {
	strategies, reasons, n := map[string]int{}, map[string]int{}, 0
	for _, path := range goldenFiles(t) {
		for _, c := range loadCases(t, path) {
			n++
			strategies[c.Plan.Strategy]++
			if c.Plan.Fallback != "" {
				key, _, _ := strings.Cut(c.Plan.Fallback, ":")
				reasons[key]++
			}
		}
	}
	require.GreaterOrEqual(t, n, 80)
	for _, s := range []string{"scan", "aggregate", "topk", "distinct", "single"} {
		require.Positive(t, strategies[s], "no golden case plans %q", s)
	}
	require.GreaterOrEqual(t, len(reasons), 10, "fallback reasons covered: %v", reasons)
	// The analytical shapes (CTEs, set operations, subqueries, windows,
	// grouping sets, moments, holistic aggregates): at least 80 that must
	// be distributed, and are in the golden plans.
	shapes := 0
	for _, path := range goldenFiles(t) {
		for _, c := range loadCases(t, path) {
			if c.Options.Distributed {
				shapes++
				require.NotEqual(t, "single", c.Plan.Strategy, "%s: %s", c.Comment, c.Plan.Fallback)
			}
		}
	}
	require.GreaterOrEqual(t, shapes, 80, "distributed shapes in the golden files")
}

// TestDistributedMatchesSingleNode is the oracle: every golden query, run
// as its distributed plan (fragments in one DuckDB, partials merged as the
// coordinator does) over the real demo dataset split 1, 2 and 3 ways, returns
// the same multiset of rows as DuckDB over the whole tables.
func TestDistributedMatchesSingleNode(t *testing.T) {
	if testing.Short() {
		t.Skip("differential run over generated data")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	defer db.Close()
	_, err = demodata.Generate(ctx, db.SQL(), demodata.Options{Warehouse: dir, Scale: 0.004})
	require.NoError(t, err)
	for _, tbl := range []string{"titles", "profiles", "plays", "events"} {
		_, err := db.SQL().ExecContext(ctx, fmt.Sprintf(
			"CREATE SCHEMA IF NOT EXISTS demo; CREATE VIEW demo.%s AS SELECT * FROM read_parquet('%s/demo/%s/**/*.parquet', hive_partitioning = true)", tbl, dir, tbl))
		require.NoError(t, err)
	}
	wh, err := storage.Open(ctx, dir, storage.Options{})
	require.NoError(t, err)

	var cases []goldenCase
	for _, path := range goldenFiles(t) {
		cases = append(cases, loadCases(t, path)...)
	}
	for _, mode := range distModes {
		pl := newDistPlanner(t, wh, groupsOf(mode.workers), mode.tweak)
		t.Run(mode.name, func(t *testing.T) {
			finals := map[string]int{}
			defer func() {
				// The modes that finish on workers must really have.
				if strings.Contains(mode.name, "on workers") && !t.Failed() {
					require.Greater(t, finals["final"], 20, "final aggregates on workers")
					t.Logf("final aggregates %v", finals)
				}
			}()
			for _, c := range cases {
				t.Run(c.Comment, func(t *testing.T) {
					args := jsonArgs(c.Options.Args)
					want, wantSchema := collect(t, db, c.Query, nil, args...)
					plan, err := pl.Plan(ctx, c.Query)
					require.NoError(t, err)
					switch {
					case plan.Final != nil && plan.Final.Gather != nil:
						finals["final"]++
						finals["gathered"]++
					case plan.Final != nil:
						finals["final"]++
					case plan.Decisions.Final != "":
						finals["whole groups"]++
					}
					if c.Options.Distributed && mode.workers > 1 {
						require.NotEqual(t, "single", plan.Decisions.Strategy, "%s", plan.Decisions.Fallback)
					}
					if c.Options.Ordered {
						want, _ = collectRows(t, db, c.Query, nil, false, args...)
					}
					got, gotSchema := runPlanRows(t, db, plan, args, !c.Options.Ordered)
					require.True(t, wantSchema.Equal(gotSchema), "schema\nwant %s\n got %s\nplan %+v", wantSchema, gotSchema, summarize(plan))
					if c.Options.CountOnly {
						require.Len(t, got, len(want))
						return
					}
					requireRowsMatch(t, want, got, "plan %+v", summarize(plan))
				})
			}
		})
	}
}

// distModes are the splits the differential tests run every query with:
// 1, 2 and 3 workers, broadcasting every joined table, and 2 and 3 workers
// exchanging every table that joins the split one (BroadcastRows 1).
var distModes = []struct {
	name    string
	workers int
	tweak   func(*planner.Options)
}{
	{"1 workers", 1, func(*planner.Options) {}},
	{"2 workers", 2, func(*planner.Options) {}},
	{"3 workers", 3, func(*planner.Options) {}},
	{"2 workers exchanging", 2, func(o *planner.Options) { o.BroadcastRows = 1 }},
	{"3 workers exchanging", 3, func(o *planner.Options) { o.BroadcastRows = 1 }},
	{"2 workers finishing on workers", 2, func(o *planner.Options) { o.FinalGroups = 1 }},
	{"3 workers exchanging, finishing on workers", 3, func(o *planner.Options) { o.BroadcastRows, o.FinalGroups = 1, 1 }},
	// Few groups (string keys count once) over many distinct values: the
	// partials of DISTINCT aggregates are exchanged on (keys, argument).
	{"3 workers, distinct pairs on workers", 3, func(o *planner.Options) { o.FinalGroups = 2 }},
}

// runExchanges runs a plan's rounds of exchanges the way the coordinator
// does, into a spool under dir, and binds its fragments to their parts.
func runExchanges(t *testing.T, db *engine.DB, plan *planner.Plan, args []any) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for round := plan.Next(); round != nil; round = plan.Next() {
		parts := make([][][]string, len(round.Exchanges))
		for x, ex := range round.Exchanges {
			parts[x] = make([][]string, round.Parts)
			for f, prod := range ex.Producers {
				requireReadsFiles(t, prod.SQL)
				target := filepath.Join(dir, fmt.Sprintf("x%d-f%d", round.First+x, f))
				var n int64
				var files any
				err := db.SQL().QueryRowContext(ctx, fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet, PARTITION_BY (%s), RETURN_FILES true)",
					prod.SQL, target, planner.PartitionColumn), args...).Scan(&n, &files)
				require.NoError(t, err, prod.SQL)
				list, _ := files.([]any)
				for _, v := range list {
					file, _ := v.(string)
					_, rest, ok := strings.Cut(file, planner.PartitionColumn+"=")
					require.True(t, ok, file)
					p, err := strconv.Atoi(rest[:strings.IndexByte(rest, '/')])
					require.NoError(t, err, file)
					parts[x][p] = append(parts[x][p], file)
				}
			}
		}
		require.NoError(t, plan.Bind(ctx, parts))
	}
}

// tableName is a FROM or JOIN of a table by name; quotedName is a quoted
// identifier (a column named after the subquery it is, say).
var (
	tableName  = regexp.MustCompile(`(?i)\b(FROM|JOIN)\s+(demo|s|main)\.[a-z_]+`)
	quotedName = regexp.MustCompile(`"(?:[^"]|"")*"`)
)

// requireReadsFiles fails when a fragment names a table instead of reading
// its files: the oracle DuckDB has views of those names, a worker has not.
func requireReadsFiles(t *testing.T, sql string) {
	t.Helper()
	bare := quotedName.ReplaceAllString(sql, `""`)
	require.False(t, tableName.MatchString(bare), "a fragment names a table: %s", tableName.FindString(bare))
}

// runPlan executes a plan the way the coordinator does, in one DuckDB.
func runPlan(t *testing.T, db *engine.DB, plan *planner.Plan, args []any) ([]string, *arrow.Schema) {
	t.Helper()
	return runPlanRows(t, db, plan, args, true)
}

// runPlanRows runs a plan and returns its rows, sorted or as the plan
// returns them (its one fragment's, or its merge's).
func runPlanRows(t *testing.T, db *engine.DB, plan *planner.Plan, args []any, sorted bool) ([]string, *arrow.Schema) {
	t.Helper()
	runExchanges(t, db, plan, args)
	if plan.Merge == nil {
		if !sorted {
			require.Len(t, plan.Fragments, 1, "an ordered result from several fragments")
		}
		var rows []string
		var schema *arrow.Schema
		for _, f := range plan.Fragments {
			requireReadsFiles(t, f.SQL)
			r, s := collectRows(t, db, f.SQL, nil, sorted, args...)
			rows, schema = append(rows, r...), s
		}
		if sorted {
			sort.Strings(rows)
		}
		return rows, schema
	}
	var recs []arrow.RecordBatch
	var schema *arrow.Schema
	for _, f := range plan.Fragments {
		requireReadsFiles(t, f.SQL)
		rdr, err := db.QueryArrow(context.Background(), f.SQL, args...)
		require.NoError(t, err, f.SQL)
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		require.NoError(t, rdr.Err())
		schema = rdr.Schema()
		rdr.Release()
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	parts, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)
	defer parts.Release()
	return collectRows(t, db, plan.Merge.SQL, map[string]array.RecordReader{planner.PartialsTable: parts}, sorted)
}

// collect runs sql and returns its rows as sorted canonical strings.
func collect(t *testing.T, db *engine.DB, sql string, views map[string]array.RecordReader, args ...any) ([]string, *arrow.Schema) {
	t.Helper()
	return collectRows(t, db, sql, views, true, args...)
}

// collectRows runs sql and returns its rows as canonical strings, sorted
// or in the order sql returns them.
func collectRows(t *testing.T, db *engine.DB, sql string, views map[string]array.RecordReader, sorted bool, args ...any) ([]string, *arrow.Schema) {
	t.Helper()
	var (
		rdr array.RecordReader
		err error
	)
	if views != nil {
		rdr, err = db.QueryArrowOverTables(context.Background(), views, sql)
	} else {
		rdr, err = db.QueryArrow(context.Background(), sql, args...)
	}
	require.NoError(t, err, sql)
	defer rdr.Release()
	var rows []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var sb strings.Builder
			for c, colv := range rec.Columns() {
				if c > 0 {
					sb.WriteString(" | ")
				}
				sb.WriteString(canonicalValue(colv, i))
			}
			rows = append(rows, sb.String())
		}
	}
	require.NoError(t, rdr.Err(), sql)
	if sorted {
		sort.Strings(rows)
	}
	return rows, rdr.Schema()
}

// canonicalValue renders a value; floats in full, so requireRowsMatch can
// compare them within the tolerance the differential contract allows.
func canonicalValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch v := a.(type) {
	case *array.Float64:
		return strconv.FormatFloat(v.Value(i), 'g', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(v.Value(i)), 'g', -1, 32)
	}
	return a.ValueStr(i)
}

// requireRowsMatch compares canonical rows: equal, except that floats may
// differ by 1e-9 relative (merging partial sums reorders additions), the
// tolerance the differential contract allows.
func requireRowsMatch(t *testing.T, want, got []string, msgAndArgs ...any) {
	t.Helper()
	if len(want) == len(got) && slices.EqualFunc(want, got, rowsClose) {
		return
	}
	require.Equal(t, want, got, msgAndArgs...)
}

func rowsClose(a, b string) bool {
	if a == b {
		return true
	}
	fa, fb := strings.Split(a, " | "), strings.Split(b, " | ")
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] == fb[i] {
			continue
		}
		x, errX := strconv.ParseFloat(fa[i], 64)
		y, errY := strconv.ParseFloat(fb[i], 64)
		if errX != nil || errY != nil || !(math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))) {
			return false
		}
	}
	return true
}

// jsonArgs turns JSON numbers into the integers DuckDB binds.
func jsonArgs(in []any) []any {
	out := make([]any, len(in))
	for i, v := range in {
		if f, ok := v.(float64); ok && f == math.Trunc(f) {
			v = int64(f)
		}
		out[i] = v
	}
	return out
}

func TestOneWorkerRunsTheWholeQuery(t *testing.T) {
	pl := newDistPlanner(t, goldenCatalog(), groupsOf(1))
	plan, err := pl.Plan(context.Background(), "SELECT device, count(*) AS n FROM demo.plays GROUP BY device")
	require.NoError(t, err)
	require.Equal(t, "single", plan.Decisions.Strategy)
	require.Equal(t, "one_worker", plan.Decisions.Fallback)
	require.Nil(t, plan.Merge, "no partials and no merge for one fragment")
	require.Len(t, plan.Fragments, 1)
	require.Contains(t, plan.Fragments[0].SQL, "count_star()")

	pl = newDistPlanner(t, goldenCatalog(), groupsOf(2))
	plan, err = pl.Plan(context.Background(), "SELECT device, count(*) AS n FROM demo.plays GROUP BY device")
	require.NoError(t, err)
	require.Equal(t, "aggregate", plan.Decisions.Strategy, "two workers still split it")
	require.NotNil(t, plan.Merge)
}
