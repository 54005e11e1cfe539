package demodata

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"
)

// testScale is small enough that every table sits at its minimum size.
const testScale = 0.002

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

func generate(t *testing.T, db *sql.DB, dir string, scale float64) Stats {
	t.Helper()
	stats, err := Generate(t.Context(), db, Options{Warehouse: dir, Scale: scale})
	require.NoError(t, err)
	return stats
}

// readTable is how the query oracle reads a table.
func readTable(dir, table string) string {
	return fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", filepath.Join(dir, "demo", table))
}

func TestGenerateRowCountsAndSchemas(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	stats := generate(t, db, dir, testScale)
	require.Equal(t, map[string]int64{
		"demo.titles":   100,
		"demo.profiles": 1000,
		"demo.plays":    10000,
		"demo.events":   10000,
	}, stats.Tables)

	tests := []struct {
		table   string
		rows    int64
		columns [][2]string // the first one is the table's key, except for events
	}{
		{"titles", 100, [][2]string{
			{"title_id", "BIGINT"}, {"name", "VARCHAR"}, {"kind", "VARCHAR"}, {"genre", "VARCHAR"},
			{"release_date", "DATE"}, {"runtime_minutes", "INTEGER"}, {"rating", "DECIMAL(3,1)"},
			{"price", "DECIMAL(10,2)"},
		}},
		{"profiles", 1000, [][2]string{
			{"profile_id", "BIGINT"}, {"account_id", "BIGINT"}, {"name", "VARCHAR"}, {"country", "VARCHAR"},
			{"plan", "VARCHAR"}, {"signup_at", "TIMESTAMP"}, {"birth_year", "SMALLINT"}, {"is_kids", "BOOLEAN"},
		}},
		{"plays", 10000, [][2]string{
			{"play_id", "BIGINT"}, {"profile_id", "BIGINT"}, {"title_id", "BIGINT"}, {"started_at", "TIMESTAMP"},
			{"duration_seconds", "INTEGER"}, {"device", "VARCHAR"}, {"completed", "BOOLEAN"},
			{"bitrate_kbps", "INTEGER"}, {"revenue", "DECIMAL(12,4)"}, {"day", "DATE"},
		}},
		{"events", 10000, [][2]string{
			{"event_time", "TIMESTAMP WITH TIME ZONE"}, {"user_id", "BIGINT"}, {"event_name", "VARCHAR"},
			{"country", "VARCHAR"}, {"device", "VARCHAR"}, {"properties", "VARCHAR"}, {"session_id", "VARCHAR"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.table, func(t *testing.T) {
			var rows, distinctIDs int64
			require.NoError(t, db.QueryRowContext(t.Context(),
				fmt.Sprintf("SELECT count(*), count(DISTINCT %s) FROM %s", tc.columns[0][0], readTable(dir, tc.table))).Scan(&rows, &distinctIDs))
			require.Equal(t, tc.rows, rows)
			if tc.table != "events" {
				require.Equal(t, tc.rows, distinctIDs, "ids are unique")
			}

			res, err := db.QueryContext(t.Context(), "DESCRIBE SELECT * FROM "+readTable(dir, tc.table))
			require.NoError(t, err)
			defer res.Close()
			var got [][2]string
			for res.Next() {
				var name, typ string
				var null, key, def, extra sql.NullString
				require.NoError(t, res.Scan(&name, &typ, &null, &key, &def, &extra))
				got = append(got, [2]string{name, typ})
			}
			require.NoError(t, res.Err())
			require.Equal(t, tc.columns, got)
		})
	}
}

func TestGenerateFileLayout(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	generate(t, db, dir, testScale)

	want := []string{
		"demo/events/part-00000.parquet",
		"demo/events/part-00001.parquet",
		"demo/events/part-00002.parquet",
		"demo/events/part-00003.parquet",
	}
	for d := 1; d <= 30; d++ {
		want = append(want, fmt.Sprintf("demo/plays/day=2025-01-%02d/data_0.parquet", d))
	}
	want = append(want, "demo/profiles/profiles.parquet", "demo/titles/titles.parquet")
	require.Equal(t, want, listFiles(t, dir))

	// Events files split the rows evenly and in time order.
	res, err := db.QueryContext(t.Context(), fmt.Sprintf(
		"SELECT parse_filename(filename), count(*), min(event_time), max(event_time) FROM read_parquet('%s/demo/events/*.parquet', filename = true) GROUP BY ALL ORDER BY 1",
		dir))
	require.NoError(t, err)
	defer res.Close()
	var prevMax string
	for res.Next() {
		var name, minTime, maxTime string
		var n int64
		require.NoError(t, res.Scan(&name, &n, &minTime, &maxTime))
		require.Equal(t, int64(2500), n, name)
		require.GreaterOrEqual(t, minTime, prevMax, name)
		prevMax = maxTime
	}
	require.NoError(t, res.Err())
}

func TestGenerateIsDeterministic(t *testing.T) {
	db := openDB(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	generate(t, db, dirA, testScale)
	generate(t, db, dirB, testScale)

	for _, table := range []string{"titles", "profiles", "plays", "events"} {
		t.Run(table, func(t *testing.T) {
			checksum := func(dir string) string {
				var n int64
				var sum string
				require.NoError(t, db.QueryRowContext(t.Context(),
					"SELECT count(*), CAST(bit_xor(hash(t)) AS VARCHAR) FROM (SELECT * FROM "+readTable(dir, table)+") t").Scan(&n, &sum))
				require.Positive(t, n)
				return fmt.Sprint(n, "/", sum)
			}
			require.Equal(t, checksum(dirA), checksum(dirB))
		})
	}
	// Row order and encoding are stable too, so the files are identical.
	require.Equal(t, fileHashes(t, dirA), fileHashes(t, dirB))

	// A different scale gives different data.
	dirC := t.TempDir()
	generate(t, db, dirC, 0.003)
	require.NotEqual(t, fileHashes(t, dirA), fileHashes(t, dirC))
}

func TestGenerateRerunOverwrites(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	generate(t, db, dir, 0.003)
	stats := generate(t, db, dir, testScale)
	require.Equal(t, int64(10000), stats.Tables["demo.plays"])

	fresh := t.TempDir()
	generate(t, db, fresh, testScale)
	require.Equal(t, fileHashes(t, fresh), fileHashes(t, dir))
}

func TestGenerateNullsAndDomains(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	generate(t, db, dir, testScale)

	nullable := []struct {
		table, column string
		percent       float64 // expected share of NULLs
	}{
		{"titles", "runtime_minutes", 10},
		{"titles", "rating", 5},
		{"profiles", "birth_year", 20},
		{"plays", "bitrate_kbps", 3},
		{"events", "country", 2},
	}
	for _, tc := range nullable {
		t.Run(tc.table+"."+tc.column, func(t *testing.T) {
			var pct float64
			require.NoError(t, db.QueryRowContext(t.Context(), fmt.Sprintf(
				"SELECT 100.0 * count(*) FILTER (WHERE %s IS NULL) / count(*) FROM %s", tc.column, readTable(dir, tc.table))).Scan(&pct))
			// Titles has only 100 rows at this scale: allow a wide margin.
			require.InDelta(t, tc.percent, pct, math.Max(tc.percent/2, 2.5))
			require.Positive(t, pct)
		})
	}

	// Every other column is never NULL, values stay in their domains and
	// the foreign keys resolve.
	checks := []struct {
		name, query string
	}{
		{"titles not null", "SELECT count(*) FROM {titles} WHERE title_id IS NULL OR name IS NULL OR kind IS NULL OR genre IS NULL OR release_date IS NULL OR price IS NULL"},
		{"titles domains", "SELECT count(*) FROM {titles} WHERE kind NOT IN ('movie', 'series') OR rating NOT BETWEEN 1 AND 10 OR price < 0 OR (release_date > DATE '2024-12-31' AND title_id <> 7)"},
		{"titles genres", "SELECT count(DISTINCT genre) - 10 FROM {titles}"},
		{"profiles not null", "SELECT count(*) FROM {profiles} WHERE profile_id IS NULL OR account_id IS NULL OR name IS NULL OR country IS NULL OR plan IS NULL OR signup_at IS NULL OR is_kids IS NULL"},
		{"profiles domains", "SELECT count(*) FROM {profiles} WHERE plan NOT IN ('basic', 'standard', 'premium') OR length(country) <> 2"},
		{"account shares country and plan", "SELECT count(*) FROM (SELECT account_id FROM {profiles} GROUP BY ALL HAVING count(DISTINCT country) > 1 OR count(DISTINCT plan) > 1)"},
		{"plays not null", "SELECT count(*) FROM {plays} WHERE play_id IS NULL OR profile_id IS NULL OR title_id IS NULL OR started_at IS NULL OR duration_seconds IS NULL OR device IS NULL OR completed IS NULL OR revenue IS NULL OR day IS NULL"},
		{"plays inside their day", "SELECT count(*) FROM {plays} WHERE CAST(started_at AS DATE) <> day OR day NOT BETWEEN DATE '2025-01-01' AND DATE '2025-01-30'"},
		{"plays devices", "SELECT count(*) FROM {plays} WHERE device NOT IN ('tv', 'mobile', 'web', 'tablet', 'console')"},
		{"plays reference profiles", "SELECT count(*) FROM {plays} p ANTI JOIN {profiles} USING (profile_id)"},
		{"plays reference titles", "SELECT count(*) FROM {plays} p ANTI JOIN {titles} USING (title_id)"},
		{"plays every day", "SELECT 30 - count(DISTINCT day) FROM {plays}"},
		{"events not null", "SELECT count(*) FROM {events} WHERE event_time IS NULL OR user_id IS NULL OR event_name IS NULL OR device IS NULL OR properties IS NULL OR session_id IS NULL"},
		{"events in january", "SELECT count(*) FROM {events} WHERE event_time < TIMESTAMPTZ '2025-01-01 00:00:00+00' OR event_time >= TIMESTAMPTZ '2025-01-31 00:00:00+00'"},
		{"events properties are json objects", "SELECT count(*) FROM {events} WHERE NOT json_valid(properties) OR json_type(properties) <> 'OBJECT'"},
		{"events reference profiles", "SELECT count(*) FROM {events} e ANTI JOIN {profiles} p ON e.user_id = p.profile_id"},
		{"events names", "SELECT count(DISTINCT event_name) - 8 FROM {events}"},
	}
	r := strings.NewReplacer(
		"{titles}", readTable(dir, "titles"),
		"{profiles}", readTable(dir, "profiles"),
		"{plays}", readTable(dir, "plays"),
		"{events}", readTable(dir, "events"),
	)
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			var bad int64
			require.NoError(t, db.QueryRowContext(t.Context(), r.Replace(tc.query)).Scan(&bad))
			require.Zero(t, bad)
		})
	}
}

