"""The analytical corpus: how many shapes are distributed, and at what cost.

Runs every query of the planner's golden files marked ``distributed`` (the
corpus of CTEs, set operations, subqueries, windows, grouping sets,
moments and holistic aggregates; 121 queries) over the demo dataset
(``quiver demo-data --scale S``, local warehouse) three ways, interleaved:
in-process DuckDB with 2 threads over the same files (the baseline),
``quiver serve`` with 1 worker x 2 threads, and with 2 workers x 1 thread.
Each query runs once to warm and ``--reps`` more times per system; the
median wall time (results fetched) counts. It also records EXPLAIN's
strategy on the 2-worker server (distributed: anything but ``single``).

    .venv/bin/python bench/shapes.py [--scale 1] [--reps 3] [--out bench/out/shapes]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.flight as fl

from localserve import ROOT, serve

TABLES = ("titles", "profiles", "plays", "events")


def corpus() -> list[dict[str, str]]:
    """The golden cases marked distributed (without arguments), in file order."""
    out = []
    for path in sorted((ROOT / "planner/testdata").glob("*_cases.json")):
        for case in json.loads(path.read_text()):
            # Cases with arguments are prepared statements: the corpus
            # runs plain SQL.
            if case.get("options", {}).get("distributed") and not case.get("options", {}).get("args"):
                out.append({"name": case["comment"], "sql": case["query"], "file": path.name})
    return out


def run_quiver(client: fl.FlightClient, sql: str) -> int:
    info = client.get_flight_info(fl.FlightDescriptor.for_command(sql))
    return sum(client.do_get(ep.ticket).read_all().num_rows for ep in info.endpoints)


def strategy(client: fl.FlightClient, sql: str) -> str:
    info = client.get_flight_info(fl.FlightDescriptor.for_command("EXPLAIN " + sql))
    rows = client.do_get(info.endpoints[0].ticket).read_all().to_pylist()
    return next(str(r["detail"]) for r in rows if r["step"] == "strategy")


def demo_duckdb(out: Path, scale: float) -> tuple[Path, duckdb.DuckDBPyConnection]:
    """The demo warehouse under out (written once per scale) and the
    baseline: an in-process DuckDB with 2 threads and a view per table."""
    wh = out / f"warehouse-{scale:g}"
    out.mkdir(parents=True, exist_ok=True)
    if not (wh / "demo/plays").exists():
        subprocess.run([str(ROOT / "bin/quiver"), "demo-data", "--warehouse", str(wh), "--scale", str(scale)], check=True)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE SCHEMA demo")
    for t in TABLES:
        con.execute(f"CREATE VIEW demo.{t} AS SELECT * FROM read_parquet('{wh}/demo/{t}/**/*.parquet', hive_partitioning = true)")
    return wh, con


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "bench/out/shapes")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--limit", type=int, default=0, help="run only the first N queries (a smoke run)")
    p.add_argument("--match", default="", help="run only the queries whose name contains this text (or one of A|B|…)")
    args = p.parse_args(argv)
    out: Path = args.out
    wh, con = demo_duckdb(out, args.scale)
    matches = args.match.split("|")
    queries = [q for q in corpus() if any(m in q["name"] for m in matches)][: args.limit or None]
    results: list[dict[str, Any]] = []
    with ExitStack() as stack:
        one = stack.enter_context(serve(wh, 1, [], out / "1w.log", threads=2))
        two = stack.enter_context(serve(wh, 2, [], out / "2w.log", threads=1))
        for q in queries:
            times: dict[str, list[float]] = {"duckdb": [], "1w": [], "2w": []}
            rows: dict[str, int] = {}
            errors: dict[str, str] = {}
            runners = {
                "duckdb": lambda sql=q["sql"]: con.execute(sql).to_arrow_table().num_rows,
                "1w": lambda sql=q["sql"]: run_quiver(one.client, sql),
                "2w": lambda sql=q["sql"]: run_quiver(two.client, sql),
            }
            for rep in range(args.reps + 1):
                for name, run in runners.items():
                    if name in errors:
                        continue
                    start = time.perf_counter()
                    try:
                        rows[name] = run()
                    except (fl.FlightError, duckdb.Error, OSError) as e:  # e.g. a worker out of memory
                        errors[name] = str(e).splitlines()[0][:300]
                        continue
                    if rep > 0:  # the first pass warms caches
                        times[name].append(time.perf_counter() - start)
            if len(set(rows.values())) > 1:
                raise SystemExit(f"{q['name']}: row counts differ {rows}")
            results.append({
                **q, "rows": next(iter(rows.values()), -1), "strategy_2w": strategy(two.client, q["sql"]), "errors": errors,
                **{f"{k}_s": statistics.median(v) if v and k not in errors else None for k, v in times.items()},
            })
            cells = " ".join("error" if results[-1][f"{k}_s"] is None else f"{results[-1][f'{k}_s']:.3f}" for k in times)
            print(f"{cells}  {q['name']}", flush=True)
    # Totals over the queries every system answered.
    ok = [r for r in results if not r["errors"]]
    total = {k: sum(r[f"{k}_s"] for r in ok) for k in ("duckdb", "1w", "2w")}
    distributed = sum(1 for r in results if not r["strategy_2w"].startswith("single"))
    summary = {
        "queries": len(results), "distributed_2w": distributed, "scale": args.scale, "answered_by_all": len(ok),
        "errors": {r["name"]: r["errors"] for r in results if r["errors"]},
        "total_s": total, "ratio_1w": total["1w"] / total["duckdb"], "ratio_2w": total["2w"] / total["duckdb"],
        "strategies": {s: sum(1 for r in results if r["strategy_2w"].split(";")[0] == s)
                       for s in sorted({r["strategy_2w"].split(";")[0] for r in results})},
    }
    (out / "result.json").write_text(json.dumps({"summary": summary, "queries": results}, indent=1))
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
