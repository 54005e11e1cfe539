#!/usr/bin/env python3
"""TPC-H benchmark: the 22 queries through Quiver (1 and 2 workers) vs DuckDB alone.

The script starts its own MinIO, generates TPC-H at ``--scale`` with DuckDB's
tpch extension (loaded from ``.tools/duckdb-extensions``; no downloads) and
writes it to ``s3://quiver/tpch/main/<table>/part-N.parquet`` through httpfs,
split like the end-to-end tests do: lineitem and orders into 6 files by order
key, partsupp, part and customer into 3 by their key, the rest one file each.
Then, for the same S3 files:

* DuckDB: an in-process DuckDB with httpfs and ``--threads`` threads, one view
  per table over ``read_parquet``; each query's Arrow result is fetched whole;
* Quiver: ``quiver serve`` with N local workers (for each N of ``--workers``)
  and ``--worker-threads threads/N`` so the workers together have the same
  threads as DuckDB; each query is fetched with ``pyarrow.flight`` (SQL-text
  descriptor, every endpoint read).

Every query runs once untimed (warm-up: footers cached, httpfs connections
open) and then ``--runs`` times; the median wall time is reported. The
latency of a trivial ``SELECT 1`` is the median of ``--trivial-runs``. With the
2-worker (largest N) server, ``EXPLAIN`` of each query says whether it ran
distributed or fell back to one fragment. The result is a Markdown table
(printed; also written with ``--markdown-out``).

Not part of ``make test``: it takes minutes at scale 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "clients" / "python" / "tests"))

import duckdb  # noqa: E402
import pyarrow.flight as flight  # noqa: E402

from quiver_harness import find_tools  # noqa: E402
from quiver_harness.flightraw import RawFlight  # noqa: E402
from quiver_harness.servers import MinioServer, Warehouse, start_minio, start_quiver  # noqa: E402

DUCKDB_VERSION = "1.5.5"
BUCKET = "quiver"
PREFIX = "tpch"

# table -> (split key, files); a None key means one file.
SPLITS: dict[str, tuple[str | None, int]] = {
    "lineitem": ("l_orderkey", 6),
    "orders": ("o_orderkey", 6),
    "partsupp": ("ps_partkey", 3),
    "part": ("p_partkey", 3),
    "customer": ("c_custkey", 3),
    "supplier": (None, 1),
    "nation": (None, 1),
    "region": (None, 1),
}


def extension(tools_dir: Path, name: str) -> str:
    """The pinned extension file of this DuckDB version."""
    path = tools_dir / f"v{DUCKDB_VERSION}" / "linux_amd64" / f"{name}.duckdb_extension"
    if not path.exists():
        raise SystemExit(f"{path} not found: run `make tools`")
    return str(path)


def s3_connection(ext_dir: Path, minio: MinioServer, threads: int) -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB that reads and writes the MinIO bucket."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"SET threads = {threads}")
    con.execute(f"LOAD '{extension(ext_dir, 'httpfs')}'")
    con.execute(
        f"""CREATE SECRET minio (TYPE s3, KEY_ID '{minio.access_key}', SECRET '{minio.secret_key}',
            ENDPOINT '{minio.host_port}', URL_STYLE 'path', USE_SSL false, REGION '{minio.region}')"""
    )
    return con


def generate(ext_dir: Path, minio: MinioServer, scale: float) -> tuple[float, list[tuple[int, str]]]:
    """Run dbgen and write every table's files to MinIO; return the seconds it
    took and the 22 queries (number, SQL)."""
    started = time.monotonic()
    con = s3_connection(ext_dir, minio, os.cpu_count() or 2)
    con.execute(f"LOAD '{extension(ext_dir, 'tpch')}'")
    con.execute(f"CALL dbgen(sf := {scale})")
    for table, (key, files) in SPLITS.items():
        base = f"s3://{BUCKET}/{PREFIX}/main/{table}"
        if key is None:
            con.execute(f"COPY (SELECT * FROM {table}) TO '{base}/part-0.parquet' (FORMAT parquet)")
            continue
        (max_key,) = con.execute(f"SELECT max({key}) FROM {table}").fetchone()
        step = max_key // files + 1
        for i in range(files):
            con.execute(
                f"COPY (SELECT * FROM {table} WHERE {key} >= {i * step} AND {key} < {(i + 1) * step}) "
                f"TO '{base}/part-{i}.parquet' (FORMAT parquet)"
            )
    queries = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall()
    con.close()
    return time.monotonic() - started, [(int(nr), sql) for nr, sql in queries]


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Run fn once untimed, then runs times; return the median wall time."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class Column:
    """Column is one system's timings: per query number, plus SELECT 1."""

    name: str
    seconds: dict[int, float]
    trivial: float


def bench_duckdb(
    queries: list[tuple[int, str]], ext_dir: Path, minio: MinioServer, threads: int, runs: int, trivial_runs: int
) -> Column:
    con = s3_connection(ext_dir, minio, threads)
    for table in SPLITS:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('s3://{BUCKET}/{PREFIX}/main/{table}/*.parquet')"
        )
    seconds = {nr: median_seconds(lambda sql=sql: con.execute(sql).to_arrow_table(), runs) for nr, sql in queries}
    trivial = median_seconds(lambda: con.execute("SELECT 1").to_arrow_table(), trivial_runs)
    con.close()
    return Column(f"DuckDB ({threads} threads)", seconds, trivial)


