-- Shared end-to-end query corpus over the demo dataset (`quiver demo-data`).
-- Read by the Go (e2e/) and Python (clients/python) end-to-end tests; each
-- result is compared with DuckDB reading the same Parquet files directly.
--
-- Format: a block starts with `-- name: <identifier>`; an optional
-- `-- ordered` line right after it means rows must come back in exactly this
-- order (only for a total ORDER BY, i.e. one that ends in a unique key). The
-- statement is the rest of the block with a trailing `;` removed.
-- Rules: fully qualified table names; no LIMIT without a total ORDER BY; keep
-- each query fast at scale 0.01.

-- name: titles_projection_filter
SELECT title_id, name, kind, genre
FROM demo.titles
WHERE kind = 'movie';

-- name: titles_catalog_qualified
SELECT count(*) AS titles, min(title_id) AS first_id, max(title_id) AS last_id
FROM quiver.demo.titles;

-- name: titles_like
SELECT title_id, name
FROM demo.titles
WHERE name LIKE '%e%' AND name NOT LIKE 'A%';

-- name: titles_in_between
SELECT title_id, genre, runtime_minutes
FROM demo.titles
WHERE title_id IN (1, 2, 3, 5, 8, 13, 21, 34, 55, 89)
   OR runtime_minutes BETWEEN 90 AND 95;

-- name: titles_is_null
SELECT title_id, runtime_minutes, rating
FROM demo.titles
WHERE runtime_minutes IS NULL OR rating IS NULL;

-- name: profiles_boolean_and_in
SELECT profile_id, country, plan, birth_year
FROM demo.profiles
WHERE is_kids AND plan IN ('basic', 'premium') AND birth_year IS NOT NULL;

-- name: plays_select_star_sample
SELECT *
FROM demo.plays
WHERE play_id % 997 = 3;

-- name: events_select_star_user
SELECT *
FROM demo.events
WHERE user_id IN (7, 42, 1001);

-- name: plays_wide_filter
SELECT play_id, profile_id, day, device, bitrate_kbps
FROM demo.plays
WHERE completed AND bitrate_kbps > 3000 AND device <> 'web';

-- name: plays_one_day
SELECT count(*) AS plays, sum(duration_seconds) AS seconds, min(day) AS day
FROM demo.plays
WHERE day = DATE '2025-01-05';

-- name: plays_day_range
-- ordered
SELECT day, count(*) AS plays, count(DISTINCT device) AS devices
FROM demo.plays
WHERE day BETWEEN DATE '2025-01-10' AND DATE '2025-01-14'
GROUP BY day
ORDER BY day;

-- name: plays_day_in_and_column
SELECT day, device, count(*) AS plays
FROM demo.plays
WHERE day IN (DATE '2025-01-01', DATE '2025-01-30') AND device IN ('tv', 'console')
GROUP BY day, device;

-- name: plays_day_vs_started_at
SELECT count(*) AS plays, count(*) FILTER (WHERE started_at::DATE = day) AS same_day
FROM demo.plays
WHERE day >= DATE '2025-01-25';

-- name: plays_count_star_vs_column
SELECT count(*) AS plays, count(bitrate_kbps) AS with_bitrate,
       count(*) - count(bitrate_kbps) AS without_bitrate
FROM demo.plays;

-- name: plays_by_device
SELECT device, count(*) AS plays, sum(duration_seconds) AS seconds,
       avg(duration_seconds) AS avg_seconds, min(started_at) AS first_play,
       max(started_at) AS last_play
FROM demo.plays
GROUP BY device;

-- name: plays_having
SELECT title_id, count(*) AS plays, sum(duration_seconds) AS seconds
FROM demo.plays
GROUP BY title_id
HAVING count(*) > (SELECT count(*) FROM demo.plays) / (SELECT count(*) FROM demo.titles);

-- name: plays_count_distinct
SELECT count(DISTINCT profile_id) AS profiles, count(DISTINCT title_id) AS titles,
       count(DISTINCT day) AS days
