package e2e_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/e2e/harness"
)

// cliQuery mixes integers, strings, a DATE and nullable DECIMAL/INTEGER
// columns, in a total order.
const cliQuery = "SELECT title_id, name, kind, release_date, runtime_minutes, rating, price " +
	"FROM demo.titles WHERE title_id <= 40 ORDER BY title_id"

// TestCLIQuery runs `quiver query` with each output format and parses the
// file back: Parquet must match the oracle exactly (types too); CSV and JSON
// must hold the same values.
func TestCLIQuery(t *testing.T) {
	fx := newLocalFixture(t, nil, nil)
	want, err := fx.oracle.Query(context.Background(), cliQuery)
	require.NoError(t, err)
	defer want.Release()
	wantRows := plainRows(want)
	dir := t.TempDir()

	run := func(t *testing.T, args ...string) harness.RunResult {
		t.Helper()
		args = append([]string{"query", cliQuery, "--server", fx.server.Addr()}, args...)
		res := harness.RunQuiver(t, 60*time.Second, nil, args...)
		require.NoError(t, res.Err, "quiver %s\n%s", strings.Join(args, " "), res.Output)
		return res
	}

	t.Run("parquet", func(t *testing.T) {
		out := filepath.Join(dir, "out.parquet")
		run(t, "--format", "parquet", "--out", out)
		got := readParquetFile(t, out)
		defer got.Release()
		harness.Compare(t, "quiver query --format parquet", want, got, true)
	})

	t.Run("csv", func(t *testing.T) {
		out := filepath.Join(dir, "out.csv")
		run(t, "--format", "csv", "--out", out)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		require.NoError(t, err, "parse csv:\n%s", data)
		require.NotEmpty(t, records, "empty csv")
		require.Equal(t, wantRows.Columns, records[0], "csv header")
		got := make([][]*string, 0, len(records)-1)
		for _, rec := range records[1:] {
			row := make([]*string, len(rec))
			for i := range rec {
				row[i] = &rec[i]
			}
			got = append(got, row)
		}
		requireLooseRows(t, wantRows.Rows, got)
	})

	t.Run("json", func(t *testing.T) {
		out := filepath.Join(dir, "out.json")
		run(t, "--format", "json", "--out", out)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		objs, err := parseJSONRows(data)
		require.NoError(t, err, "parse json:\n%s", data)
		got := make([][]*string, 0, len(objs))
		for _, obj := range objs {
			require.Len(t, obj, len(wantRows.Columns), "json object %v", obj)
			row := make([]*string, len(wantRows.Columns))
			for i, col := range wantRows.Columns {
				v, ok := obj[col]
				require.True(t, ok, "json object lacks %q: %v", col, obj)
				row[i] = jsonScalar(v)
			}
			got = append(got, row)
		}
		requireLooseRows(t, wantRows.Rows, got)
	})

	t.Run("table_stdout", func(t *testing.T) {
		res := run(t, "--format", "table")
		for _, col := range wantRows.Columns {
			require.Contains(t, res.Stdout, col)
		}
		require.Contains(t, res.Stdout, *wantRows.Rows[0][1], "first title's name")
	})
}

