// Package output writes a stream of Arrow record batches as a result file
// or text: the table, csv, json (one object per line) and parquet formats
// that `quiver query` prints and report jobs publish. It is the neutral
// layer both querycli and reports use, so neither borrows from the other.
//
// Render turns any array.RecordReader into bytes without holding the
// result: csv (arrow-go's CSV writer), newline-delimited json and parquet
// (pqarrow, row group by row group) stream batch by batch, and the table
// format keeps only the rows it will show — the first half in order, the
// last half in a ring buffer — before drawing a DuckDB-CLI-like box no
// wider than 120 characters. All text formats print values the same way
// (timestamps as "2006-01-02 15:04:05.999999999" plus the zone when there
// is one, decimals at their scale), so switching formats never changes what
// a value says. A stream that fails midway leaves its output looking
// incomplete: no table is drawn and a Parquet file gets no footer.
// CountingReader counts the rows that pass through, for the summaries and
// _SUCCESS markers callers write.
package output