FROM demo.plays;

-- name: plays_count_distinct_grouped
SELECT device, completed, count(DISTINCT title_id) AS titles, count(DISTINCT profile_id) AS profiles
FROM demo.plays
GROUP BY device, completed;

-- name: plays_stddev
SELECT device, stddev(duration_seconds) AS sd, stddev_pop(bitrate_kbps) AS sd_pop,
       var_samp(duration_seconds) AS variance
FROM demo.plays
GROUP BY device;

-- name: profiles_having_avg
SELECT country, count(*) AS profiles, avg(birth_year) AS avg_birth_year,
       min(signup_at) AS first_signup, max(signup_at) AS last_signup
FROM demo.profiles
GROUP BY country
HAVING count(*) >= 10;

-- name: titles_min_max_mixed
SELECT min(name) AS first_name, max(name) AS last_name, min(release_date) AS oldest,
       max(release_date) AS newest, max(rating) AS best, min(price) AS cheapest
FROM demo.titles;

-- name: plays_case_buckets
SELECT CASE WHEN duration_seconds < 600 THEN 'short'
            WHEN duration_seconds < 3600 THEN 'medium'
            ELSE 'long' END AS bucket,
       completed, count(*) AS plays
FROM demo.plays
GROUP BY ALL;

-- name: plays_revenue_totals
SELECT sum(revenue) AS total, avg(revenue) AS mean, min(revenue) AS lowest, max(revenue) AS highest
FROM demo.plays;

-- name: plays_revenue_by_day
-- ordered
SELECT day, sum(revenue) AS revenue, sum(revenue * 2) AS doubled, count(*) AS plays
FROM demo.plays
GROUP BY day
ORDER BY day;

-- name: titles_price_arithmetic
SELECT title_id, price, price * 1.2 AS with_tax, price - 0.99 AS discounted,
       round(price / 3, 2) AS third, CAST(price AS DOUBLE) / 7 AS seventh
FROM demo.titles
WHERE price > 5;

-- name: join_plays_titles
SELECT t.genre, t.kind, count(*) AS plays, sum(p.duration_seconds) AS seconds
FROM demo.plays p
JOIN demo.titles t ON p.title_id = t.title_id
GROUP BY t.genre, t.kind;

-- name: join_plays_profiles
SELECT pr.country, pr.plan, count(*) AS plays, count(DISTINCT p.profile_id) AS profiles
FROM demo.plays p
JOIN demo.profiles pr ON p.profile_id = pr.profile_id
GROUP BY ALL;

-- name: join_three_way
SELECT pr.plan, t.kind, p.device, sum(p.revenue) AS revenue, count(*) AS plays
FROM demo.plays p
JOIN demo.titles t ON t.title_id = p.title_id
JOIN demo.profiles pr ON pr.profile_id = p.profile_id
WHERE p.day < DATE '2025-01-08' AND NOT pr.is_kids
GROUP BY ALL;

-- name: left_join_unmatched
SELECT t.title_id, t.name
FROM demo.titles t
LEFT JOIN (SELECT title_id FROM demo.plays WHERE day = DATE '2025-01-03' AND device = 'console') p
  ON p.title_id = t.title_id
WHERE p.title_id IS NULL;

-- name: left_join_zero_counts
SELECT t.title_id, count(p.play_id) AS plays, coalesce(sum(p.revenue), 0) AS revenue
FROM demo.titles t
LEFT JOIN demo.plays p ON p.title_id = t.title_id AND p.day = DATE '2025-01-02' AND p.device = 'tablet'
GROUP BY t.title_id;

-- name: window_row_number_top3
SELECT genre, title_id, price, rn
FROM (
  SELECT genre, title_id, price,
         row_number() OVER (PARTITION BY genre ORDER BY price DESC, title_id) AS rn
  FROM demo.titles
)
WHERE rn <= 3;