def fetch(raw: RawFlight, sql: str) -> int:
    """Plan sql and read every endpoint; return the row count."""
    rows = 0
    for batch in raw.batches(raw.plan(sql)):
        rows += batch.num_rows
    return rows


def strategy(raw: RawFlight, sql: str) -> str:
    """The strategy row of EXPLAIN sql."""
    info = raw.plan("EXPLAIN " + sql)
    table = raw.open(info.endpoints[0]).read_all()
    for step, detail in zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True):
        if step == "strategy":
            return str(detail)
    return "?"


def bench_quiver(
    queries: list[tuple[int, str]],
    tools,
    warehouse: Warehouse, workers: int, threads: int, runs: int, trivial_runs: int, log_dir: Path
) -> tuple[Column, dict[int, str]]:
    per_worker = max(1, threads // workers)
    server = start_quiver(tools, warehouse, log_dir, local_workers=workers, extra_args=["--worker-threads", str(per_worker)])
    raw = RawFlight(server.uri)
    try:
        seconds = {nr: median_seconds(lambda sql=sql: fetch(raw, sql), runs) for nr, sql in queries}
        trivial = median_seconds(lambda: fetch(raw, "SELECT 1"), trivial_runs)
        strategies = {}
        for nr, sql in queries:
            try:
                strategies[nr] = strategy(raw, sql)
            except flight.FlightError as exc:
                strategies[nr] = f"EXPLAIN failed: {exc}"
    finally:
        raw.close()
        server.stop()
    return Column(f"Quiver {workers}w×{per_worker}t", seconds, trivial), strategies


def markdown(
    queries: list[tuple[int, str]],
    columns: list[Column], strategies: dict[int, str], scale: float, threads: int, runs: int, trivial_runs: int) -> str:
    base = columns[0]
    head = ["query"] + [c.name + " s" for c in columns] + [f"{c.name} / DuckDB" for c in columns[1:]] + ["plan (last Quiver)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for nr, _ in queries:
        cells = [f"q{nr:02d}"] + [f"{c.seconds[nr]:.3f}" for c in columns]
        cells += [f"{c.seconds[nr] / base.seconds[nr]:.2f}" for c in columns[1:]]
        cells.append(strategies.get(nr, "").split(";")[0] + (" (fallback)" if "fallback" in strategies.get(nr, "") else ""))
        lines.append("| " + " | ".join(cells) + " |")
    totals = [sum(c.seconds.values()) for c in columns]
    cells = ["**total**"] + [f"**{t:.2f}**" for t in totals] + [f"**{t / totals[0]:.2f}**" for t in totals[1:]] + [""]
    lines.append("| " + " | ".join(cells) + " |")
    cells = ["`SELECT 1` (ms)"] + [f"{c.trivial * 1000:.2f}" for c in columns] + [f"{c.trivial / base.trivial:.0f}×" for c in columns[1:]] + [""]
    lines.append("| " + " | ".join(cells) + " |")
    distributed = sum(1 for s in strategies.values() if not s.startswith("single") and "fallback" not in s and "failed" not in s)
    lines.append("")
    lines.append(
        f"TPC-H scale {scale:g} in MinIO on this machine ({os.cpu_count()} CPUs, {platform.machine()}), "
        f"{threads} threads in total per system, median of {runs} runs after one warm-up "
        f"(`SELECT 1`: median of {trivial_runs}). Distributed (EXPLAIN strategy other than `single`): "
        f"**{distributed} of {len(queries)}** queries; the others fell back to one fragment."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query; the median is reported")
    parser.add_argument("--trivial-runs", type=int, default=50, help="timed runs of SELECT 1")
    parser.add_argument("--workers", default="1,2", help="comma-separated local worker counts for Quiver")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="total threads per system")
    parser.add_argument("--workdir", type=Path, default=None, help="where MinIO keeps its data (default: a temp dir)")
    parser.add_argument("--markdown-out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()

    tools = find_tools()
    for path in (tools.quiver_bin, tools.minio_bin):
        if not path.exists():
            raise SystemExit(f"{path} not found: run `make build tools`")
    with tempfile.TemporaryDirectory(prefix="quiver-tpch-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        minio = start_minio(tools, work, bucket=BUCKET)
        try:
            took, queries = generate(tools.extension_dir, minio, args.scale)
            print(f"generated TPC-H sf {args.scale:g} into MinIO in {took:.1f}s", file=sys.stderr)
            warehouse = Warehouse(
                "s3",
                f"s3://{BUCKET}/{PREFIX}",
                args.scale,
                env=minio.aws_env(),
                args=["--s3-endpoint", minio.endpoint],
                minio=minio,
            )
            columns = [bench_duckdb(queries, tools.extension_dir, minio, args.threads, args.runs, args.trivial_runs)]
            print("duckdb done", file=sys.stderr)
            strategies: dict[int, str] = {}
            for n in (int(x) for x in args.workers.split(",")):
                col, strategies = bench_quiver(queries, tools, warehouse, n, args.threads, args.runs, args.trivial_runs, work / "logs")
                columns.append(col)
                print(f"quiver with {n} workers done", file=sys.stderr)
        finally:
            minio.stop()
    table = markdown(queries, columns, strategies, args.scale, args.threads, args.runs, args.trivial_runs)
    print(table)
    if args.markdown_out:
        args.markdown_out.parent.mkdir(parents=True, exist_ok=True)
        args.markdown_out.write_text(table)


if __name__ == "__main__":
    main()
