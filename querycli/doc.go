// Package querycli is the logic of `quiver query`: run one SQL statement on
// a Quiver (or any Flight SQL) server and print the result.
//
// Run executes the statement with arrow-go's Flight SQL client and then
// fetches the FlightInfo's endpoints one after the other — from the server
// itself when an endpoint has no location, otherwise from the location —
// presenting them as a single array.RecordReader. Render turns any record
// stream into text or a file without holding the result: csv (arrow-go's CSV
// writer), newline-delimited json and parquet (pqarrow, row group by row
// group) stream batch by batch, and the table format keeps only the rows it
// will show — the first half in order, the last half in a ring buffer —
// before drawing a DuckDB-CLI-like box no wider than 120 characters. All
// text formats print values the same way (timestamps as
// "2006-01-02 15:04:05.999999999" plus the zone when there is one, decimals
// at their scale), so switching formats never changes what a value says.
// Server errors come back wrapped with their gRPC status intact.
package querycli
