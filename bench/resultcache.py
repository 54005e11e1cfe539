"""The result cache: a repeated dashboard statement, answered from the
cache, against the same statement planned and run, and DuckDB in-process.

    .venv/bin/python bench/resultcache.py --rows 1000000 --runs 300

Systems, over the benchmark warehouse (bench/data.py), all in this run,
taking turns per iteration (the order rotating):

* ``duckdb``: in-process DuckDB over the same files;
* ``quiver-off``: ``quiver serve`` with 2 workers and
  ``--result-cache-size 256MB``, each request sending
  ``x-quiver-result-cache: off`` (planned and run every time);
* ``quiver-cached``: the same server without the header (the first run
  fills the cache, the timed ones hit it).

Each is timed from the request to the last batch in a pyarrow Table,
plain pyarrow.flight (GetFlightInfo on a SQL-text descriptor, then DoGet
of every endpoint). Every answer is compared with DuckDB's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

import benchlib as bl
import data
from flight_bench import AGGREGATE, InProcess
from quiver_harness import find_tools
from quiver_harness.servers import Warehouse, start_quiver

QUERIES = {
    "small aggregate": AGGREGATE,
    "dashboard over narrow": "SELECT id % 10 AS bucket, count(*) AS n, sum(id) AS total FROM bench.narrow GROUP BY ALL ORDER BY ALL",
    "top 100 of wide": "SELECT * FROM bench.wide ORDER BY id DESC LIMIT 100",
}
SYSTEMS = ["duckdb", "quiver-off", "quiver-cached"]


class Client:
    """A plain pyarrow.flight client sending fixed headers."""

    def __init__(self, uri: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.client = flight.FlightClient(uri)
        self.options = flight.FlightCallOptions(headers=headers)

    def table(self, sql: str) -> pa.Table:
        info = self.client.get_flight_info(flight.FlightDescriptor.for_command(sql.encode()), self.options)
        parts = [self.client.do_get(ep.ticket, self.options).read_all() for ep in info.endpoints]
        return pa.concat_tables(parts) if len(parts) != 1 else parts[0]

    def close(self) -> None:
        self.client.close()


def same(a: pa.Table, b: pa.Table) -> bool:
    return a.num_rows == b.num_rows and a.to_pylist() == b.to_pylist()


def run(rows: int, runs: int, out: Path) -> dict[str, Any]:
    warehouse = data.ensure(out / "data", rows)
    tools = find_tools()
    wh = Warehouse("local", str(warehouse), 0, local_path=warehouse)
    server = start_quiver(
        tools,
        wh,
        out / "logs",
        local_workers=2,
        timeout=120,
        extra_args=["--log-level", "warn", "--result-cache-size", "256MB"],
    )
    duck = InProcess(warehouse)
    sources: dict[str, Any] = {
        "duckdb": duck,
        "quiver-off": Client(server.uri, [(b"x-quiver-result-cache", b"off")]),
        "quiver-cached": Client(server.uri, []),
    }
    result: dict[str, Any] = {"rows": rows, "runs": runs, "queries": {}}
    try:
        for name, sql in QUERIES.items():
            want = duck.table(sql)
            times: dict[str, list[float]] = {n: [] for n in SYSTEMS}
            for r, system in bl.interleave(SYSTEMS, runs + 5):
                took, got = bl.timed(lambda system=system, sql=sql: sources[system].table(sql))
                if not same(want, got):
                    raise SystemExit(f"{system}: {name}: the answer differs from DuckDB's")
                if r >= 5:
                    times[system].append(took * 1000)
            stats = {n: {"p50_ms": bl.percentile(v, 50), "p99_ms": bl.percentile(v, 99)} for n, v in times.items()}
            result["queries"][name] = stats
            bl.log(
                f"  {name}: "
                + ", ".join(f"{n} p50 {s['p50_ms']:.2f} ms p99 {s['p99_ms']:.2f} ms" for n, s in stats.items())
            )
    finally:
        for s in sources.values():
            s.close()
        server.stop()
    return result


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"{r['runs']} timed runs per system, {r['rows']:,}-row narrow and wide tables.",
        "",
        "| statement | DuckDB in-process p50 | planned and run p50 / p99 | from the cache p50 / p99 | cached / DuckDB | cached / planned |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in r["queries"].items():
        d, off, hit = s["duckdb"], s["quiver-off"], s["quiver-cached"]
        lines.append(
            f"| {name} | {d['p50_ms']:.2f} ms | {off['p50_ms']:.2f} / {off['p99_ms']:.2f} ms | "
            f"{hit['p50_ms']:.2f} / {hit['p99_ms']:.2f} ms | {hit['p50_ms'] / d['p50_ms']:.2f}× | "
            f"{hit['p50_ms'] / off['p50_ms']:.2f}× |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the narrow and wide tables")
    p.add_argument("--runs", type=int, default=300, help="timed runs per system and statement")
    p.add_argument("--out", type=Path, default=bl.OUT, help="generated data and logs")
    args = p.parse_args(argv)
    machine = bl.machine()
    bl.log(
        f"machine: {machine['cpus']} CPUs, commit {machine['commit']} ({machine['tree']}), load {machine['load_before']:.2f}"
    )
    r = run(args.rows, args.runs, args.out.resolve())
    sys.stdout.write(markdown(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
