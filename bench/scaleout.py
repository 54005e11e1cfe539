"""Scale-out projection: TPC-H with N = 1, 2, 4 workers of one thread each.

A 2-core machine cannot show 4 workers running at once, so this projects
their wall time from what each stage's workers did. For every query and N:

* ``W``: the query's wall time at the client (median of ``--runs``, results
  fetched), with ``quiver serve --local-workers N --worker-threads 1``;
* ``EXPLAIN ANALYZE`` of the same query: per stage, every fragment's wall
  time and its worker's process CPU time (first start to last end of that
  worker's fragments in the stage, ``busiest``);
* coordinator time ``C = W - sum over stages of the slowest fragment's
  wall``: planning, dispatch, the merge, relaying;
* the projection on N machines ``P(N) = sum over stages of busiest + C``.

At N = 1 and N = 2 (each worker has a core of its own) the projection is
checked against the measured ``W``; at N = 4 the workers share two cores, so
only the projection means anything. The tables are written by DuckDB's
tpch extension, lineitem and orders in 8 files by order key and partsupp,
part and customer in 4, so every N divides the big tables evenly.

    .venv/bin/python bench/scaleout.py [--scale 10] [--runs 2] [--out bench/out/scaleout]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.flight as fl

from localserve import ROOT, serve

TPCH_EXT = ROOT / ".tools/duckdb-extensions/v1.5.5/linux_amd64/tpch.duckdb_extension"
SPLITS = {"lineitem": ("l_orderkey", 8), "orders": ("o_orderkey", 8), "partsupp": ("ps_partkey", 4),
          "part": ("p_partkey", 4), "customer": ("c_custkey", 4), "supplier": (None, 1),
          "nation": (None, 1), "region": (None, 1)}
STAGE = re.compile(r"^analyze stage (\d+)( |$)")
DETAIL = re.compile(r"wall=([\d.]+)ms cpu=([\d.]+)ms$")
BUSIEST = re.compile(r"busiest worker=\S+ cpu=([\d.]+)ms$")


def generate(wh: Path, scale: float) -> list[tuple[int, str]]:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{TPCH_EXT}'")
    queries = [(int(n), str(q)) for n, q in con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY 1").fetchall()]
    if (wh / ".complete").exists():
        return queries
    con.execute(f"CALL dbgen(sf={scale})")
    for table, (key, parts) in SPLITS.items():
        (wh / "main" / table).mkdir(parents=True, exist_ok=True)
        if key is None:
            con.execute(f"COPY {table} TO '{wh}/main/{table}/part-0.parquet' (FORMAT parquet)")
            continue
        top = con.execute(f"SELECT max({key}) FROM {table}").fetchone()
        assert top is not None
        for i in range(parts):
            lo, hi = top[0] * i // parts, top[0] * (i + 1) // parts
            con.execute(f"COPY (SELECT * FROM {table} WHERE {key} > {lo} AND {key} <= {hi}) "
                        f"TO '{wh}/main/{table}/part-{i}.parquet' (FORMAT parquet)")
    (wh / ".complete").write_text("")
    return queries


def analyze(client: fl.FlightClient, sql: str) -> dict[str, Any]:
    """Per stage: the slowest fragment's wall and the busiest worker's CPU (ms)."""
    info = client.get_flight_info(fl.FlightDescriptor.for_command("EXPLAIN ANALYZE " + sql))
    table = client.do_get(info.endpoints[0].ticket).read_all()
    stages: dict[int, dict[str, float]] = {}
    for step, detail in zip(table.column("step").to_pylist(), table.column("detail").to_pylist(), strict=True):
        m = STAGE.match(step)
        if not m:
            continue
        st = stages.setdefault(int(m.group(1)), {"slowest": 0.0, "busiest": 0.0, "fragments": 0})
        if m.group(2) == "":
            b = BUSIEST.search(detail)
            st["busiest"] = float(b.group(1)) if b else 0.0
        elif d := DETAIL.search(detail):
            st["slowest"] = max(st["slowest"], float(d.group(1)))
            st["fragments"] += 1
    return {"stages": [stages[k] for k in sorted(stages)]}


def measure(wh: Path, out: Path, workers: int, queries: list[tuple[int, str]], runs: int) -> dict[str, Any]:
    with serve(wh, workers, [], out / f"quiver-{workers}w.log", threads=1) as srv:
        result: dict[str, Any] = {}
        for nr, sql in queries:
            walls = []
            for _ in range(runs + 1):  # the first run warms caches
                start = time.perf_counter()
                info = srv.client.get_flight_info(fl.FlightDescriptor.for_command(sql))
                for ep in info.endpoints:
                    srv.client.do_get(ep.ticket).read_all()
                walls.append((time.perf_counter() - start) * 1000)
            a = analyze(srv.client, sql)
            w = statistics.median(walls[1:])
            coord = max(0.0, w - sum(s["slowest"] for s in a["stages"]))
            a.update(wall=w, coordinator=coord, projected=sum(s["busiest"] for s in a["stages"]) + coord)
            result[f"q{nr:02d}"] = a
            print(f"{workers}w q{nr:02d}: wall {w:.0f} ms, projected {a['projected']:.0f} ms, "
                  f"{len(a['stages'])} stages", flush=True)
        return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=10)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--out", type=Path, default=ROOT / "bench/out/scaleout")
    args = p.parse_args()
    out: Path = args.out
    wh = out / f"sf{args.scale:g}"
    out.mkdir(parents=True, exist_ok=True)
    queries = generate(wh, args.scale)
    results = {n: measure(wh, out, n, queries, args.runs) for n in (int(x) for x in args.workers.split(","))}
    summary: dict[str, Any] = {"scale": args.scale}
    for n, res in results.items():
        wall = sum(q["wall"] for q in res.values())
        proj = sum(q["projected"] for q in res.values())
        summary[f"{n}w"] = {"wall_s": wall / 1000, "projected_s": proj / 1000, "error": proj / wall - 1}
    if 1 in results:
        base = summary["1w"]["projected_s"]
        for n in results:
            summary[f"{n}w"]["projected_speedup"] = base / summary[f"{n}w"]["projected_s"]
    (out / f"sf{args.scale:g}-result.json").write_text(json.dumps({"summary": summary, "queries": results}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
