"""TPC-H stored as Iceberg in MinIO, read through a REST catalog: Quiver
with 1 and 2 workers against DuckDB alone with its iceberg extension.

    .venv/bin/python bench/tpch_iceberg.py --scale 1 --runs 3

The parts are the real ones of the end-to-end tests: MinIO, Iceberg's own
``RESTCatalogServer`` (``make iceberg-tools``) with its JDBC catalog in a
sqlite file, and tables written by pyiceberg into namespace ``tpch``.
Each table is appended in the same key ranges as the Parquet benchmark
(``tpch.py``: lineitem and orders 6 data files by order key, partsupp,
part and customer 3, the rest one), one snapshot per append, so the
manifests hold per-file bounds on the key. The data, the catalog and a
marker are kept under ``--out`` between runs.

Systems, the same threads in total, all reading through the same catalog:

* ``duckdb``: in-process DuckDB 1.5.5, ``ATTACH … (TYPE iceberg)`` on the
  REST catalog, httpfs to MinIO;
* ``quiver-1w`` / ``quiver-2w``: ``quiver serve --iceberg-catalog
  lake=http://…`` with 1 worker × all threads or 2 × half.

Every query names its tables ``lake.tpch.<table>``, so the text is the
same for all three. Warm: one untimed pass, then ``runs`` passes with the
order of the systems rotating per query. Around the untimed pass every
system's catalog requests (a counting proxy in front of the REST server)
and S3 GETs (MinIO's audit webhook) are counted per query. For Quiver,
planning time is GetFlightInfo's round trip (catalog, manifests, pruning,
placement) and the files read and pruned come from ``EXPLAIN``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

import benchlib as bl
import tpch
from quiver_harness import find_tools
from quiver_harness.flightraw import RawFlight
from quiver_harness.processes import ManagedProcess, free_port, wait_until
from quiver_harness.servers import MinioServer, QuiverServer, Warehouse, start_minio, start_quiver

BUCKET = "lake"
NAMESPACE = "tpch"
CATALOG = "lake"
ROOT = Path(__file__).resolve().parent.parent
#: Queries whose predicates the manifests' bounds on the split keys answer:
#: the files Quiver prunes before any worker is involved.
PRUNING = [
    "SELECT count(*), sum(l_extendedprice) FROM lake.tpch.lineitem WHERE l_orderkey < 500000",
    "SELECT count(*) FROM lake.tpch.orders WHERE o_orderkey BETWEEN 3000000 AND 3100000",
    "SELECT o_orderstatus, count(*) FROM lake.tpch.orders JOIN lake.tpch.lineitem ON o_orderkey = l_orderkey "
    "WHERE o_orderkey > 5900000 GROUP BY o_orderstatus ORDER BY 1",
    "SELECT count(*) FROM lake.tpch.customer WHERE c_custkey = 4242",
]
SYSTEMS = ["duckdb", "duckdb-parquet", "quiver-1w", "quiver-2w"]
QUIVERS = ["quiver-1w", "quiver-2w"]


class CountingProxy:
    """An HTTP proxy in front of the REST catalog that counts the requests
    it forwards, by method and path (names of tables kept, so a LoadTable
    per table shows)."""

    def __init__(self, upstream_port: int) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                with proxy.lock:
                    key = f"{self.command} {self.path.split('?')[0]}"
                    proxy.counts[key] = proxy.counts.get(key, 0) + 1
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_HEAD = do_DELETE = _forward  # noqa: N815 - the http.server API.

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, name="catalog-proxy", daemon=True).start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def measure(self, fn: Any) -> tuple[Any, dict[str, int]]:
        with self.lock:
            self.counts = {}
        out = fn()
        with self.lock:
            return out, dict(self.counts)

    def close(self) -> None:
        self.http.shutdown()


def iceberg_jar() -> Path:
    jar = Path(os.environ.get("QUIVER_ICEBERG_JAR") or ROOT / ".tools/iceberg/iceberg-open-api-1.10.0.jar")
    if not jar.is_file():
        raise SystemExit(f"{jar} not found: run `make iceberg-tools`")
    return jar


def start_rest(work: Path, minio: MinioServer) -> tuple[ManagedProcess, int]:
    """Iceberg's RESTCatalogServer over MinIO, its JDBC catalog in work/catalog.db."""
    port = free_port()
    env = {
        **os.environ, **minio.aws_env(),
        "CATALOG_REST_PORT": str(port),
        "CATALOG_WAREHOUSE": f"s3://{BUCKET}/",
        "CATALOG_IO__IMPL": "org.apache.iceberg.aws.s3.S3FileIO",
        "CATALOG_S3_ENDPOINT": minio.endpoint,
        "CATALOG_S3_PATH__STYLE__ACCESS": "true",
        "CATALOG_URI": f"jdbc:sqlite:file:{work / 'catalog.db'}",
        "CATALOG_JDBC_USER": "user",
        "CATALOG_JDBC_PASSWORD": "password",
    }
    proc = ManagedProcess("iceberg-rest", ["java", "-XX:+UseSerialGC", "-jar", str(iceberg_jar())],
                          work / "iceberg-rest.log", env=env)

    def ready() -> bool:
        if not proc.alive():
            return True
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/v1/config")
            ok = c.getresponse().status == 200
            c.close()
            return ok
        except OSError:
            return False

    if not wait_until(ready, 90) or not proc.alive():
        desc = proc.describe()
        proc.stop()
        raise SystemExit(f"iceberg rest catalog did not start: {desc}")
    return proc, port