// TestGenerateTellsAStory checks the structure the notebooks and the README
// show: each check fails if its part of the story disappears from the data.
func TestGenerateTellsAStory(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	generate(t, db, dir, testScale)
	r := strings.NewReplacer(
		"{titles}", readTable(dir, "titles"),
		"{profiles}", readTable(dir, "profiles"),
		"{plays}", readTable(dir, "plays"),
		"{events}", readTable(dir, "events"),
	)
	number := func(t *testing.T, query string) float64 {
		t.Helper()
		var v float64
		require.NoError(t, db.QueryRowContext(t.Context(), r.Replace(query)).Scan(&v))
		return v
	}
	text := func(t *testing.T, query string) string {
		t.Helper()
		var v string
		require.NoError(t, db.QueryRowContext(t.Context(), r.Replace(query)).Scan(&v))
		return v
	}

	t.Run("weekends are busier", func(t *testing.T) {
		require.Greater(t, number(t, `SELECT avg(n) FILTER (WHERE dayofweek(day) IN (0, 6)) / avg(n) FILTER (WHERE dayofweek(day) BETWEEN 1 AND 4)
			FROM (SELECT day, count(*) AS n FROM {plays} GROUP BY day)`), 1.25)
		require.Greater(t, number(t, `SELECT avg(n) FILTER (WHERE dayofweek(day) IN (0, 6)) / avg(n) FILTER (WHERE dayofweek(day) BETWEEN 1 AND 4)
			FROM (SELECT CAST(event_time AS DATE) AS day, count(*) AS n FROM {events} GROUP BY day)`), 1.2)
	})
	t.Run("evenings are busier than nights", func(t *testing.T) {
		require.Greater(t, number(t, `SELECT count(*) FILTER (WHERE hour(started_at) BETWEEN 19 AND 21)
			/ count(*) FILTER (WHERE hour(started_at) BETWEEN 3 AND 5) FROM {plays}`), 5.0)
		// Weekend afternoons are busier than weekday afternoons, per day.
		require.Greater(t, number(t, `SELECT (count(*) FILTER (WHERE dayofweek(day) IN (0, 6)) / 8)
			/ (count(*) FILTER (WHERE dayofweek(day) NOT IN (0, 6)) / 22) FROM {plays} WHERE hour(started_at) BETWEEN 12 AND 16`), 1.5)
	})
	t.Run("the television is for evenings and long sessions", func(t *testing.T) {
		require.Greater(t, number(t, `SELECT avg(CAST(device = 'tv' AS INTEGER)) FILTER (WHERE hour(started_at) >= 18)
			/ avg(CAST(device = 'tv' AS INTEGER)) FILTER (WHERE hour(started_at) BETWEEN 7 AND 17) FROM {plays}`), 2.0)
		require.Greater(t, number(t, `SELECT avg(duration_seconds) FILTER (WHERE device = 'tv')
			/ avg(duration_seconds) FILTER (WHERE device = 'mobile') FROM {plays}`), 2.0)
		require.Greater(t, number(t, `SELECT avg(CAST(completed AS INTEGER)) FILTER (WHERE device = 'tv')
			- avg(CAST(completed AS INTEGER)) FILTER (WHERE device = 'mobile') FROM {plays}`), 0.2)
	})
	t.Run("a series launches on 2025-01-17", func(t *testing.T) {
		require.Equal(t, "2025-01-17 series", text(t, `SELECT strftime(release_date, '%Y-%m-%d') || ' ' || kind FROM {titles} WHERE title_id = 7`))
		require.Zero(t, number(t, `SELECT count(*) FROM {plays} WHERE title_id = 7 AND day < DATE '2025-01-17'`))
		require.Equal(t, "7", text(t, `SELECT CAST(title_id AS VARCHAR) FROM {plays} WHERE day = DATE '2025-01-17' GROUP BY title_id ORDER BY count(*) DESC LIMIT 1`))
		require.Greater(t, number(t, `SELECT avg(CAST(title_id = 7 AS INTEGER)) FROM {plays} WHERE day = DATE '2025-01-17'`), 0.15)
		require.Less(t, number(t, `SELECT avg(CAST(title_id = 7 AS INTEGER)) FROM {plays} WHERE day = DATE '2025-01-30'`), 0.05)
		// The launch day is busier than the Friday before it.
		require.Greater(t, number(t, `SELECT count(*) FILTER (WHERE day = DATE '2025-01-17') / count(*) FILTER (WHERE day = DATE '2025-01-10') FROM {plays}`), 1.2)
	})
	t.Run("countries have their own tastes", func(t *testing.T) {
		favourites := map[string]string{"US": "Action", "GB": "Crime", "DE": "Documentary", "JP": "Animation", "AU": "Sci-Fi", "FR": "Drama"}
		for country, genre := range favourites {
			genres := `FROM {plays} p JOIN {profiles} pr USING (profile_id) JOIN {titles} t USING (title_id)
				WHERE title_id <> 7`
			require.Equal(t, genre, text(t, `SELECT t.genre `+genres+` AND pr.country = '`+country+`'
				GROUP BY t.genre ORDER BY count(*) DESC LIMIT 1`), country)
			// Its favourite is watched at least 1.5 times as much there as elsewhere.
			require.Greater(t, number(t, `SELECT avg(CAST(t.genre = '`+genre+`' AS INTEGER)) FILTER (WHERE pr.country = '`+country+`')
				/ avg(CAST(t.genre = '`+genre+`' AS INTEGER)) FILTER (WHERE pr.country <> '`+country+`') `+genres), 1.5, country)
		}
		top3 := func(country string) string {
			return text(t, `SELECT string_agg(CAST(title_id AS VARCHAR), ',' ORDER BY n DESC, title_id) FROM (
				SELECT title_id, count(*) AS n FROM {plays} p JOIN {profiles} pr USING (profile_id)
				WHERE pr.country = '`+country+`' AND title_id <> 7 GROUP BY title_id ORDER BY n DESC, title_id LIMIT 3)`)
		}
		require.NotEqual(t, top3("US"), top3("JP"))
		require.NotEqual(t, top3("US"), top3("DE"))
	})
	t.Run("accounts churn, basic ones most", func(t *testing.T) {
		churned := `WITH a AS (
				SELECT pr.account_id, pr.plan, min(p.day) AS first_day, max(p.day) AS last_day
				FROM {plays} p JOIN {profiles} pr USING (profile_id) GROUP BY ALL)
			SELECT avg(CAST(last_day < DATE '2025-01-24' AS INTEGER)) FROM a WHERE first_day < DATE '2025-01-08'`
		require.Greater(t, number(t, churned), 0.05)
		require.Greater(t, number(t, strings.Replace(churned, "WHERE first_day", "WHERE plan = 'basic' AND first_day", 1)),
			2*number(t, strings.Replace(churned, "WHERE first_day", "WHERE plan = 'premium' AND first_day", 1)))
	})
	t.Run("a few rows are dirty", func(t *testing.T) {
		dirty := []string{
			`SELECT count(*) FROM {plays} WHERE duration_seconds = 0`,
			`SELECT count(*) FROM {plays} WHERE duration_seconds > 8 * 3600`,
			`SELECT count(*) FROM {profiles} WHERE birth_year = 1900`,
			`SELECT count(*) FROM {events} WHERE country = 'UK'`,
			`SELECT count(*) FROM {events} WHERE device <> lower(device)`,
			`SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM {events})) FROM {events}`,
		}
		for _, q := range dirty {
			n := number(t, q)
			require.Positive(t, n, q)
			require.Less(t, n, 100.0, q)
		}
	})
}

