"""A GROUP BY of ~15M groups over lineitem ⋈ orders (TPC-H SF10) under a memory limit.

Runs ``SELECT o_orderkey, count(*), sum(l_extendedprice) FROM lineitem JOIN
orders ON l_orderkey = o_orderkey GROUP BY o_orderkey`` (one group per
order: 15M at SF10) with ``quiver serve`` over the warehouse
``bench/scaleout.py`` writes (lineitem and orders in 8 files by order-key
range), as one worker and as two workers with ``--worker-memory-limit``
below the size of ``orders`` in memory, and reports whether each completes,
its wall time, and the peak RSS (VmHWM) of the coordinator and every
worker, with the rows checked against in-process DuckDB's count.

    .venv/bin/python bench/memory_sf10.py [--warehouse bench/out/scaleout/sf10] [--memory 1GB]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.flight as fl

from localserve import ROOT, serve

QUERY = ("SELECT o.o_orderkey, count(*) AS n, sum(l.l_extendedprice) AS revenue FROM main.lineitem l "
         "JOIN main.orders o ON l.l_orderkey = o.o_orderkey GROUP BY o.o_orderkey")


def run(wh: Path, out: Path, name: str, workers: int, args: list[str]) -> dict[str, Any]:
    with serve(wh, workers, args, out / f"memory-{name}.log", threads=1) as srv:
        info = srv.client.get_flight_info(fl.FlightDescriptor.for_command("EXPLAIN " + QUERY))
        plan = srv.client.do_get(info.endpoints[0].ticket).read_all().column("detail")[0].as_py()
        start = time.perf_counter()
        result: dict[str, Any] = {"plan": plan}
        try:
            info = srv.client.get_flight_info(fl.FlightDescriptor.for_command(QUERY))
            rows = 0
            for ep in info.endpoints:
                for chunk in srv.client.do_get(ep.ticket):
                    rows += chunk.data.num_rows
            result.update(ok=True, rows=rows, seconds=time.perf_counter() - start)
        except fl.FlightError as e:
            result.update(ok=False, error=str(e)[:300], seconds=time.perf_counter() - start)
        result["rss_mib"] = srv.peak_rss()
        return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warehouse", type=Path, default=ROOT / "bench/out/scaleout/sf10")
    p.add_argument("--memory", default="1GB", help="--worker-memory-limit of the two-worker runs")
    p.add_argument("--out", type=Path, default=ROOT / "bench/out/scaleout")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    orders = con.execute(f"SELECT count(*) FROM read_parquet('{a.warehouse}/main/orders/*.parquet')").fetchone()
    assert orders is not None
    results: dict[str, Any] = {"orders_rows": orders[0]}
    for name, workers, args in (
        ("1w", 1, []),
        ("2w", 2, ["--worker-memory-limit", a.memory]),
        ("2w-broadcast", 2, ["--worker-memory-limit", a.memory, "--broadcast-bytes", "0"]),
    ):
        results[name] = run(a.warehouse, a.out, name, workers, args)
        print(name, json.dumps(results[name]), flush=True)
    (a.out / "memory-result.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