def rest_catalog(minio: MinioServer, rest_uri: str) -> Any:
    """pyiceberg's client of the REST catalog, reading and writing MinIO."""
    from pyiceberg.catalog import load_catalog

    return load_catalog("rest", **{
        "type": "rest", "uri": rest_uri, "s3.endpoint": minio.endpoint, "s3.path-style-access": "true",
        "s3.region": minio.region, "s3.access-key-id": minio.access_key, "s3.secret-access-key": minio.secret_key,
    })


def generate(ext_dir: Path, minio: MinioServer, rest_uri: str, scale: float, marker: Path) -> list[tuple[int, str]]:
    """Write the tables through the catalog unless marker says they are
    there; return the 22 queries with their tables named lake.tpch.<t>."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{tpch._ext(ext_dir, 'tpch')}'")
    if not marker.exists():
        bl.log(f"generating TPC-H sf {scale:g} as Iceberg tables …")
        con.execute(f"CALL dbgen(sf := {scale})")
        cat = rest_catalog(minio, rest_uri)
        if (NAMESPACE,) not in cat.list_namespaces():
            cat.create_namespace(NAMESPACE)
        for table, (key, files) in tpch.SPLITS.items():
            ident = f"{NAMESPACE}.{table}"
            if cat.table_exists(ident):
                cat.drop_table(ident)
            schema = con.execute(f"SELECT * FROM {table} LIMIT 0").to_arrow_table().schema
            tbl = cat.create_table(ident, schema=schema)
            ranges = [None] if key is None else [i for i in range(files)]
            (max_key,) = con.execute(f"SELECT max({key}) FROM {table}").fetchone() if key else (0,)
            step = max_key // files + 1
            for i in ranges:
                where = "" if i is None else f" WHERE {key} >= {i * step} AND {key} < {(i + 1) * step}"
                tbl.append(con.execute(f"SELECT * FROM {table}{where}").to_arrow_table())
            bl.log(f"  {ident}: {len(ranges)} appends")
        marker.write_text("ok\n")
    queries = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall()
    con.close()
    return [(int(nr), qualify(sql)) for nr, sql in queries]


def qualify(sql: str) -> str:
    """The query with every TPC-H table named lake.tpch.<table>: rewritten
    on DuckDB's own parse tree (a textual replace would also hit q09's
    column alias `nation`)."""
    con = duckdb.connect()
    (tree,) = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("table_name") in tpch.SPLITS and not node.get("schema_name"):
                node["catalog_name"], node["schema_name"] = CATALOG, NAMESPACE
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    parsed = json.loads(tree)
    if parsed.get("error"):
        raise SystemExit(f"cannot parse a TPC-H query: {parsed}")
    walk(parsed)
    (out,) = con.execute("SELECT json_deserialize_sql(?::JSON)", [json.dumps(parsed)]).fetchone()
    con.close()
    return str(out)


class DuckIceberg:
    def __init__(self, ext_dir: Path, minio: MinioServer, catalog_uri: str, threads: int) -> None:
        self.con = tpch.connect(ext_dir, minio, threads)
        for ext in ("avro", "iceberg"):
            self.con.execute(f"LOAD '{tpch._ext(ext_dir, ext)}'")
        self.con.execute(f"ATTACH '' AS {CATALOG} (TYPE iceberg, ENDPOINT '{catalog_uri}', AUTHORIZATION_TYPE 'none')")

    def run(self, sql: str) -> pa.Table:
        return self.con.execute(sql).to_arrow_table()

    def close(self) -> None:
        self.con.close()


def data_files(minio: MinioServer, rest_uri: str) -> dict[str, list[str]]:
    """The data files of every table's current snapshot, from the catalog."""
    cat = rest_catalog(minio, rest_uri)
    return {t: sorted(task.file.file_path for task in cat.load_table(f"{NAMESPACE}.{t}").scan().plan_files())
            for t in tpch.SPLITS}


