#!/usr/bin/env python3
"""Run Quiver's benchmarks against their same-run baselines and write
BENCHMARKS.md and the charts in bench/charts/.

    .venv/bin/python bench/run.py                      # everything (what `make bench` runs)
    .venv/bin/python bench/run.py --only stream,memory # a subset
    .venv/bin/python bench/run.py --quick              # small scale, minutes

Benchmarks: ``stream`` (throughput, 5 systems), ``latency`` (small queries
p50/p99 and time to first batch), ``memory`` (coordinator and worker peak
RSS vs result size), ``compression`` (what Zstd and LZ4 cost and save on a
result stream), ``tpch`` (TPC-H in MinIO, cold and warm), ``soak``
(bench/soak.sh, 64 clients). Each writes bench/out/results/<name>.json; the
report is rendered from every result file present, so a subset run updates
its own sections and keeps the others.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import benchlib as bl

ALL = ["stream", "latency", "memory", "compression", "tpch", "soak"]
FLIGHT = {"stream", "latency", "memory", "compression"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    p.add_argument("--quick", action="store_true", help="small scale and few runs (a smoke test in minutes)")
    p.add_argument("--rows", type=int, default=None, help="rows of the narrow and wide tables (default 10M, quick 300K)")
    p.add_argument("--runs", type=int, default=None, help="timed rounds for stream (default 3, quick 2)")
    p.add_argument("--latency-runs", type=int, default=None, help="timed runs per small query (default 1000, quick 100)")
    p.add_argument("--first-batch-runs", type=int, default=None, help="time-to-first-batch rounds (default 5, quick 2)")
    p.add_argument("--tpch-scale", type=float, default=None, help="TPC-H scale factor (default 1, quick 0.05)")
    p.add_argument("--tpch-runs", type=int, default=None, help="warm TPC-H passes (default 3, quick 1)")
    p.add_argument("--tpch-cold-runs", type=int, default=None, help="cold TPC-H passes (default 1)")
    p.add_argument("--tpch-queries", default=None, help="comma-separated TPC-H query numbers (default all 22)")
    p.add_argument("--soak", default=None, help="soak clients and duration (default '64 5m', quick '8 20s')")
    p.add_argument("--soak-scale", default="1", help="scale of the soak's demo data (default 1)")
    p.add_argument("--quiver-arg", action="append", default=[], help="extra `quiver serve` flag (repeatable)")
    p.add_argument("--results", type=Path, default=bl.RESULTS, help="where result JSON files go")
    p.add_argument("--out", type=Path, default=bl.OUT,
                   help="where generated data, server logs and working files go (default bench/out)")
    p.add_argument("--no-report", action="store_true", help="only write the result files")
    args = p.parse_args(argv)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = sorted(set(only) - set(ALL))
    if unknown:
        p.error(f"unknown benchmark {unknown}: want some of {ALL}")
    q = args.quick
    rows = args.rows or (300_000 if q else 10_000_000)
    runs = args.runs or (2 if q else 3)
    lat_runs = args.latency_runs or (100 if q else 1000)
    out = args.out.resolve()
    # make bench says how it was called; otherwise this script's own command line.
    command = os.environ.get("QUIVER_BENCH_COMMAND") or ".venv/bin/python bench/run.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )

    def result(name: str, data: dict, started: float) -> None:
        r = bl.Result(name, command, q, machine, data, time.time() - started)
        bl.log(f"{name}: wrote {r.save(args.results)} ({r.seconds:.0f}s)")

    machine = bl.machine()
    bl.log(f"machine: {machine['cpus']} CPUs {machine['cpu']}, {machine['ram_gib']} GiB, commit {machine['commit']} "
           f"({machine['tree']}), load {machine['load_before']:.2f}")
    if FLIGHT & set(only):
        import data
        import flight_bench as fb

        started = time.time()
        warehouse = data.ensure(out / "data", rows)
        bl.log(f"benchmark tables: {rows:,} rows in {warehouse} ({time.time() - started:.0f}s)")
        need: set[str] = set()
        if "stream" in only:
            need |= set(fb.STREAM_SYSTEMS)
        if "latency" in only:
            need |= set(fb.LATENCY_SYSTEMS) | set(fb.TTFB_SYSTEMS)
        if "memory" in only:
            need.add("quiver-proxy")
        work = out / "flight"
        session = fb.Session(warehouse, work, need, args.quiver_arg)
        try:
            if "stream" in only:
                started = time.time()
                result("stream", fb.stream(session, runs, rows), started)
            if "latency" in only:
                started = time.time()
                lat = fb.latency(session, lat_runs)
                lat["first_batch"] = fb.first_batch(session, args.first_batch_runs or (2 if q else 5))
                lat["first_batch"]["rows"] = rows
                result("latency", lat, started)
            if "memory" in only:
                started = time.time()
                result("memory", fb.memory(session, 1 if q else 2, rows), started)
            if "compression" in only:
                import compression

                started = time.time()
                result("compression", compression.run(warehouse, work, rows, runs, args.quiver_arg), started)
        finally:
            session.close()
    if "tpch" in only:
        import tpch

        started = time.time()
        data_ = tpch.run(
            args.tpch_scale or (0.05 if q else 1.0),
            args.tpch_runs or (1 if q else 3),
            args.tpch_cold_runs or 1,
            os.cpu_count() or 2,
            args.quiver_arg,
            out,
            [int(x) for x in args.tpch_queries.split(",")] if args.tpch_queries else None,
        )
        result("tpch", data_, started)
    if "soak" in only:
        started = time.time()
        clients, duration = (args.soak or ("8 20s" if q else "64 5m")).split()
        proc = subprocess.run(["bench/soak.sh", clients, duration, args.soak_scale], cwd=bl.ROOT, capture_output=True,
                              text=True, check=False, env={**os.environ, "QUIVER_BENCH_OUT": str(out)})
        if proc.returncode != 0:
            raise SystemExit(f"bench/soak.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        import json

        soak = json.loads((out / "soak.json").read_text())
        soak["markdown"] = proc.stdout
        scale = f" {args.soak_scale}" if args.soak_scale != "1" else ""
        soak["command"] = f"bench/soak.sh {clients} {duration}{scale}"
        result("soak", soak, started)
    if not args.no_report:
        import report

        report.write(args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
