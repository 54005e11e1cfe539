"""TPC-H in MinIO: Quiver with 1 and 2 workers vs DuckDB alone with httpfs.

MinIO runs on a data directory under bench/out/tpch (kept between runs, so
the data is generated once per scale). The tables are written by DuckDB's
tpch extension through httpfs to ``s3://quiver/tpch/main/<table>/``, split
like the end-to-end tests (lineitem and orders 6 files by order key,
partsupp, part and customer 3, the rest one file).

Systems, all with the same number of threads in total:

* ``duckdb``: in-process DuckDB, httpfs, one view per table over read_parquet;
* ``quiver-1w``: ``quiver serve`` with 1 local worker × all threads;
* ``quiver-2w``: 2 local workers × half the threads each.

*Warm*: all three up, one untimed pass, then ``runs`` passes; each query runs
on the three systems one after the other, order rotating (A B C, B C A, …).
*Cold*: before each query every system is fresh — a new DuckDB database
with ``enable_external_file_cache`` off, a newly started ``quiver serve``
(its workers' DuckDB file caches, footer caches and S3 connections empty) —
so nothing but MinIO's own page cache is warm. S3 GET requests and bytes
sent by MinIO are counted from its audit webhook around one cold and one warm
run of each query.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb

import benchlib as bl
from quiver_harness import find_tools
from quiver_harness.flightraw import RawFlight
from quiver_harness.servers import MinioServer, QuiverServer, Warehouse, start_minio, start_quiver

DUCKDB_VERSION = "1.5.5"
BUCKET = "quiver"
PREFIX = "tpch"
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


def _ext(ext_dir: Path, name: str) -> str:
    path = ext_dir / f"v{DUCKDB_VERSION}" / "linux_amd64" / f"{name}.duckdb_extension"
    if not path.exists():
        raise SystemExit(f"{path} not found: run `make tools`")
    return str(path)


def connect(ext_dir: Path, minio: MinioServer, threads: int, file_cache: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET enable_external_file_cache = {str(file_cache).lower()}")
    con.execute(f"LOAD '{_ext(ext_dir, 'httpfs')}'")
    con.execute(
        f"""CREATE SECRET minio (TYPE s3, KEY_ID '{minio.access_key}', SECRET '{minio.secret_key}',
            ENDPOINT '{minio.host_port}', URL_STYLE 'path', USE_SSL false, REGION '{minio.region}')"""
    )
    return con


def generate(ext_dir: Path, minio: MinioServer, scale: float, marker: Path) -> list[tuple[int, str]]:
    """Write the tables to MinIO unless marker says they are there; return the 22 queries."""
    con = connect(ext_dir, minio, os.cpu_count() or 2)
    con.execute(f"LOAD '{_ext(ext_dir, 'tpch')}'")
    if not marker.exists():
        bl.log(f"generating TPC-H sf {scale:g} into MinIO …")
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
        marker.write_text("ok\n")
    queries = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall()
    con.close()
    return [(int(nr), sql) for nr, sql in queries]


class S3Audit:
    """S3Audit counts the requests MinIO serves, from its audit webhook (one
    JSON record per request, posted as it completes; MinIO's Prometheus
    counters lag by about 10 s, too coarse for one query)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, list[float]] = {}
        audit = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API.
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.end_headers()
                try:
                    api = json.loads(body).get("api", {})
                except ValueError:
                    return
                with audit.lock:
                    c = audit.counts.setdefault(api.get("name", "?"), [0, 0])
                    c[0] += 1
                    c[1] += float(api.get("tx", 0))

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, name="s3-audit", daemon=True).start()

    def env(self) -> dict[str, str]:
        """MinIO's environment for posting its audit log here."""
        return {
            "MINIO_AUDIT_WEBHOOK_ENABLE_bench": "on",
            "MINIO_AUDIT_WEBHOOK_ENDPOINT_bench": f"http://127.0.0.1:{self.http.server_address[1]}/",
        }

    def total(self) -> int:
        with self.lock:
            return int(sum(c[0] for c in self.counts.values()))

    def measure(self, fn: Callable[[], Any]) -> tuple[Any, dict[str, list[float]]]:
        """Run fn and return its result and the requests it caused, by S3 API."""
        self.settle()
        with self.lock:
            self.counts = {}
        out = fn()
        self.settle()
        with self.lock:
            return out, dict(self.counts)

    def settle(self, quiet: float = 0.3) -> None:
        """Wait until no record has arrived for `quiet` seconds."""
        last, since = self.total(), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(0.05)
            now = self.total()
            if now != last:
                last, since = now, time.monotonic()

    def close(self) -> None:
        self.http.shutdown()


def gets(counts: dict[str, list[float]]) -> list[float]:
    """[GET requests, bytes sent] of one measurement."""
    c = counts.get("GetObject", [0, 0])
    return [c[0], c[1]]


class DuckSystem:
    def __init__(self, ext_dir: Path, minio: MinioServer, threads: int, file_cache: bool = True) -> None:
        self.con = connect(ext_dir, minio, threads, file_cache)
        for table in SPLITS:
            self.con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('s3://{BUCKET}/{PREFIX}/main/{table}/*.parquet')"
            )

    def run(self, sql: str) -> int:
        return self.con.execute(sql).to_arrow_table().num_rows

    def close(self) -> None:
        self.con.close()


