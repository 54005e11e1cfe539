// Package demodata writes the demo warehouse that `quiver demo-data` creates:
// demo.titles, demo.profiles, demo.plays (Hive-partitioned by day) and
// demo.events (four files).
//
// Every table is produced by one DuckDB `COPY (SELECT ...) TO ... (FORMAT
// parquet)` per output file, so the data never passes through Go and the
// generator runs at DuckDB's speed on whatever filesystem the caller's DuckDB
// can write to (a local directory, or S3 through httpfs). The SELECTs walk
// `range()` and derive every value from `hash(row, salt)` and integer
// arithmetic — never `random()` — so the same scale always yields the same
// rows. Weighted categorical values (countries, devices, hours of the day)
// are picked by indexing a list literal in which each value appears as many
// times as its weight, which keeps the distributions plausible without any
// state. demo.plays is written one day partition at a time and demo.events
// one contiguous row range at a time (event times grow with the row id), so
// every file's rows come out in a fixed order and a rerun reproduces the
// files byte for byte. Foreign keys (plays.profile_id, plays.title_id,
// events.user_id) are drawn from the id ranges of the tables they reference,
// so joins work.
//
// The data has a story to find (calendar.go, vocab.go): weekends and New
// Year's Day are busier, evenings busiest, and the hours differ between
// weekdays and weekends; the television is the evening's device and the
// phone the day's, with longer sessions and more completions on the TV.
// Every country has favourite genres (Japan animation, Germany
// documentaries, the UK crime ...) and local hits beside the global ones;
// kids' profiles watch animation. Title 7 is a series launched on Friday
// 2025-01-17 that takes a third of that day's plays in English-speaking
// countries and fades over the following two weeks. Accounts cancel during
// the month (a quarter of basic plans, few premium ones) and play no more.
// A few rows are dirty as real pipelines' are: zero-second and stuck
// eight-hour plays, birth year 1900, events from an old app that says "UK"
// and "TV", and events delivered twice.
package demodata