-- name: window_rank
SELECT title_id, genre, rating,
       rank() OVER (PARTITION BY genre ORDER BY rating DESC NULLS LAST) AS rating_rank,
       dense_rank() OVER (PARTITION BY genre ORDER BY rating DESC NULLS LAST) AS rating_dense_rank
FROM demo.titles;

-- name: window_running_sum
-- ordered
SELECT day, daily, sum(daily) OVER (ORDER BY day) AS running
FROM (SELECT day, sum(revenue) AS daily FROM demo.plays GROUP BY day)
ORDER BY day;

-- name: window_lag
-- ordered
SELECT day, plays, lag(plays) OVER (ORDER BY day) AS previous,
       plays - lag(plays, 1, 0) OVER (ORDER BY day) AS delta
FROM (SELECT day, count(*) AS plays FROM demo.plays GROUP BY day)
ORDER BY day;

-- name: window_partition_running
SELECT profile_id, play_id, started_at,
       sum(duration_seconds) OVER (PARTITION BY profile_id ORDER BY started_at, play_id
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS watched
FROM demo.plays
WHERE profile_id <= 25;

-- name: null_coalesce
SELECT title_id, coalesce(runtime_minutes, -1) AS runtime, coalesce(rating, 0.0) AS rating,
       nullif(kind, 'movie') AS series_only
FROM demo.titles
WHERE title_id <= 60;

-- name: null_counts
SELECT count(*) AS titles, count(runtime_minutes) AS with_runtime, count(rating) AS with_rating,
       avg(rating) AS avg_rating, count(*) FILTER (WHERE rating IS NULL) AS unrated
FROM demo.titles;

-- name: null_group_by
SELECT country, count(*) AS events, count(DISTINCT user_id) AS users
FROM demo.events
GROUP BY country;

-- name: null_group_by_birth_year
SELECT birth_year IS NULL AS unknown_age, plan, count(*) AS profiles
FROM demo.profiles
GROUP BY ALL;

-- name: ts_date_trunc_week
SELECT date_trunc('week', started_at) AS week, count(*) AS plays
FROM demo.plays
GROUP BY 1;

-- name: ts_extract_hour
SELECT extract(hour FROM started_at) AS hour, dayofweek(day) AS dow, count(*) AS plays
FROM demo.plays
GROUP BY ALL;

-- name: ts_tz_window
SELECT event_name, count(*) AS events, min(event_time) AS first_seen, max(event_time) AS last_seen
FROM demo.events
WHERE event_time >= TIMESTAMPTZ '2025-01-10 00:00:00+00'
  AND event_time < TIMESTAMPTZ '2025-01-12 12:00:00+00'
GROUP BY event_name;

-- name: ts_event_date
-- ordered
SELECT event_time::DATE AS d, count(*) AS events, count(DISTINCT user_id) AS users
FROM demo.events
GROUP BY 1
ORDER BY 1;

-- name: ts_tz_trunc_day
SELECT date_trunc('day', event_time) AS d, count(*) AS events
FROM demo.events
GROUP BY 1;

-- name: ts_signup_year
SELECT year(signup_at) AS signup_year, plan, count(*) AS profiles
FROM demo.profiles
GROUP BY ALL;

-- name: str_upper_concat
SELECT title_id, upper(name) AS upper_name, concat(kind, '/', genre) AS path,
       length(name) AS name_length, name || ' (' || kind || ')' AS label
FROM demo.titles
WHERE title_id % 7 = 0;

-- name: str_regexp
SELECT genre, count(*) AS titles
FROM demo.titles
WHERE regexp_matches(lower(name), '[aeiou]{2}')
GROUP BY genre;

-- name: str_json_keys
SELECT k AS property, count(*) AS events
FROM (SELECT unnest(json_keys(properties)) AS k FROM demo.events)
GROUP BY k;

-- name: str_json_extract
SELECT json_extract_string(properties, '$.quality') AS quality, device, count(*) AS starts,
       avg(CAST(json_extract(properties, '$.position_s') AS INTEGER)) AS avg_position
FROM demo.events
WHERE event_name = 'play_start'
GROUP BY ALL;

-- name: str_json_join_titles
SELECT t.genre, count(*) AS added, avg(t.price) AS avg_price
FROM demo.events e
JOIN demo.titles t ON t.title_id = CAST(json_extract_string(e.properties, '$.title_id') AS BIGINT)
WHERE e.event_name = 'add_to_list'
GROUP BY t.genre;

-- name: str_string_agg
SELECT genre, string_agg(CAST(title_id AS VARCHAR), ',' ORDER BY title_id) AS ids
FROM demo.titles
WHERE title_id <= 40
GROUP BY genre;

-- name: cte_top_titles_per_kind
WITH plays_per_title AS (
  SELECT title_id, count(*) AS plays FROM demo.plays GROUP BY title_id
), ranked AS (
  SELECT t.kind, t.title_id, pt.plays,
         row_number() OVER (PARTITION BY t.kind ORDER BY pt.plays DESC, t.title_id) AS rn
  FROM plays_per_title pt JOIN demo.titles t USING (title_id)
)
SELECT kind, title_id, plays FROM ranked WHERE rn <= 5;

-- name: subquery_in
SELECT count(*) AS plays, sum(duration_seconds) AS seconds
FROM demo.plays
WHERE title_id IN (SELECT title_id FROM demo.titles WHERE kind = 'series');

-- name: subquery_exists
SELECT pr.plan, count(*) AS profiles
FROM demo.profiles pr
WHERE EXISTS (SELECT 1 FROM demo.plays p WHERE p.profile_id = pr.profile_id AND p.device = 'console')
GROUP BY pr.plan;

-- name: subquery_scalar
SELECT title_id, price, price - (SELECT avg(price) FROM demo.titles) AS above_average
FROM demo.titles
WHERE price > (SELECT avg(price) FROM demo.titles);

-- name: union_all_devices
SELECT 'plays' AS source, device, count(*) AS n FROM demo.plays GROUP BY device
UNION ALL
SELECT 'events' AS source, device, count(*) AS n FROM demo.events GROUP BY device;

-- name: distinct_kind_genre
SELECT DISTINCT kind, genre
FROM demo.titles;

-- name: distinct_country_plan_ordered
-- ordered
SELECT DISTINCT country, plan
FROM demo.profiles
ORDER BY country, plan;

-- name: order_limit_longest_plays
-- ordered
SELECT play_id, profile_id, title_id, duration_seconds, day
FROM demo.plays
ORDER BY duration_seconds DESC, play_id
LIMIT 20;

-- name: order_limit_offset_profiles
-- ordered
SELECT profile_id, name, signup_at
FROM demo.profiles
ORDER BY signup_at, profile_id
LIMIT 10 OFFSET 5;

-- name: order_limit_top_titles
-- ordered
SELECT title_id, count(*) AS plays, sum(revenue) AS revenue
FROM demo.plays
GROUP BY title_id
ORDER BY plays DESC, title_id
LIMIT 10;

-- name: order_limit_expensive_titles
-- ordered
SELECT title_id, name, price
FROM demo.titles
ORDER BY price DESC, title_id
LIMIT 15;

-- name: empty_result
SELECT title_id, name, price, release_date
FROM demo.titles
WHERE title_id < 0;

-- name: plays_full_scan
SELECT play_id, profile_id, title_id, started_at, revenue, day
FROM demo.plays;

-- name: literals_without_tables
SELECT 1 + 1 AS two, 'it''s' AS quoted, CAST(NULL AS INTEGER) AS nothing, '' AS empty,
       DATE '2025-01-01' AS d, TIMESTAMPTZ '2025-01-01 12:00:00+00' AS ts, 1.5::DOUBLE AS f;

-- name: mixed_qualified_join
SELECT t.kind, count(*) AS plays
FROM quiver.demo.titles t
JOIN demo.plays p USING (title_id)
WHERE p.day = DATE '2025-01-15'
GROUP BY t.kind;
