package demodata

import (
	"fmt"
	"math"
	"strings"
	"time"
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
        i = {launchTitle} OR {isSeries} AS is_series,
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
    CASE
        WHEN i = {launchTitle} THEN DATE '{launchDate}'
        ELSE DATE '2024-12-31' - CAST(age_root * age_root + {ageJitter} AS INTEGER)
    END AS release_date,
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
		"launchTitle", fmt.Sprint(launchTitle),
		"launchDate", dayDate(launchDay).Format(time.DateOnly),
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
        WHEN {birthDirty} < 3 THEN 1900
        WHEN is_kids THEN 2010 + {kidBirth}
        ELSE 1958 + {birthA} + {birthB}
    END AS SMALLINT) AS birth_year,
    is_kids
FROM base
ORDER BY i`,
		"m", fmt.Sprint(m),
		"account", accountOf("i"),
		"isKids", isKidsOf("i"),
		"kidsName", hmod("i", "profile.kids.name", 2),
		"firstName", pickUniform("i", "profile.name", firstNames),
		"country", countryOf("account_id"),
		"plan", planOf("account_id"),
		"signupStart", fmt.Sprint(signupStart),
		// sqrt of a uniform value: signups grow over the years.
		"signupOffset", fmt.Sprintf("CAST(sqrt(%s / 1000000.0) * %d AS BIGINT)", hmod("account_id", "account.signup", 1000000), signupSpan),
		"profileOffset", hmod("i", "profile.signup", 14*secondsPerDay),
		"birthNull", hmod("i", "profile.birth.null", 100),
		// A placeholder year a sign-up form let through.
		"birthDirty", hmod("i", "profile.birth.dirty", 1000),
		"kidBirth", hmod("i", "profile.birth.kid", 13),
		"birthA", hmod("i", "profile.birth.a", 26),
		"birthB", hmod("i", "profile.birth.b", 26),
	)
}

// isKidsOf is whether a profile is a kids' profile.
func isKidsOf(profileID string) string {
	return hmod(profileID, "profile.kids", 100) + " < 12"
}

// planOf is the plan of an account; its profiles share it.
func planOf(accountID string) string {
	return pick(accountID, "account.plan", plans)
}

// churnDayOf is the 0-based day from which an account no longer plays:
// between 1 and dataDays-1 for the accounts that cancel during the month
// (churnPercent of their plan), dataDays for the others.
func churnDayOf(accountID string) string {
	var when []string
	for _, p := range plans {
		when = append(when, fmt.Sprintf("WHEN %s THEN %d", sqlString(p.value), churnPercent[p.value]))
	}
	return fmt.Sprintf("(CASE WHEN %s < (CASE %s %s END) THEN 1 + %s ELSE %d END)",
		hmod(accountID, "account.churn", 100), planOf(accountID), strings.Join(when, " "),
		hmod(accountID, "account.churn.day", dataDays-1), dataDays)
}

// genreOf is the genre of a title.
func genreOf(titleID string) string {
	return pick(titleID, "title.genre", genres)
}

// genreChoice picks the genre of a play from its viewer's country and age:
// kids' profiles mostly watch animation, and every country has its tastes
// (genreTastes) on top of the catalogue's genre mix.
func genreChoice(key, country, isKids string) string {
	var byCountry []string
	for _, c := range countries {
		weighted := make([]choice, len(genres))
		for i, g := range genres {
			boost := genreTastes[c.value][g.value]
			weighted[i] = choice{g.value, g.weight * max(boost, 1)}
		}
		byCountry = append(byCountry, fmt.Sprintf("WHEN %s THEN %s", sqlString(c.value), pick(key, "play.genre", weighted)))
	}
	return fmt.Sprintf("CASE WHEN %s AND %s < 70 THEN 'Animation' ELSE CASE %s %s END END",
		isKids, hmod(key, "play.genre.kids", 100), country, strings.Join(byCountry, " "))
}

// deviceChoice picks the device of a play started at hour.
func deviceChoice(key, hour string) string {
	return fmt.Sprintf("CASE WHEN %s >= 18 THEN %s WHEN %s >= 7 THEN %s ELSE %s END",
		hour, pick(key, "play.device", eveningDevices), hour, pick(key, "play.device", daytimeDevices),
		pick(key, "play.device", nightDevices))
}

// deviceCase renders CASE device WHEN ... THEN f(habit) ... END.
func deviceCase(f func(deviceHabit) string) string {
	var when []string
	for _, h := range deviceHabits {
		when = append(when, fmt.Sprintf("WHEN %s THEN %s", sqlString(h.device), f(h)))
	}
	return "CASE device " + strings.Join(when, " ") + " END"
}

// playsQuery selects the rows of demo.plays for day d (0-based from
// 2025-01-01), without the day column: that comes from the Hive partition
// directory. Days hold ids [lo, hi) in play_id order, busier on weekends
// (dayStarts). Each play's viewer is one of three candidate profiles whose
// account has not cancelled yet; its genre follows the viewer's country,
// its title the genre's popularity curve (a share of plays following each
// country's own hits), its device the hour, and its length the device. From
// launchDay on, a decaying share of plays goes to launchTitle.
func playsQuery(s sizes, d int) string {
	starts := dayStarts(s.plays, true)
	lo, hi := starts[d], starts[d+1]
	hours := make([]int64, 24)
	for h := range hours {
		hours[h] = int64(h)
	}
	weights := hourWeights
	if isWeekend(d) {
		weights = weekendHourWeights
	}
	// The launch title's share of the day's plays, per mille, for
	// English-speaking countries and for the others.
	launch := launchExtra(d) / dayWeight(d, true) * 1000
	english := sqlList(englishSpeaking)
	var candidates, active []string
	for k := 1; k <= 3; k++ {
		candidates = append(candidates, fmt.Sprintf("1 + %s AS c%d", hmod("i", fmt.Sprintf("play.profile.%d", k), s.profiles), k))
		active = append(active, fmt.Sprintf("WHEN %s > %d THEN c%d", churnDayOf(accountOf(fmt.Sprintf("c%d", k))), d, k))
	}
	return expand(`
