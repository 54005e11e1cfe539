package reports

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiver-data/quiver/engine"
)

func openEngine(t *testing.T) *engine.DB {
	t.Helper()
	db, err := engine.Open(context.Background(), engine.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

const goodReport = `
  - name: daily
    schedule: "0 6 * * *"
    timezone: Europe/Paris
    sql: SELECT * FROM demo.plays WHERE day = {{ run_date }} AND ts >= {{ window_start }} AND ts < {{window_end}}
    output: s3://lake/reports/daily/date={{ run_date }}/result.parquet
    run_as: reporting
    roles: [analyst]
    claims: {region: eu}
    timeout: 5m
    retries: 2
    backoff: 10s
    max_backoff: 1m
    overlap: queue
`

func TestParseValid(t *testing.T) {
	db := openEngine(t)
	valid, invalid, err := Parse([]byte("reports:"+goodReport), ParserCheck(db))
	require.NoError(t, err)
	require.Empty(t, invalid)
	require.Len(t, valid, 1)
	r := valid[0]
	require.Equal(t, "daily", r.Name)
	require.Equal(t, "Europe/Paris", r.Location.String())
	require.Equal(t, FormatParquet, r.Format, "from the extension")
	require.Equal(t, 5*time.Minute, r.Timeout)
	require.Equal(t, 2, r.Retries)
	require.Equal(t, 10*time.Second, r.Backoff)
	require.Equal(t, time.Minute, r.MaxBackoff)
	require.Equal(t, OverlapQueue, r.Overlap)
	require.Equal(t, "reporting", r.Principal.Subject)
	require.Equal(t, []string{"analyst"}, r.Principal.Roles)
	require.Equal(t, "eu", r.Principal.Claims["region"])
	require.Equal(t, []string{VarRunDate, VarWindowStart, VarWindowEnd}, r.SQL.Vars())

	// 06:00 in Paris is 05:00 UTC in winter, 04:00 in summer.
	paris := r.Location
	next := r.Schedule.Next(time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC))
	require.Equal(t, time.Date(2025, 1, 11, 5, 0, 0, 0, time.UTC), next.UTC())
	next = r.Schedule.Next(time.Date(2025, 7, 10, 12, 0, 0, 0, time.UTC))
	require.True(t, time.Date(2025, 7, 11, 6, 0, 0, 0, paris).Equal(next), next)
	require.Equal(t, time.Date(2025, 7, 11, 4, 0, 0, 0, time.UTC), next.UTC())
}

func TestParseDefaults(t *testing.T) {
	valid, invalid, err := Parse([]byte(`
reports:
  - name: csv-report
    schedule: "*/5 * * * *"
    sql: SELECT 1 AS x
    output: /tmp/out/{{ run_time }}/x.csv
    run_as: bob
  - name: json
    schedule: "0 0 * * 1"
    sql: SELECT 1 AS x
    output: s3://b/k/latest.ndjson
    replace: true
    run_as: bob
`), nil)
	require.NoError(t, err)
	require.Empty(t, invalid)
	require.Equal(t, FormatCSV, valid[0].Format)
	require.Equal(t, time.UTC, valid[0].Location)
	require.Equal(t, DefaultTimeout, valid[0].Timeout)
	require.Equal(t, 0, valid[0].Retries)
	require.Equal(t, DefaultBackoff, valid[0].Backoff)
	require.Equal(t, OverlapSkip, valid[0].Overlap)
	require.Equal(t, FormatJSONL, valid[1].Format)
	require.True(t, valid[1].Replace)
}

// TestParseInvalid: each bad definition is rejected naming the report and
// the field, and the good report beside it still loads.
func TestParseInvalid(t *testing.T) {
	db := openEngine(t)
	cases := []struct {
		name, yaml, report, field, msg string
	}{
		{"bad cron", `{name: r, schedule: "61 * * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "schedule", "61"},
		{"six fields", `{name: r, schedule: "0 0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "schedule", "6 fields, want 5"},
		{"descriptor", `{name: r, schedule: "@daily", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "schedule", "5 cron fields"},
		{"never", `{name: r, schedule: "0 0 30 2 *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "schedule", "never fires"},
		{"zone", `{name: r, schedule: "0 6 * * *", timezone: Mars/Olympus, sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "timezone", "Mars/Olympus"},
		{"unknown var", `{name: r, schedule: "0 6 * * *", sql: "SELECT {{ run_day }}", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "sql", "{{ run_day }}"},
		{"unknown var in output", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ today }}.csv", run_as: u}`, "r", "output", "{{ today }}"},
		{"unbalanced", `{name: r, schedule: "0 6 * * *", sql: "SELECT {{ run_date", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "sql", "unbalanced"},
		{"syntax", `{name: r, schedule: "0 6 * * *", sql: "SELEC 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "sql", "syntax error"},
		{"quoted var", `{name: r, schedule: "0 6 * * *", sql: "SELECT '{{ run_date }}'", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "sql", "inside quotes"},
		{"commented var", "{name: r, schedule: \"0 6 * * *\", sql: \"SELECT 1 -- {{ run_date }}\\n\", output: \"s3://b/{{ run_date }}.csv\", run_as: u}", "r", "sql", "inside quotes or a comment"},
		{"own params", `{name: r, schedule: "0 6 * * *", sql: "SELECT ? + 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "sql", "placeholders of its own"},
		{"two statements", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1; SELECT 2", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "r", "sql", "2 statements"},
		{"scheme", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "gs://b/{{ run_date }}.csv", run_as: u}`, "r", "output", "unsupported scheme"},
		{"relative", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "out/{{ run_date }}.csv", run_as: u}`, "r", "output", "absolute path"},
		{"directory", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}/", run_as: u}`, "r", "output", "directory"},
		{"dotdot", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/../{{ run_date }}.csv", run_as: u}`, "r", "output", ". or .."},
		{"hidden file", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}/_x.csv", run_as: u}`, "r", "output", "hidden"},
		{"no bucket key", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://{{ run_date }}", run_as: u}`, "r", "output", "s3://bucket/key"},
		{"constant output", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/x.csv", run_as: u}`, "r", "output", "no {{ }} variable"},
		{"warehouse csv", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "warehouse://s/t/{{ run_date }}.csv", run_as: u}`, "r", "format", "must be parquet"},
		{"warehouse short", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "warehouse://s/{{ run_date }}.parquet", run_as: u}`, "r", "output", "warehouse://schema/table"},
		{"format", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.xlsx", run_as: u}`, "r", "format", "required"},
		{"format value", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}", format: xml, run_as: u}`, "r", "format", `"xml"`},
		{"run_as", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv"}`, "r", "run_as", "required"},
		{"timeout", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, timeout: soon}`, "r", "timeout", "soon"},
		{"retries", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, retries: -1}`, "r", "retries", "-1"},
		{"backoff", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, backoff: 0s}`, "r", "backoff", "0s"},
		{"max_backoff", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, backoff: 1m, max_backoff: 1s}`, "r", "max_backoff", "no shorter"},
		{"overlap", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, overlap: parallel}`, "r", "overlap", "parallel"},
		{"no name", `{schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "#1", "name", "required"},
		{"bad name", `{name: "a b", schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u}`, "a b", "name", "letters"},
		{"unknown key", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, cron: x}`, "r", "cron", "unknown field (known: name, schedule"},
		{"wrong type", `{name: r, schedule: "0 6 * * *", sql: "SELECT 1", output: "s3://b/{{ run_date }}.csv", run_as: u, retries: many}`, "r", "retries", "cannot unmarshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := "reports:\n  - " + tc.yaml + "\n" + goodReport
			valid, invalid, err := Parse([]byte(file), ParserCheck(db))
			require.NoError(t, err)
			require.Len(t, valid, 1, "the good report still loads")
			require.Equal(t, "daily", valid[0].Name)
			require.Len(t, invalid, 1)
			require.ErrorIs(t, invalid[0], ErrInvalid)
			var ve *ValidationError
			if errors.As(invalid[0], &ve) {
				require.Equal(t, tc.report, ve.Report)
				require.Equal(t, tc.field, ve.Field)
			}
			require.Contains(t, invalid[0].Error(), tc.msg)
			require.Contains(t, invalid[0].Error(), "report "+tc.report+": "+tc.field+":")
		})
	}
}

func TestParseDuplicateAndFileErrors(t *testing.T) {
	valid, invalid, err := Parse([]byte("reports:"+goodReport+goodReport), nil)
	require.NoError(t, err)
	require.Len(t, valid, 1)
	require.Len(t, invalid, 1)
	require.Contains(t, invalid[0].Error(), "report daily: name: duplicate")

	_, _, err = Parse([]byte("reports: [unclosed"), nil)
	require.ErrorContains(t, err, "parse reports")
	_, _, err = Parse([]byte("reprots: []"), nil)
	require.ErrorContains(t, err, "reprots")

	_, _, err = LoadFile(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)

	valid, invalid, err = Parse(nil, nil)
	require.NoError(t, err)
	require.Empty(t, valid)
	require.Empty(t, invalid)
}

func TestTemplateBindAndText(t *testing.T) {
	tpl, err := ParseTemplate("SELECT * FROM t WHERE d = {{ run_date }} AND ts BETWEEN {{window_start}} AND {{ window_end }} OR d = {{ run_date }}")
	require.NoError(t, err)
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	p := Params{RunTime: time.Date(2025, 3, 1, 0, 30, 0, 0, paris), WindowStart: time.Date(2025, 2, 28, 0, 30, 0, 0, paris)}
	sql, args := tpl.Bind(p)
	require.Equal(t, "SELECT * FROM t WHERE d = ? AND ts BETWEEN ? AND ? OR d = ?", sql)
	require.Equal(t, []any{
		"2025-03-01",
		time.Date(2025, 2, 27, 23, 30, 0, 0, time.UTC),
		time.Date(2025, 2, 28, 23, 30, 0, 0, time.UTC),
		"2025-03-01",
	}, args, "run_date is the date in the report's zone; times are instants")

	out, err := ParseTemplate("s3://b/d={{ run_date }}/t={{ run_time }}/x.csv")
	require.NoError(t, err)
	require.Equal(t, "s3://b/d=2025-03-01/t=2025-03-01T00:30:00+01:00/x.csv", out.Text(p))
	require.Equal(t, "s3://b/d={{ run_date }}/t={{ run_time }}/x.csv", out.String())
}

func TestPrevFire(t *testing.T) {
	r, err := Validate(Definition{Name: "r", Schedule: "0 6 * * 1-5", SQL: "SELECT 1", Output: "/x/{{ run_date }}.csv", RunAs: "u"}, nil)
	require.NoError(t, err)
	// Monday 2025-01-06 06:00 UTC: the previous weekday run is Friday's.
	mon := time.Date(2025, 1, 6, 6, 0, 0, 0, time.UTC)
	require.Equal(t, time.Date(2025, 1, 3, 6, 0, 0, 0, time.UTC), prevFire(r.Schedule, mon))
	require.Equal(t, mon, prevFire(r.Schedule, mon.Add(time.Nanosecond)))
	require.Equal(t, mon, prevFire(r.Schedule, mon.Add(3*time.Hour)))

	every, err := Validate(Definition{Name: "r", Schedule: "* * * * *", SQL: "SELECT 1", Output: "/x/{{ run_date }}.csv", RunAs: "u"}, nil)
	require.NoError(t, err)
	at := time.Date(2025, 1, 6, 6, 7, 30, 0, time.UTC)
	require.Equal(t, time.Date(2025, 1, 6, 6, 7, 0, 0, time.UTC), prevFire(every.Schedule, at))

	leap, err := Validate(Definition{Name: "r", Schedule: "0 0 29 2 *", SQL: "SELECT 1", Output: "/x/{{ run_date }}.csv", RunAs: "u"}, nil)
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), prevFire(leap.Schedule, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)))
}

func TestParseAt(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	for in, want := range map[string]time.Time{
		"2025-01-31T06:00:00Z":      time.Date(2025, 1, 31, 6, 0, 0, 0, time.UTC),
		"2025-01-31T06:00:00+02:00": time.Date(2025, 1, 31, 4, 0, 0, 0, time.UTC),
		"2025-01-31":                time.Date(2025, 1, 31, 0, 0, 0, 0, paris),
		"2025-01-31T06:00":          time.Date(2025, 1, 31, 6, 0, 0, 0, paris),
		"2025-01-31 06:00:05":       time.Date(2025, 1, 31, 6, 0, 5, 0, paris),
	} {
		got, err := ParseAt(in, paris)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: got %s want %s", in, got, want)
	}
	_, err = ParseAt("yesterday", paris)
	require.ErrorContains(t, err, "RFC 3339")
}
