// Command soak drives a running Quiver with many concurrent clients mixing
// small lookups, aggregates and large scans, and reports throughput,
// latency percentiles, errors by gRPC code and the peak resident memory of
// the coordinator and its workers (sampled from /proc every second, with
// the first and last minute compared to show growth).
//
// The baseline, measured in the same run before the load starts, is each
// query class run alone by one client: the report gives the loaded p50 as
// a ratio of it.
//
//	go run ./bench/soak --addr 127.0.0.1:8815 --pid $(pgrep -f 'quiver serve') --clients 64 --duration 5m
package main
