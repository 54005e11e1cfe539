// Package querycli is the logic of `quiver query`: run one SQL statement on
// a Quiver (or any Flight SQL) server and print, write or publish the
// result.
//
// Run executes the statement through package client, which
// fetches the FlightInfo's endpoints one after the other — from the server
// itself when an endpoint has no location, otherwise from the location —
// presenting them as a single array.RecordReader, which package output
// renders (table, csv, json or parquet). OutputFormat is the one rule that
// picks the format for every --out form; WriteFile writes a local file and
// RunPublish publishes an object through package publish, the way report
// jobs do. Server errors come back wrapped with their gRPC status intact.
package querycli