// TestCLIQueryOutFormatFromExtension runs the real binary with --out and
// no --format: x.parquet must be a Parquet file (read back with pqarrow,
// rows and types equal to the oracle's), x.csv a CSV file, and stderr must
// say what was written. A --format that contradicts the extension fails
// without creating the file. The server is named by QUIVER_URI alone, the
// variable the Python client reads.
func TestCLIQueryOutFormatFromExtension(t *testing.T) {
	fx := newLocalFixture(t, nil, nil)
	want, err := fx.oracle.Query(context.Background(), cliQuery)
	require.NoError(t, err)
	defer want.Release()
	wantRows := plainRows(want)
	dir := t.TempDir()
	env := []string{"QUIVER_URI=grpc://" + fx.server.Addr(), "QUIVER_SERVER=127.0.0.1:1"}
	run := func(args ...string) harness.RunResult {
		return harness.RunQuiver(t, 60*time.Second, env, append([]string{"query", cliQuery}, args...)...)
	}

	out := filepath.Join(dir, "x.parquet")
	res := run("--out", out)
	require.NoError(t, res.Err, "quiver query --out %s\n%s", out, res.Output)
	got := readParquetFile(t, out)
	defer got.Release()
	harness.Compare(t, "quiver query --out x.parquet", want, got, true)
	st, err := os.Stat(out)
	require.NoError(t, err)
	require.Empty(t, res.Stdout, "the report goes to stderr")
	require.Contains(t, res.Output, fmt.Sprintf("wrote %d rows (", len(wantRows.Rows)))
	require.Contains(t, res.Output, ", parquet) to "+out)
	require.Greater(t, st.Size(), int64(0))

	csvOut := filepath.Join(dir, "x.csv")
	res = run("--out", csvOut)
	require.NoError(t, res.Err, "quiver query --out %s\n%s", csvOut, res.Output)
	data, err := os.ReadFile(csvOut)
	require.NoError(t, err)
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err, "parse csv:\n%s", data)
	require.Len(t, records, len(wantRows.Rows)+1, "header and rows")
	require.Equal(t, wantRows.Columns, records[0])
	require.Contains(t, res.Output, ", csv) to "+csvOut)

	bad := filepath.Join(dir, "bad.parquet")
	res = run("--format", "csv", "--out", bad)
	require.Error(t, res.Err, "a contradicting --format must fail:\n%s", res.Output)
	require.NotZero(t, res.ExitCode)
	require.Contains(t, res.Output, "--format csv")
	require.Contains(t, res.Output, "--out "+bad)
	require.NoFileExists(t, bad)
}

// readParquetFile reads a whole Parquet file with pqarrow.
func readParquetFile(t *testing.T, path string) *harness.Result {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(memory.DefaultAllocator),
		pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err, "read %s as parquet", path)
	defer tbl.Release()
	got, err := harness.ReadAll(array.NewTableReader(tbl, -1))
	require.NoError(t, err)
	return got
}

// textRows is a result as plain text cells; nil is NULL.
type textRows struct {
	Columns []string
	Rows    [][]*string
}

// plainRows renders the oracle result as the text a CSV/JSON writer would
// produce: strings raw, everything else in Arrow's rendering.
func plainRows(res *harness.Result) textRows {
	out := textRows{}
	for _, f := range res.Schema.Fields() {
		out.Columns = append(out.Columns, f.Name)
	}
	for _, rec := range res.Records {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]*string, rec.NumCols())
			for c, col := range rec.Columns() {
				if col.IsNull(i) {
					continue
				}
				s := col.ValueStr(i)
				row[c] = &s
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out
}

// requireLooseRows compares text cells: equal text, or equal numbers, or a
// date that prefixes a timestamp rendering; NULL matches nil, "" or "NULL".
func requireLooseRows(t *testing.T, want, got [][]*string) {
	t.Helper()
	require.Len(t, got, len(want), "row count")
	for r := range want {
		require.Len(t, got[r], len(want[r]), "row %d width", r)
		for c := range want[r] {
			w, g := want[r][c], got[r][c]
			require.True(t, looseEqual(w, g), "row %d column %d: got %s, want %s", r, c, show(g), show(w))
		}
	}
}

func looseEqual(want, got *string) bool {
	if want == nil {
		return got == nil || *got == "" || strings.EqualFold(*got, "null")
	}
	if got == nil {
		return false
	}
	if *want == *got {
		return true
	}
	wf, err1 := strconv.ParseFloat(*want, 64)
	gf, err2 := strconv.ParseFloat(*got, 64)
	if err1 == nil && err2 == nil {
		return wf == gf
	}
	if len(*want) == len("2006-01-02") {
		if _, err := time.Parse(time.DateOnly, *want); err == nil {
			return strings.HasPrefix(*got, *want)
		}
	}
	return false
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

// parseJSONRows accepts a JSON array of objects or newline-delimited
// objects.
func parseJSONRows(data []byte) ([]map[string]any, error) {
	trimmed := bytes.TrimSpace(data)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if bytes.HasPrefix(trimmed, []byte("[")) {
		var rows []map[string]any
		if err := dec.Decode(&rows); err != nil {
			return nil, err
		}
		return rows, nil
	}
	var rows []map[string]any
	for dec.More() {
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// jsonScalar renders a decoded JSON value as text; nil is NULL.
func jsonScalar(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}
