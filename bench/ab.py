#!/usr/bin/env python3
"""Before/after for one speed change: two quiver binaries side by side.

    .venv/bin/python bench/ab.py --before /tmp/quiver-before --after bin/quiver

Starts one ``quiver serve`` per binary (2 local workers, proxy routing, the
same flags) on the benchmark warehouse and runs, interleaved (A B, B A, …):
SELECT * of bench.narrow and bench.wide into a pyarrow Table, point
lookups, and with ``--tests`` also the latency benchmark's small aggregate
(the same text every time) and a prepared point lookup through ADBC (one
prepared statement executed with a new parameter each time). Prints medians (min–max) and after/before ratios as Markdown, and
writes bench/out/results/ab-<label>.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchlib as bl
import data
from flight_bench import AGGREGATE
from quiver_harness import find_tools
from quiver_harness.servers import Warehouse, start_quiver

PREPARED = "SELECT * FROM bench.items WHERE item_id = ?"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path, required=True, help="quiver binary without the change")
    p.add_argument("--after", type=Path, required=True, help="quiver binary with the change")
    p.add_argument("--label", default="change", help="name of the change (result file name)")
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--runs", type=int, default=5, help="interleaved rounds of each scan")
    p.add_argument("--lookups", type=int, default=300, help="interleaved point lookups")
    p.add_argument("--routing", default="proxy")
    p.add_argument("--tests", default="stream,lookup", help="comma-separated: stream, lookup, aggregate, prepared")
    p.add_argument("--quiver-arg", action="append", default=[], help="flag for both servers")
    p.add_argument("--before-arg", action="append", default=[], help="flag for the before server only")
    p.add_argument("--after-arg", action="append", default=[], help="flag for the after server only")
    args = p.parse_args()
    tests = {t.strip() for t in args.tests.split(",") if t.strip()}
    unknown = tests - {"stream", "lookup", "aggregate", "prepared"}
    if unknown:
        p.error(f"unknown tests {sorted(unknown)}")
    warehouse = data.ensure(bl.OUT / "data", args.rows)
    wh = Warehouse("local", str(warehouse), 0, local_path=warehouse)
    tools = find_tools()
    servers, sources = {}, {}
    closers: list[Callable[[], object]] = []
    try:
        for name, binary, extra in (("before", args.before, args.before_arg), ("after", args.after, args.after_arg)):
            t = dataclasses.replace(tools, quiver_bin=binary.resolve())
            servers[name] = start_quiver(t, wh, bl.OUT / "ab" / "logs", local_workers=2, timeout=120, extra_args=[
                "--result-routing", args.routing, "--log-level", "warn", *args.quiver_arg, *extra])
            sources[name] = bl.FlightSource(servers[name].uri)
        names = ["before", "after"]
        res: dict[str, Any] = {"label": args.label, "rows": args.rows, "machine": bl.machine(), "tests": {}}
        for table in ("narrow", "wide") if "stream" in tests else ():
            sql = f"SELECT * FROM bench.{table}"
            times: dict[str, list[float]] = {n: [] for n in names}
            for r, n in bl.interleave(names, args.runs + 1):
                took, t = bl.timed(lambda n=n, sql=sql: sources[n].table(sql))
                assert t.num_rows == args.rows, (n, t.num_rows)
                del t
                if r:
                    times[n].append(args.rows / took / 1e6)
            res["tests"][f"stream {table} (M rows/s)"] = {n: bl.Stat.of(v) for n, v in times.items()}
            bl.log(f"  {table}: " + ", ".join(f"{n} {bl.Stat.of(v).median:.2f}" for n, v in times.items()))
        rng = random.Random(3)
        small: dict[str, Callable[[str], Callable[[], object]]] = {
            "lookup": lambda n: lambda: sources[n].table(
                f"SELECT * FROM bench.items WHERE item_id = {rng.randrange(data.ITEMS)}"),
            "aggregate": lambda n: lambda: sources[n].table(AGGREGATE),
        }
        if "prepared" in tests:
            import adbc_driver_flightsql.dbapi as flightsql

            cursors = {}
            for n in names:
                conn = flightsql.connect(servers[n].uri, autocommit=True)
                closers.append(conn.close)
                cursors[n] = conn.cursor()
                closers.insert(0, cursors[n].close)

            def prepared(n: str) -> Callable[[], object]:
                def run() -> object:
                    cursors[n].execute(PREPARED, (rng.randrange(data.ITEMS),))
                    return cursors[n].fetch_arrow_table()
                return run

            small["prepared"] = prepared
        for test in ("lookup", "aggregate", "prepared"):
            if test not in tests:
                continue
            lat: dict[str, list[float]] = {n: [] for n in names}
            for r, n in bl.interleave(names, args.lookups + 20):
                took, _ = bl.timed(small[test](n))
                if r >= 20:
                    lat[n].append(took * 1000)
            res["tests"][f"{test} p50 (ms)"] = {n: bl.Stat.of(v) for n, v in lat.items()}
            res["tests"][f"{test} p99 (ms)"] = {n: bl.Stat(bl.percentile(v, 99), min(v), max(v), len(v))
                                               for n, v in lat.items()}
            bl.log(f"  {test}: " + ", ".join(f"{n} p50 {bl.Stat.of(v).median:.2f} ms" for n, v in lat.items()))
    finally:
        for close in closers:
            close()
        for s in sources.values():
            s.close()
        for s in servers.values():
            s.stop()
    lines = [f"| {args.label} | before | after | after / before |", "|---|---:|---:|---:|"]
    for test, st in res["tests"].items():
        b, a = st["before"], st["after"]
        lines.append(f"| {test} | {b.median:.2f} ({b.min:.2f}–{b.max:.2f}) | {a.median:.2f} ({a.min:.2f}–{a.max:.2f}) "
                     f"| {a.median / b.median:.2f} |")
    res["markdown"] = "\n".join(lines)
    print(res["markdown"])
    bl.Result(f"ab-{args.label}", "bench/ab.py " + " ".join(sys.argv[1:]), False, res["machine"], res).save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