class DuckParquet:
    """DuckDB over the same data files as plain Parquet: no catalog, no
    manifests, the baseline the Parquet benchmark uses."""

    def __init__(self, ext_dir: Path, minio: MinioServer, files: dict[str, list[str]], threads: int) -> None:
        self.con = tpch.connect(ext_dir, minio, threads)
        self.con.execute(f"ATTACH ':memory:' AS {CATALOG}")
        self.con.execute(f"CREATE SCHEMA {CATALOG}.{NAMESPACE}")
        for t, paths in files.items():
            listed = ", ".join(f"'{p}'" for p in paths)
            self.con.execute(f"CREATE VIEW {CATALOG}.{NAMESPACE}.{t} AS SELECT * FROM read_parquet([{listed}])")

    def run(self, sql: str) -> pa.Table:
        return self.con.execute(sql).to_arrow_table()

    def close(self) -> None:
        self.con.close()


class QuiverIceberg:
    def __init__(self, tools: Any, wh: Warehouse, catalog_uri: str, workers: int, threads: int, logs: Path) -> None:
        self.server: QuiverServer = start_quiver(
            tools, wh, logs, local_workers=workers, timeout=120,
            extra_args=["--worker-threads", str(max(1, threads // workers)), "--log-level", "warn",
                        "--iceberg-catalog", f"{CATALOG}={catalog_uri}?warehouse=s3://{BUCKET}/"],
        )
        self.raw = RawFlight(self.server.uri)
        self.planning: list[float] = []

    def run(self, sql: str) -> pa.Table:
        started = time.perf_counter()
        info = self.raw.plan(sql)
        self.planning.append(time.perf_counter() - started)
        return pa.Table.from_batches(list(self.raw.batches(info)), schema=info.schema)

    def explain(self, sql: str) -> dict[str, str]:
        t = self.raw.open(self.raw.plan("EXPLAIN " + sql).endpoints[0]).read_all()
        out: dict[str, str] = {}
        for step, detail in zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True):
            if step == "strategy" or step.startswith("table "):
                out[step] = str(detail)
        return out

    def close(self) -> None:
        self.raw.close()
        self.server.stop()


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal rows in order, floats to 1e-9 relative (TPC-H's ORDER BY makes the order total)."""
    if a.num_rows != b.num_rows or a.num_columns != b.num_columns:
        return False
    for ca, cb in zip(a.columns, b.columns, strict=True):
        for x, y in zip(ca.to_pylist(), cb.to_pylist(), strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > 1e-9 * max(1.0, abs(x), abs(y)):
                    return False
            elif x != y:
                return False
    return True


def run(scale: float, runs: int, threads: int, out: Path) -> dict[str, Any]:
    tools = find_tools()
    work = out / f"sf{scale:g}"
    work.mkdir(parents=True, exist_ok=True)
    audit = tpch.S3Audit()
    os.environ.update(audit.env())
    try:
        minio = start_minio(tools, work, bucket=BUCKET)
    finally:
        for k in audit.env():
            del os.environ[k]
    rest, rest_port = start_rest(work, minio)
    proxy = CountingProxy(rest_port)
    ext = tools.extension_dir
    systems: dict[str, Any] = {}
    try:
        gen_started = time.monotonic()
        queries = generate(ext, minio, f"http://127.0.0.1:{rest_port}", scale, work / ".generated")
        bl.log(f"tables ready in {time.monotonic() - gen_started:.1f}s")
        local = work / "empty-warehouse"
        local.mkdir(exist_ok=True)
        wh = Warehouse("local", str(local), scale, env=minio.aws_env(), args=["--s3-endpoint", minio.endpoint],
                       local_path=local)
        logs = work / "logs"
        systems["duckdb"] = DuckIceberg(ext, minio, proxy.uri, threads)
        systems["duckdb-parquet"] = DuckParquet(ext, minio, data_files(minio, f"http://127.0.0.1:{rest_port}"), threads)
        systems["quiver-1w"] = QuiverIceberg(tools, wh, proxy.uri, 1, threads, logs)
        systems["quiver-2w"] = QuiverIceberg(tools, wh, proxy.uri, 2, threads, logs)

        catalog: dict[str, dict[int, int]] = {n: {} for n in SYSTEMS}
        catalog_detail: dict[str, dict[int, dict[str, int]]] = {n: {} for n in SYSTEMS}
        gets: dict[str, dict[int, list[float]]] = {n: {} for n in SYSTEMS}
        mismatches: list[str] = []
        for nr, sql in queries:  # the untimed pass, counted
            want = None
            for name in SYSTEMS:
                (got, cat), s3 = audit.measure(lambda name=name, sql=sql: proxy.measure(lambda: systems[name].run(sql)))
                catalog[name][nr] = sum(cat.values())
                catalog_detail[name][nr] = cat
                gets[name][nr] = tpch.gets(s3)
                if want is None:
                    want = got
                elif not same(want, got):
                    mismatches.append(f"q{nr:02d}: {name} differs from duckdb")
            bl.log(f"  q{nr:02d} counted: " + ", ".join(
                f"{n} catalog {catalog[n][nr]} GET {gets[n][nr][0]:.0f}" for n in SYSTEMS))
        if mismatches:
            raise SystemExit("answers differ: " + "; ".join(mismatches))

        warm: dict[str, dict[int, list[float]]] = {n: {nr: [] for nr, _ in queries} for n in SYSTEMS}
        planning: dict[str, dict[int, list[float]]] = {n: {nr: [] for nr, _ in queries} for n in QUIVERS}
        for r in range(runs):
            for i, (nr, sql) in enumerate(queries):
                k = (i + r) % len(SYSTEMS)
                for name in SYSTEMS[k:] + SYSTEMS[:k]:
                    took, _ = bl.timed(lambda name=name, sql=sql: systems[name].run(sql))
                    warm[name][nr].append(took)
                    if name in QUIVERS:
                        planning[name][nr].append(systems[name].planning[-1])
            bl.log(f"  warm pass {r}: " + ", ".join(f"{n} {sum(v[-1] for v in warm[n].values()):.2f}s" for n in SYSTEMS))
        explain = {nr: systems["quiver-2w"].explain(sql) for nr, sql in queries}
        pruning = []
        for sql in PRUNING:
            want = systems["duckdb"].run(sql)
            times: dict[str, list[float]] = {n: [] for n in SYSTEMS}
            for r in range(max(3, runs)):
                for name in SYSTEMS[r % len(SYSTEMS):] + SYSTEMS[:r % len(SYSTEMS)]:
                    took, got = bl.timed(lambda name=name, sql=sql: systems[name].run(sql))
                    if not same(want, got):
                        raise SystemExit(f"answers differ: {name} on {sql}")
                    times[name].append(took)
            pruning.append({"sql": sql, "median": {n: statistics.median(v) for n, v in times.items()},
                            "files": files(systems["quiver-2w"].explain(sql))})
    finally:
        for s in systems.values():
            s.close()
        proxy.close()
        rest.stop()
        minio.stop()
        audit.close()

    med = {n: {nr: statistics.median(v) for nr, v in per.items()} for n, per in warm.items()}
    return {
        "scale": scale, "threads": threads, "runs": runs, "time": time.time(), "machine": bl.machine(),
        "warm_median": med, "warm": warm, "planning": planning, "catalog_requests": catalog,
        "catalog_detail": catalog_detail, "s3_gets": gets, "explain": explain,
        "pruning": pruning,
    }


def files(explain: dict[str, str]) -> tuple[int, int]:
    """(files read, files pruned) over the query's tables."""
    read = pruned = 0
    for step, detail in explain.items():
        if step.startswith("table "):
            m = re.search(r"files=(\d+) pruned=(\d+)", detail)
            if m:
                read, pruned = read + int(m.group(1)), pruned + int(m.group(2))
    return read, pruned


def report(res: dict[str, Any]) -> str:
    med = res["warm_median"]
    lines = [
        f"TPC-H sf {res['scale']:g} as Iceberg, {res['threads']} threads in total, median of {res['runs']} warm runs",
        "",
        "| q | duckdb iceberg s | duckdb parquet s | 1w s | 2w s | 1w/iceberg | 2w/iceberg | 1w/parquet | 2w/parquet "
        "| plan ms 1w/2w | catalog req duckdb/quiver | S3 GET duckdb/1w/2w | files read/pruned | strategy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    tot = {n: 0.0 for n in SYSTEMS}
    c, g = res["catalog_requests"], res["s3_gets"]
    for nr in sorted(int(k) for k in med["duckdb"]):
        d, dp, q1, q2 = (med[n][nr] for n in SYSTEMS)
        for n in SYSTEMS:
            tot[n] += med[n][nr]
        p1, p2 = (statistics.median(res["planning"][n][nr]) * 1000 for n in QUIVERS)
        fr, fp = files(res["explain"][nr])
        strat = res["explain"][nr].get("strategy", "?").split(";")[0]
        lines.append(
            f"| {nr} | {d:.3f} | {dp:.3f} | {q1:.3f} | {q2:.3f} | {q1 / d:.2f} | {q2 / d:.2f} | {q1 / dp:.2f} "
            f"| {q2 / dp:.2f} | {p1:.0f}/{p2:.0f} | {c['duckdb'][nr]}/{c['quiver-1w'][nr]} "
            f"| {g['duckdb'][nr][0]:.0f}/{g['quiver-1w'][nr][0]:.0f}/{g['quiver-2w'][nr][0]:.0f} | {fr}/{fp} | {strat} |")
    d, dp, q1, q2 = (tot[n] for n in SYSTEMS)
    lines.append(
        f"| **all** | {d:.2f} | {dp:.2f} | {q1:.2f} | {q2:.2f} | **{q1 / d:.2f}** | **{q2 / d:.2f}** "
        f"| **{q1 / dp:.2f}** | **{q2 / dp:.2f}** | | | | | |")
    lines += ["", "Pruning by the manifests' bounds (median s; files read/pruned by Quiver):", "",
              "| query | duckdb iceberg | duckdb parquet | 1w | 2w | 1w/iceberg | files read/pruned |",
              "|---|---|---|---|---|---|---|"]
    for p in res["pruning"]:
        m = p["median"]
        lines.append(f"| `{p['sql']}` | {m['duckdb']:.3f} | {m['duckdb-parquet']:.3f} | {m['quiver-1w']:.3f} "
                     f"| {m['quiver-2w']:.3f} | {m['quiver-1w'] / m['duckdb']:.2f} | {p['files'][0]}/{p['files'][1]} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--out", type=Path, default=bl.OUT / "tpch-iceberg")
    args = ap.parse_args()
    res = run(args.scale, args.runs, args.threads, args.out)
    path = args.out / f"sf{args.scale:g}" / "result.json"
    path.write_text(json.dumps(res, default=str, indent=1))
    print(report(res))
    bl.log(f"result in {path}")


if __name__ == "__main__":
    main()