class QuiverSystem:
    def __init__(self, tools: Any, warehouse: Warehouse, workers: int, threads: int, log_dir: Path, extra: list[str]) -> None:
        self.server: QuiverServer = start_quiver(
            tools, warehouse, log_dir, local_workers=workers, timeout=120,
            extra_args=["--worker-threads", str(max(1, threads // workers)), "--log-level", "warn", *extra],
        )
        self.raw = RawFlight(self.server.uri)

    def run(self, sql: str) -> int:
        rows = 0
        for b in self.raw.batches(self.raw.plan(sql)):
            rows += b.num_rows
        return rows

    def strategy(self, sql: str) -> str:
        table = self.raw.open(self.raw.plan("EXPLAIN " + sql).endpoints[0]).read_all()
        for step, detail in zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True):
            if step == "strategy":
                return str(detail)
        return "?"

    def close(self) -> None:
        self.raw.close()
        self.server.stop()


SYSTEMS = ["duckdb", "quiver-1w", "quiver-2w"]


def run(scale: float, runs: int, cold_runs: int, threads: int, quiver_args: list[str],
        out: Path = bl.OUT, only: list[int] | None = None) -> dict[str, Any]:
    tools = find_tools()
    work = out / "tpch" / f"sf{scale:g}"
    work.mkdir(parents=True, exist_ok=True)
    audit = S3Audit()
    os.environ.update(audit.env())  # start_minio passes os.environ on
    try:
        minio = start_minio(tools, work, bucket=BUCKET)
    finally:
        for k in audit.env():
            del os.environ[k]
    ext = tools.extension_dir
    try:
        queries = generate(ext, minio, scale, work / "data" / BUCKET / ".quiver-bench-complete")
        if only:
            unknown = sorted(set(only) - {nr for nr, _ in queries})
            if unknown:
                raise SystemExit(f"no TPC-H query {unknown}: there are {len(queries)}")
            queries = [(nr, sql) for nr, sql in queries if nr in only]
        wh = Warehouse("s3", f"s3://{BUCKET}/{PREFIX}", scale, env=minio.aws_env(),
                       args=["--s3-endpoint", minio.endpoint], minio=minio)
        logs = work / "logs"

        def make(name: str, cold: bool) -> Any:
            if name == "duckdb":
                return DuckSystem(ext, minio, threads, file_cache=not cold)
            workers = 1 if name == "quiver-1w" else 2
            return QuiverSystem(tools, wh, workers, threads, logs, quiver_args)

        cold: dict[str, dict[int, list[float]]] = {n: {nr: [] for nr, _ in queries} for n in SYSTEMS}
        s3: dict[str, dict[str, dict[int, list[float]]]] = {
            phase: {n: {nr: [0, 0] for nr, _ in queries} for n in SYSTEMS} for phase in ("cold", "warm")
        }
        rows: dict[int, int] = {}

        def check(name: str, nr: int, got: int) -> None:
            if rows.setdefault(nr, got) != got:
                raise SystemExit(f"q{nr:02d}: {name} returned {got} rows, another system {rows[nr]}")

        for c in range(cold_runs):
            for i, (nr, sql) in enumerate(queries):
                order = SYSTEMS[(i + c) % 3:] + SYSTEMS[:(i + c) % 3]
                for name in order:
                    sysm = make(name, cold=True)
                    try:
                        (took, got), counts = audit.measure(lambda sysm=sysm, sql=sql: bl.timed(lambda: sysm.run(sql)))
                    finally:
                        sysm.close()
                    check(name, nr, got)
                    cold[name][nr].append(took)
                    if c == 0:
                        s3["cold"][name][nr] = gets(counts)
                bl.log(f"  tpch cold q{nr:02d} pass {c}: " + ", ".join(f"{n} {cold[n][nr][-1]:.3f}s" for n in SYSTEMS))

        warm: dict[str, dict[int, list[float]]] = {n: {nr: [] for nr, _ in queries} for n in SYSTEMS}
        systems = {n: make(n, cold=False) for n in SYSTEMS}
        strategies: dict[int, str] = {}
        try:
            for nr, sql in queries:  # warm-up pass, with the S3 traffic of a warm run
                for name in SYSTEMS:
                    systems[name].run(sql)
                for name in SYSTEMS:
                    got, counts = audit.measure(lambda name=name, sql=sql: systems[name].run(sql))
                    check(name, nr, got)
                    s3["warm"][name][nr] = gets(counts)
            for r in range(runs):
                for i, (nr, sql) in enumerate(queries):
                    k = (i + r) % 3
                    for name in SYSTEMS[k:] + SYSTEMS[:k]:
                        took, got = bl.timed(lambda name=name, sql=sql: systems[name].run(sql))
                        check(name, nr, got)
                        warm[name][nr].append(took)
                bl.log(f"  tpch warm pass {r}: " + ", ".join(
                    f"{n} {sum(v[-1] for v in warm[n].values()):.2f}s" for n in SYSTEMS))
            for nr, sql in queries:
                try:
                    strategies[nr] = systems["quiver-2w"].strategy(sql)
                except Exception as exc:  # noqa: BLE001 - reported in the table.
                    strategies[nr] = f"EXPLAIN failed: {exc}"
        finally:
            for sysm in systems.values():
                sysm.close()
    finally:
        minio.stop()
        audit.close()

    def stats(d: dict[str, dict[int, list[float]]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n, per in d.items():
            if not any(per.values()):
                continue
            out[n] = {
                "per_query": {str(nr): bl.Stat.of(v) for nr, v in per.items()},
                # Total per pass, so min/max are of whole passes.
                "total": bl.Stat.of([sum(v[i] for v in per.values()) for i in range(len(next(iter(per.values()))))]),
            }
        return out

    return {
        "scale": scale, "threads": threads, "runs": runs, "cold_runs": cold_runs,
        "warm": stats(warm), "cold": stats(cold), "s3": s3, "rows": rows, "strategies": strategies,
        "time": time.time(),
    }
