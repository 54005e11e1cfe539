package demodata

import (
	"fmt"
	"strings"
)

// Epoch seconds of the time ranges the data covers.
const (
	dataStart     = 1735689600 // 2025-01-01 00:00:00 UTC: first day of plays and events
	dataDays      = 30         // plays and events cover 2025-01-01 ... 2025-01-30
	signupStart   = 1546300800 // 2019-01-01 00:00:00 UTC
	signupSpan    = 186710400  // until 2024-12-01
	secondsPerDay = 86400
)

// sizes holds the row count of every table at one scale.
type sizes struct {
	titles, profiles, plays, events int64
}

// expand replaces {name} placeholders in a query template. Templates keep
// the SQL readable; the values are generated expressions and integers, never
// user input.
func expand(tmpl string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{"+kv[i]+"}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// titleSide² is the number of distinct title names before they repeat with a
// " II", " III" ... suffix; titleAdjectives × titleNouns × 3 forms cover it.
const titleSide = 150

// titlesQuery selects demo.titles: n titles with made-up names, release dates
// skewed towards recent years and a few missing runtimes and ratings.
//
// Names are unique (up to titleSide² titles): row i is mapped to a name index
// by a three-round Feistel network on [0, titleSide)², which is a bijection
// that looks random, so neighbouring rows get unrelated names.
func titlesQuery(n int64) string {
	return expand(`
WITH seq AS (
    SELECT
        i,
        (i - 1) // {space} AS cycle,
        ((i - 1) % {space}) // {side} AS l0,
        (i - 1) % {side} AS r0
    FROM range(1, {n} + 1) t(i)
), feistel AS (
    SELECT i, cycle, r2 * {side} + (r1 + {f3}) % {side} AS name_idx
    FROM (
        SELECT i, cycle, r1, (r0 + {f2}) % {side} AS r2
        FROM (SELECT i, cycle, r0, (l0 + {f1}) % {side} AS r1 FROM seq)
    )
), base AS (
    SELECT
        i,
        cycle,
        name_idx % 3 AS form,
        list_element({adjectives}, CAST((name_idx // 3) % {nAdjectives} AS BIGINT) + 1) AS adjective,
        list_element({nouns}, CAST((name_idx // 3) // {nAdjectives} AS BIGINT) + 1) AS noun,
        {ending} AS ending,
        {isSeries} AS is_series,
        {ageRoot} AS age_root
    FROM feistel
)
SELECT
    i AS title_id,
    CASE form
        WHEN 0 THEN 'The ' || adjective || ' ' || noun
        WHEN 1 THEN adjective || ' ' || noun
        ELSE adjective || ' ' || noun || ' ' || ending
    END || CASE cycle WHEN 0 THEN '' WHEN 1 THEN ' II' WHEN 2 THEN ' III' ELSE ' ' || (cycle + 1) END AS name,
    CASE WHEN is_series THEN 'series' ELSE 'movie' END AS kind,
    {genre} AS genre,
    DATE '2024-12-31' - CAST(age_root * age_root + {ageJitter} AS INTEGER) AS release_date,
    CAST(CASE
        WHEN {runtimeNull} < 10 THEN NULL
        WHEN is_series THEN 22 + {runtimeA} % 44
        ELSE 78 + {runtimeA} % 50 + {runtimeB} % 50
    END AS INTEGER) AS runtime_minutes,
    CAST(CASE
        WHEN {ratingNull} < 5 THEN NULL
        ELSE (25 + {ratingA} + {ratingB}) * 0.1
    END AS DECIMAL(3, 1)) AS rating,
    CAST(CASE WHEN is_series THEN {seriesPrice} ELSE {moviePrice} END * 0.01 AS DECIMAL(10, 2)) AS price
FROM base
ORDER BY i`,
		"n", fmt.Sprint(n),
		"side", fmt.Sprint(titleSide),
		"space", fmt.Sprint(titleSide*titleSide),
		"f1", hmod("r0", "title.feistel.1", titleSide),
		"f2", hmod("r1", "title.feistel.2", titleSide),
		"f3", hmod("r2", "title.feistel.3", titleSide),
		"adjectives", sqlList(titleAdjectives),
		"nAdjectives", fmt.Sprint(len(titleAdjectives)),
		"nouns", sqlList(titleNouns),
		"ending", pickUniform("i", "title.ending", titleEndings),
		"isSeries", hmod("i", "title.kind", 100)+" < 25",
		// age_root² + jitter(0..2·age_root) covers 0..20163 days with a density
		// that falls with age: most titles are recent, a few are classics.
		"ageRoot", hmod("i", "title.age", 142),
		"ageJitter", "CAST(hash(i, 'title.age.jitter') % (2 * age_root + 1) AS BIGINT)",
		"genre", pick("i", "title.genre", genres),
		"runtimeNull", hmod("i", "title.runtime.null", 100),
		"runtimeA", hmod("i", "title.runtime.a", 1000),
		"runtimeB", hmod("i", "title.runtime.b", 1000),
		"ratingNull", hmod("i", "title.rating.null", 100),
		"ratingA", hmod("i", "title.rating.a", 38),
		"ratingB", hmod("i", "title.rating.b", 38),
		"seriesPrice", pickInt("i", "title.price", seriesPriceCents, seriesPriceWeight),
		"moviePrice", pickInt("i", "title.price", moviePriceCents, moviePriceWeights),
	)
}

// accountOf is the account a profile id belongs to: 13 profiles share 5
// accounts, so accounts have two or three profiles.
func accountOf(profileID string) string {
	return fmt.Sprintf("(1 + ((%s - 1) * 5) // 13)", profileID)
}

// countryOf is the country of an account; profiles and events of one account
// agree on it.
func countryOf(accountID string) string {
	return pick(accountID, "account.country", countries)
}

// profilesQuery selects demo.profiles: m profiles grouped into accounts that
// share a country, a plan and (roughly) a signup time.
func profilesQuery(m int64) string {
	return expand(`
WITH base AS (
    SELECT i, {account} AS account_id, {isKids} AS is_kids
    FROM range(1, {m} + 1) t(i)
)
SELECT
    i AS profile_id,
    account_id,
    CASE WHEN is_kids AND {kidsName} = 0 THEN 'Kids' ELSE {firstName} END AS name,
    {country} AS country,
    {plan} AS plan,
    make_timestamp(({signupStart} + {signupOffset} + {profileOffset}) * 1000000) AS signup_at,
    CAST(CASE
        WHEN {birthNull} < 20 THEN NULL
        WHEN is_kids THEN 2010 + {kidBirth}
        ELSE 1958 + {birthA} + {birthB}
    END AS SMALLINT) AS birth_year,
    is_kids
FROM base
ORDER BY i`,
		"m", fmt.Sprint(m),
		"account", accountOf("i"),
		"isKids", hmod("i", "profile.kids", 100)+" < 12",
		"kidsName", hmod("i", "profile.kids.name", 2),
		"firstName", pickUniform("i", "profile.name", firstNames),
		"country", countryOf("account_id"),
		"plan", pick("account_id", "account.plan", plans),
		"signupStart", fmt.Sprint(signupStart),
		// sqrt of a uniform value: signups grow over the years.
		"signupOffset", fmt.Sprintf("CAST(sqrt(%s / 1000000.0) * %d AS BIGINT)", hmod("account_id", "account.signup", 1000000), signupSpan),
		"profileOffset", hmod("i", "profile.signup", 14*secondsPerDay),
		"birthNull", hmod("i", "profile.birth.null", 100),
		"kidBirth", hmod("i", "profile.birth.kid", 13),
		"birthA", hmod("i", "profile.birth.a", 26),
		"birthB", hmod("i", "profile.birth.b", 26),
	)
}

// startOfDayExpr is the epoch second an activity starts at on day dayIdx
// (0-based from 2025-01-01), at an hour drawn from hourWeights.
func startOfDayExpr(key, salt, dayIdx string) string {
	hours := make([]int64, len(hourWeights))
	for h := range hours {
		hours[h] = int64(h)
	}
	return fmt.Sprintf("(%d + %s * %d + %s * 3600 + %s)",
		dataStart, dayIdx, secondsPerDay,
		pickInt(key, salt+".hour", hours, hourWeights),
		hmod(key, salt+".second", 3600))
}

// playsQuery selects the rows of demo.plays for day d (0-based from
// 2025-01-01), without the day column: that comes from the Hive partition
// directory. Rows are spread evenly over the days in play_id order; popular
// titles (low ids) get most plays.
func playsQuery(s sizes, d int) string {
	lo, hi := rowRange(s.plays, dataDays, d)
	return expand(`
WITH base AS (
    SELECT
        i,
        {device} AS device,
        {completed} AS completed
    FROM range({lo}, {hi}) t(i)
), durations AS (
    SELECT
        *,
        CASE WHEN completed THEN 1200 + {durationLong} ELSE 15 + {durationShort} END AS duration
    FROM base
)
SELECT
    i AS play_id,
    1 + {profile} AS profile_id,
    1 + ({titleRoot} * {titleRoot} * {n}) // 10000000000 AS title_id,
    make_timestamp({start} * 1000000 + {millis} * 1000) AS started_at,
    CAST(duration AS INTEGER) AS duration_seconds,
    device,
    completed,
    CAST(CASE
        WHEN {bitrateNull} < 3 THEN NULL
        WHEN device = 'tv' THEN 8000 + {bitrate} % 8000
        WHEN device = 'console' THEN 6000 + {bitrate} % 6000
        WHEN device = 'web' THEN 2500 + {bitrate} % 4000
        WHEN device = 'tablet' THEN 1500 + {bitrate} % 3500
        ELSE 600 + {bitrate} % 2400
    END AS INTEGER) AS bitrate_kbps,
    CAST((duration * (2 + {rate}) // 10) * 0.0001 AS DECIMAL(12, 4)) AS revenue
FROM durations
ORDER BY i`,
		"lo", fmt.Sprint(lo),
		"hi", fmt.Sprint(hi),
		"n", fmt.Sprint(s.titles),
		"device", pick("i", "play.device", devices),
		"completed", hmod("i", "play.completed", 100)+" < 45",
		"durationLong", hmod("i", "play.duration", 6600),
		"durationShort", hmod("i", "play.duration", 2400),
		"profile", hmod("i", "play.profile", s.profiles),
		// (u·10⁵)² · n / 10¹⁰ = u² · n for u uniform in [0, 1): a long tail.
		"titleRoot", hmod("i", "play.title", 100000),
		"start", startOfDayExpr("i", "play.start", fmt.Sprint(d)),
		"millis", hmod("i", "play.millis", 1000),
		"bitrateNull", hmod("i", "play.bitrate.null", 100),
		"bitrate", hmod("i", "play.bitrate", 1000000),
		"rate", hmod("i", "play.rate", 4),
	)
}

// rowRange returns the 1-based row ids [lo, hi) of part k when total rows are
// split into parts contiguous parts: row i belongs to part (i-1)·parts/total.
func rowRange(total int64, parts, k int) (lo, hi int64) {
	ceilDiv := func(a, b int64) int64 { return (a + b - 1) / b }
	lo = ceilDiv(int64(k)*total, int64(parts)) + 1
	hi = ceilDiv(int64(k+1)*total, int64(parts)) + 1
	return lo, hi
}

// activityPosition returns a SQL expression for where row r (0-based) of
// total rows falls in the data's time range, in millionths of a day: the
// day is position / 10⁶ and position % 10⁶ is how far into that day's
// activity the row is.
func activityPosition(r string, total int64) string {
	return fmt.Sprintf("((%s) * %d * 1000000 // %d)", r, dataDays, total)
}

// activityMillis returns a SQL expression for the epoch millisecond of the
// activity at position pos (see activityPosition): a monotone function whose
// density per hour follows hourWeights — the inverse of their cumulative
// distribution, in integers. So rows in id order are in time order, and a
// split by row number is a split by time.
func activityMillis(pos string) string {
	hours := make([]int64, 24)
	cum := make([]int64, 24) // percent of a day's activity before each hour
	weights := make([]int64, 24)
	sum := int64(0)
	for h, w := range hourWeights {
		hours[h] = int64(h)
		cum[h] = sum
		weights[h] = int64(w)
		sum += int64(w)
	}
	f := fmt.Sprintf("(%s %% 1000000)", pos)
	hour := fmt.Sprintf("list_element(%s, CAST(%s // 10000 AS BIGINT) + 1)", int64List(hours, hourWeights), f)
	return fmt.Sprintf("(%d + %s // 1000000 * %d + %s * 3600000 + (%s - list_element(%s, %s + 1) * 10000) * 3600000 // (list_element(%s, %s + 1) * 10000))",
		int64(dataStart)*1000, pos, secondsPerDay*1000, hour,
		f, int64List(cum, nil), hour,
		int64List(weights, nil), hour)
}

// eventsQuery selects the rows of events file k. Event times grow with the
// row id (see activityMillis), each jittered by less than the gap to the
// next row, so files split by row number are also split by time.
func eventsQuery(s sizes, k int) string {
	lo, hi := rowRange(s.events, eventFiles, k)
	titleID := "1 + " + hmod("i", "event.title", s.titles)
	properties := fmt.Sprintf(`CASE event_name
        WHEN 'page_view' THEN printf('{"page":"%%s","ref":"%%s"}', %s, %s)
        WHEN 'play_start' THEN printf('{"title_id":%%d,"position_s":%%d,"quality":"%%s"}', %s, CASE WHEN %s < 60 THEN 0 ELSE %s END, %s)
        WHEN 'play_stop' THEN printf('{"title_id":%%d,"position_s":%%d}', %s, 30 + %s)
        WHEN 'search' THEN printf('{"query":"%%s","results":%%d}', %s, %s)
        WHEN 'add_to_list' THEN printf('{"title_id":%%d,"list":"my_list"}', %s)
        WHEN 'rate_title' THEN printf('{"title_id":%%d,"stars":%%d}', %s, 1 + %s)
        WHEN 'login' THEN printf('{"method":"%%s"}', %s)
        ELSE printf('{"plan":"%%s"}', %s)
    END`,
		pickUniform("i", "event.page", pages), pickUniform("i", "event.ref", referrers),
		titleID, hmod("i", "event.resume", 100), hmod("i", "event.position", 5400), pickUniform("i", "event.quality", qualities),
		titleID, hmod("i", "event.position", 7200),
		pickUniform("i", "event.query", searchQueries), hmod("i", "event.results", 80),
		titleID,
		titleID, hmod("i", "event.stars", 5),
		pickUniform("i", "event.login", loginMethods),
		pick("i", "event.plan", plans),
	)
	return expand(`
WITH positions AS (
    SELECT i, {posThis} AS pos, {posNext} AS next_pos
    FROM range({lo}, {hi}) t(i)
), base AS (
    SELECT
        i,
        pos // 1000000 AS day_idx,
        {timeThis} AS t_ms,
        {timeNext} AS next_ms,
        1 + {user} AS user_id,
        {eventName} AS event_name
    FROM positions
)
SELECT
    to_timestamp(t_ms // 1000) + to_milliseconds(t_ms % 1000 + {jitter} % greatest(1, next_ms - t_ms)) AS event_time,
    user_id,
    event_name,
    CASE WHEN {countryNull} < 2 THEN NULL ELSE {country} END AS country,
    {device} AS device,
    {properties} AS properties,
    printf('s_%012x', hash(user_id, day_idx, {session}) % 281474976710656) AS session_id
FROM base
ORDER BY i`,
		"lo", fmt.Sprint(lo),
		"hi", fmt.Sprint(hi),
		"user", hmod("i", "event.user", s.profiles),
		"eventName", pick("i", "event.name", eventNames),
		"posThis", activityPosition("i - 1", s.events),
		"posNext", activityPosition("i", s.events),
		"timeThis", activityMillis("pos"),
		"timeNext", activityMillis("next_pos"),
		"jitter", hmod("i", "event.jitter", 1<<30),
		"countryNull", hmod("i", "event.country.null", 100),
		"country", countryOf(accountOf("user_id")),
		"device", pick("i", "event.device", devices),
		"properties", properties,
		"session", hmod("i", "event.session", 3),
	)
}