WITH catalog AS (
    SELECT
        i AS title_id,
        genre,
        row_number() OVER (PARTITION BY genre ORDER BY i) - 1 AS genre_rank,
        count(*) OVER (PARTITION BY genre) AS genre_titles
    FROM (SELECT i, {titleGenre} AS genre FROM range(1, {titles} + 1) t(i) WHERE i <> {launchTitle})
), genre_sizes AS (
    SELECT DISTINCT genre, genre_titles FROM catalog
), candidates AS (
    SELECT i, {candidates}
    FROM range({lo}, {hi}) t(i)
), viewers AS (
    SELECT
        i,
        CASE {active} ELSE (SELECT min(i) FROM range(1, {profiles} + 1) t(i) WHERE {neverChurns}) END AS profile_id
    FROM candidates
), base AS (
    SELECT
        i,
        profile_id,
        {country} AS country,
        {isKids} AS is_kids,
        {hour} AS hour
    FROM viewers
), choices AS (
    SELECT
        *,
        {device} AS device,
        {genre} AS genre,
        {launchDraw} < CASE WHEN country IN {english} THEN {launchEnglish} ELSE {launchOther} END AS is_launch,
        {dirty} AS dirty
    FROM base
), ranked AS (
    SELECT
        c.*,
        ({titleRoot} * {titleRoot} * g.genre_titles) // 10000000000 AS popular_rank,
        g.genre_titles
    FROM choices c JOIN genre_sizes g USING (genre)
), picked AS (
    SELECT
        r.*,
        CASE WHEN r.is_launch THEN {launchTitle} ELSE k.title_id END AS title_id,
        CASE
            WHEN r.dirty < 5 THEN FALSE
            ELSE {completedDraw} < {completedPercent}
        END AS completed
    FROM ranked r
    JOIN catalog k ON k.genre = r.genre AND k.genre_rank = CASE
        WHEN {localDraw} < 40 THEN (r.popular_rank + {localShift}) % r.genre_titles
        ELSE r.popular_rank
    END
), durations AS (
    SELECT
        *,
        CASE
            WHEN dirty < 5 THEN 0
            WHEN dirty < 8 THEN 28800 + {durationStuck}
            WHEN completed THEN {longDuration}
            ELSE 15 + {durationShort}
        END AS duration
    FROM picked
)
SELECT
    i AS play_id,
    profile_id,
    title_id,
    make_timestamp(({dayStart} + hour * 3600 + {second}) * 1000000 + {millis} * 1000) AS started_at,
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
		"titles", fmt.Sprint(s.titles),
		"profiles", fmt.Sprint(s.profiles),
		"titleGenre", genreOf("i"),
		"launchTitle", fmt.Sprint(launchTitle),
		"candidates", strings.Join(candidates, ", "),
		"active", strings.Join(active, " "),
		"neverChurns", churnDayOf(accountOf("i"))+fmt.Sprintf(" = %d", dataDays),
		"country", countryOf(accountOf("profile_id")),
		"isKids", isKidsOf("profile_id"),
		"hour", pickInt("i", "play.start.hour", hours, weights),
		"device", deviceChoice("i", "hour"),
		"genre", genreChoice("i", "country", "is_kids"),
		"launchDraw", hmod("i", "play.launch", 1000),
		"english", "("+strings.Trim(english, "[]")+")",
		"launchEnglish", fmt.Sprint(int64(math.Round(launch))),
		"launchOther", fmt.Sprint(int64(math.Round(launch/2))),
		"dirty", hmod("i", "play.dirty", 10000),
		// (u·10⁵)² · n / 10¹⁰ = u² · n for u uniform in [0, 1): a long tail.
		"titleRoot", hmod("i", "play.title", 100000),
		"localDraw", hmod("r.i", "play.local", 100),
		"localShift", "CAST(hash(r.country, r.genre, 'country.hits') % r.genre_titles AS BIGINT)",
		"completedDraw", hmod("r.i", "play.completed", 100),
		"completedPercent", deviceCase(func(h deviceHabit) string { return fmt.Sprint(h.completedPercent) }),
		"durationStuck", hmod("i", "play.duration.stuck", 18000),
		"longDuration", deviceCase(func(h deviceHabit) string {
			return fmt.Sprintf("%d + %s", h.longMin, hmod("i", "play.duration", h.longSpan))
		}),
		"durationShort", hmod("i", "play.duration", 1800),
		"dayStart", fmt.Sprint(dataStart+int64(d)*secondsPerDay),
		"second", hmod("i", "play.start.second", 3600),
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
// activity the row is. Days get rows in proportion to dayWeight, so
// weekends and the launch are busier; r = total is the end of the range.
func activityPosition(r string, total int64) string {
	starts := dayStarts(total, true)
	var when []string
	for d := range dataDays {
		first, n := starts[d]-1, starts[d+1]-starts[d]
		cond := "ELSE"
		if d < dataDays-1 {
			cond = fmt.Sprintf("WHEN %s < %d THEN", r, starts[d+1]-1)
		}
		when = append(when, fmt.Sprintf("%s %d + (%s - %d) * 1000000 // %d", cond, int64(d)*1000000, r, first, max(n, 1)))
	}
	return "(CASE " + strings.Join(when, " ") + " END)"
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
WITH sources AS (
    SELECT row_id, CASE WHEN row_id > 1 AND {duplicate} < 3 THEN row_id - 1 ELSE row_id END AS i
    FROM range({lo}, {hi}) t(row_id)
), positions AS (
    SELECT row_id, i, {posThis} AS pos, {posNext} AS next_pos
    FROM sources
), base AS (
    SELECT
        row_id,
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
    CASE
        WHEN {countryNull} < 2 THEN NULL
        WHEN {dirty} < 3 AND {country} = 'GB' THEN 'UK'
        ELSE {country}
    END AS country,
    CASE WHEN {dirty} >= 995 THEN upper({device}) ELSE {device} END AS device,
    {properties} AS properties,
    printf('s_%012x', hash(user_id, day_idx, {session}) % 281474976710656) AS session_id
FROM base
ORDER BY row_id`,
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
		// A few dirty rows, as real event pipelines have: an old app that
		// sends "UK" and upper-case device names, and events delivered twice
		// (a row repeats the one before it).
		"duplicate", hmod("row_id", "event.duplicate", 1000),
		"dirty", hmod("i", "event.dirty", 1000),
	)
}
