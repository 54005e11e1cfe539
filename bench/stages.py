"""Final aggregates on workers: a GROUP BY of 1.5M groups (TPC-H SF1).

Runs two high-cardinality aggregates over a local TPC-H SF1 warehouse
(lineitem and orders 6 files each, split by a hash of the order key) with
``quiver serve`` as 1 worker × 2 threads and as 2 workers × 1 thread, three
ways:

* ``coordinator-merge``: ``--final-aggregate-groups 0``, partials merged on
  the coordinator (the plan before final aggregates on workers);
* ``final-on-workers``: the default, partials exchanged on the group key and
  merged by one final fragment per worker;
* ``exchanged``: ``--broadcast-rows 1000000``, the join repartitioned on the
  order key, so each fragment's groups are whole and nothing is merged;

and once more over the same tables split by order-key ranges
(``disjoint-files``: groups whole in every fragment without an exchange);

and in-process DuckDB (2 threads) over the same files as the baseline. It
prints, per system, the median wall time of each query (3 runs, results
fetched) and the peak RSS (VmHWM) of the coordinator and each worker.

    .venv/bin/python bench/stages.py [--out bench/out/stages]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.flight as fl

from localserve import ROOT, serve

TPCH_EXT = ROOT / ".tools/duckdb-extensions/v1.5.5/linux_amd64/tpch.duckdb_extension"
QUERIES = {
    "agg": "SELECT l_orderkey, sum(l_extendedprice) AS revenue, count(*) AS n FROM main.lineitem GROUP BY l_orderkey",
    "join": "SELECT o.o_orderkey, o.o_orderdate, sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue "
    "FROM main.lineitem l JOIN main.orders o ON l.l_orderkey = o.o_orderkey GROUP BY o.o_orderkey, o.o_orderdate",
}


def generate(wh: Path, ranged: bool) -> None:
    """Write lineitem and orders at SF1 unless they are there: in 6 files by
    order-key range (ranged: no two files share a key, so a GROUP BY on it
    is whole in every fragment) or by a hash of the key (every file holds
    keys from the whole range, so the groups must be merged)."""
    if (wh / "main/orders/part-5.parquet").exists():
        return
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{TPCH_EXT}'")
    con.execute("CALL dbgen(sf=1)")
    for table, key in (("lineitem", "l_orderkey"), ("orders", "o_orderkey")):
        (wh / "main" / table).mkdir(parents=True, exist_ok=True)
        top = con.execute(f"SELECT max({key}) FROM {table}").fetchone()
        assert top is not None
        for i in range(6):
            lo, hi = top[0] * i // 6, top[0] * (i + 1) // 6
            where = f"{key} > {lo} AND {key} <= {hi}" if ranged else f"hash({key} // 1000) % 6 = {i}"
            con.execute(f"COPY (SELECT * FROM {table} WHERE {where}) TO '{wh}/main/{table}/part-{i}.parquet' (FORMAT parquet)")


def quiver(wh: Path, out: Path, name: str, workers: int, args: list[str], reps: int = 3) -> dict[str, Any]:
    with serve(wh, workers, args, out / f"{name}.log") as srv:
        result: dict[str, Any] = {}
        for qn, sql in QUERIES.items():
            times, rows, endpoints = [], 0, 0
            for _ in range(reps):
                start = time.perf_counter()
                info = srv.client.get_flight_info(fl.FlightDescriptor.for_command(sql))
                rows = sum(srv.client.do_get(ep.ticket).read_all().num_rows for ep in info.endpoints)
                times.append(time.perf_counter() - start)
                endpoints = len(info.endpoints)
            result[qn] = {"seconds": statistics.median(times), "rows": rows, "endpoints": endpoints}
        result["rss_mib"] = srv.peak_rss()
        return result


def in_process(wh: Path, reps: int = 3) -> dict[str, Any]:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for table in ("lineitem", "orders"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{wh}/main/{table}/*.parquet')")
    result: dict[str, Any] = {}
    for qn, sql in QUERIES.items():
        times, rows = [], 0
        for _ in range(reps + 1):  # the first run warms the page cache
            start = time.perf_counter()
            rows = con.execute(sql.replace("main.", "")).to_arrow_table().num_rows
            times.append(time.perf_counter() - start)
        result[qn] = {"seconds": statistics.median(times[1:]), "rows": rows}
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "bench/out/stages")
    out = p.parse_args().out
    wh, ranged = out / "hashed", out / "ranged"
    out.mkdir(parents=True, exist_ok=True)
    generate(wh, ranged=False)
    generate(ranged, ranged=True)
    results: dict[str, Any] = {"duckdb": in_process(wh)}
    for name, workers, args, where in (
        ("1w", 1, [], wh),
        ("2w-coordinator-merge", 2, ["--final-aggregate-groups", "0"], wh),
        ("2w-final-on-workers", 2, [], wh),
        ("2w-exchanged", 2, ["--broadcast-rows", "1000000"], wh),
        ("2w-disjoint-files", 2, [], ranged),
    ):
        results[name] = quiver(where, out, name, workers, args)
    (out / "result.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