func TestDayStartsCoverEveryRowOnce(t *testing.T) {
	for _, total := range []int64{10000, 10007, 5000000} {
		starts := dayStarts(total, true)
		require.Len(t, starts, dataDays+1)
		require.Equal(t, int64(1), starts[0])
		require.Equal(t, total+1, starts[dataDays])
		for d := range dataDays {
			require.Less(t, starts[d], starts[d+1], "day %d of %d rows", d, total)
		}
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	db := openDB(t)
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"no warehouse", Options{}, ErrNoWarehouse},
		{"negative scale", Options{Warehouse: t.TempDir(), Scale: -1}, ErrInvalidScale},
		{"nan scale", Options{Warehouse: t.TempDir(), Scale: math.NaN()}, ErrInvalidScale},
		{"infinite scale", Options{Warehouse: t.TempDir(), Scale: math.Inf(1)}, ErrInvalidScale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(t.Context(), db, tc.opts)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestGenerateHonoursCancellation(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Generate(ctx, db, Options{Warehouse: t.TempDir(), Scale: testScale})
	require.ErrorIs(t, err, context.Canceled)
}

func TestSizesAt(t *testing.T) {
	tests := []struct {
		scale float64
		want  sizes
	}{
		{testScale, sizes{titles: 100, profiles: 1000, plays: 10000, events: 10000}},
		{0.1, sizes{titles: 2000, profiles: 20000, plays: 500000, events: 200000}},
		{1, sizes{titles: 20000, profiles: 200000, plays: 5000000, events: 2000000}},
		{2.5, sizes{titles: 50000, profiles: 500000, plays: 12500000, events: 5000000}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.scale), func(t *testing.T) {
			require.Equal(t, tc.want, sizesAt(tc.scale))
		})
	}
}

func TestResolveRoot(t *testing.T) {
	cwd, err := os.Getwd()
	require.NoError(t, err)
	tests := []struct {
		in, root string
		local    bool
	}{
		{"s3://bucket/prefix/", "s3://bucket/prefix", false},
		{"s3://bucket", "s3://bucket", false},
		{"/data/wh/", "/data/wh", true},
		{"file:///data/wh", "/data/wh", true},
		{"warehouse", filepath.Join(cwd, "warehouse"), true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			root, local, err := resolveRoot(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.root, root)
			require.Equal(t, tc.local, local)
		})
	}
	require.Equal(t, "s3://b/p/demo/plays/day=2025-01-01/data_0.parquet",
		join("s3://b/p", false, "demo", "plays", "day=2025-01-01", "data_0.parquet"))
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	}))
	sort.Strings(files)
	return files
}

func fileHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	hashes := map[string]string{}
	for _, f := range listFiles(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		hashes[f] = hex.EncodeToString(sum[:])
	}
	return hashes
}
