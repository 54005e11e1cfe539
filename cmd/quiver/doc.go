// Command quiver is the one Quiver binary: the coordinator (serve), its
// DuckDB workers (worker), a demo dataset generator (demo-data) and a
// command-line client (query). It parses configuration, wires the packages
// together and runs them; the logic lives in those packages.
package main
