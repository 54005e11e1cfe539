"""Streaming throughput, small-query latency, time to first batch and memory.

Systems, all over the same Parquet files of the local benchmark warehouse
(bench/data.py), all in this run:

* ``duckdb``: in-process DuckDB (the limit: Arrow batches that never leave
  memory), ``con.execute(sql).to_arrow_reader()`` (``fetch_record_batch``'s
  current name) read into a Table;
* ``quiver-proxy`` / ``quiver-direct``: ``quiver serve`` with 2 local
  workers, ``--result-routing proxy`` (the coordinator relays) and
  ``direct`` (the client fetches from the workers);
* ``arrow-memory``: pyarrow's C++ Flight server serving the table from
  memory (Flight's limit here; baselines/arrow_flight_memory.py);
* ``python-duckdb``: the minimal pyarrow.flight + DuckDB server
  (baselines/duckdb_flight.py).

Flight systems are fetched with plain pyarrow.flight (SQL-text descriptor,
every endpoint, concurrently when there are several) into a pyarrow Table.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

import benchlib as bl
import data
from quiver_harness import find_tools
from quiver_harness.processes import ManagedProcess, free_port, port_open, wait_until
from quiver_harness.servers import QuiverServer, Warehouse, start_quiver

HERE = Path(__file__).resolve().parent

STREAM_SYSTEMS = ["duckdb", "quiver-proxy", "quiver-direct", "arrow-memory", "python-duckdb"]
LATENCY_SYSTEMS = ["duckdb", "quiver-proxy", "python-duckdb"]
TTFB_SYSTEMS = ["duckdb", "quiver-proxy", "quiver-direct", "python-duckdb"]

# The small aggregate of the latency benchmark (the same text every run).
AGGREGATE = ("SELECT category, count(*) AS n, sum(price) AS revenue, avg(stock) AS stock "
             "FROM bench.items GROUP BY category ORDER BY category")


class InProcess:
    """In-process DuckDB with the same bench.<table> names as the servers."""

    def __init__(self, warehouse: Path) -> None:
        self.con = duckdb.connect()
        self.con.execute("CREATE SCHEMA bench")
        for t in ("narrow", "wide", "items"):
            self.con.execute(f"CREATE VIEW bench.{t} AS SELECT * FROM read_parquet('{data.glob(warehouse, t)}')")

    def table(self, sql: str) -> Any:
        return self.con.execute(sql).to_arrow_reader(122_880).read_all()

    def first_batch(self, sql: str) -> float:
        started = time.perf_counter()
        cur = self.con.cursor()
        reader = cur.execute(sql).to_arrow_reader(122_880)
        reader.read_next_batch()
        took = time.perf_counter() - started
        reader.close()
        cur.close()
        return took

    def close(self) -> None:
        self.con.close()


class Session:
    """Session holds the running servers of one benchmark invocation."""

    def __init__(self, warehouse: Path, work: Path, need: set[str], quiver_args: list[str]) -> None:
        self.warehouse = warehouse
        self.work = work
        self.tools = find_tools()
        self.procs: list[ManagedProcess] = []
        self.quivers: dict[str, QuiverServer] = {}
        self.sources: dict[str, Any] = {}
        wh = Warehouse("local", str(warehouse), 0, local_path=warehouse)
        try:
            if "duckdb" in need:
                self.sources["duckdb"] = InProcess(warehouse)
            for routing in ("proxy", "direct"):
                name = f"quiver-{routing}"
                if name in need:
                    q = start_quiver(
                        self.tools, wh, work / "logs", local_workers=2, timeout=120,
                        extra_args=["--result-routing", routing, "--log-level", "warn", *quiver_args],
                    )
                    self.quivers[name] = q
                    self.sources[name] = bl.FlightSource(q.uri)
            if "arrow-memory" in need:
                self._python("arrow-memory", "arrow_flight_memory.py", ["narrow,wide"])
            if "python-duckdb" in need:
                self._python("python-duckdb", "duckdb_flight.py", [])
        except BaseException:
            self.close()
            raise

    def _python(self, name: str, script: str, extra: list[str]) -> None:
        port = free_port()
        proc = ManagedProcess(
            name, [sys.executable, str(HERE / "baselines" / script), str(port), str(self.warehouse), *extra],
            self.work / "logs" / f"{name}.log",
        )
        self.procs.append(proc)
        # The script prints "ready" once its tables are loaded (the port opens before).
        def ready() -> bool:
            return not proc.alive() or (port_open(port) and b"ready" in proc.log_path.read_bytes())

        if not wait_until(ready, 600) or not proc.alive():
            raise RuntimeError(f"{name} did not start: {proc.describe()}")
        self.sources[name] = bl.FlightSource(f"grpc://127.0.0.1:{port}")

    def close(self) -> None:
        for s in self.sources.values():
            s.close()
        for q in self.quivers.values():
            q.stop()
        for p in self.procs:
            p.stop()


def stream(s: Session, runs: int, rows: int) -> dict[str, Any]:
    """Every system fetches SELECT * of the narrow and the wide table into a
    pyarrow Table, interleaved, after one untimed round."""
    out: dict[str, Any] = {"rows": rows, "runs": runs, "tables": {}}
    for table in ("narrow", "wide"):
        sql = f"SELECT * FROM bench.{table}"
        times: dict[str, list[float]] = {n: [] for n in STREAM_SYSTEMS}
        nbytes = 0
        for r, name in bl.interleave(STREAM_SYSTEMS, runs + 1):
            took, t = bl.timed(lambda name=name, sql=sql: s.sources[name].table(sql))
            if t.num_rows != rows:
                raise SystemExit(f"{name} returned {t.num_rows} rows of bench.{table}, want {rows}")
            if name == "duckdb":
                nbytes = t.nbytes
            del t
            if r > 0:
                times[name].append(took)
            bl.log(f"  stream {table} {name} round {r}: {took:.2f}s")
        out["tables"][table] = {
            "arrow_bytes": nbytes,
            "seconds": {n: bl.Stat.of(v) for n, v in times.items()},
            "rows_per_s": {n: bl.Stat.of([rows / x for x in v]) for n, v in times.items()},
            "mb_per_s": {n: bl.Stat.of([nbytes / 1e6 / x for x in v]) for n, v in times.items()},
            "raw": times,
        }
    return out


def latency(s: Session, runs: int) -> dict[str, Any]:
    """Point lookups and a small aggregate, one system after the other per
    iteration (order rotating), ``runs`` timed iterations after 20 untimed."""
    rng = random.Random(8)
    queries: dict[str, Callable[[], str]] = {
        "lookup": lambda: f"SELECT * FROM bench.items WHERE item_id = {rng.randrange(data.ITEMS)}",
        "aggregate": lambda: AGGREGATE,
    }
    out: dict[str, Any] = {"runs": runs, "queries": {}}
    for qname, make in queries.items():
        times: dict[str, list[float]] = {n: [] for n in LATENCY_SYSTEMS}
        for r, name in bl.interleave(LATENCY_SYSTEMS, runs + 20):
            sql = make()
            took, t = bl.timed(lambda name=name, sql=sql: s.sources[name].table(sql))
            if t.num_rows == 0:
                raise SystemExit(f"{name}: {sql} returned no rows")
            if r >= 20:
                times[name].append(took * 1000)
        out["queries"][qname] = {
            n: {"p50_ms": bl.percentile(v, 50), "p99_ms": bl.percentile(v, 99), "min_ms": min(v), "max_ms": max(v)}
            for n, v in times.items()
        }
        bl.log(f"  latency {qname}: " + ", ".join(f"{n} p50 {v['p50_ms']:.2f} ms" for n, v in out["queries"][qname].items()))
    return out


def first_batch(s: Session, runs: int) -> dict[str, Any]:
    """Seconds to the first batch of SELECT * FROM bench.wide."""
    sql = "SELECT * FROM bench.wide"
    times: dict[str, list[float]] = {n: [] for n in TTFB_SYSTEMS}
    for r, name in bl.interleave(TTFB_SYSTEMS, runs + 1):
        took = s.sources[name].first_batch(sql)
        if r > 0:
            times[name].append(took * 1000)
        bl.log(f"  first batch {name} round {r}: {took * 1000:.0f} ms")
        # A cancelled scan may still be finishing on a worker: let it end
        # before the next system starts.
        time.sleep(1.0)
    return {"runs": runs, "ms": {n: bl.Stat.of(v) for n, v in times.items()}}


def memory(s: Session, runs: int, rows: int) -> dict[str, Any]:
    """Coordinator and worker peak RSS while a result of 1×, 10×, 100× the
    smallest size streams through the proxy (batches dropped by the client)."""
    q = s.quivers["quiver-proxy"]
    src = s.sources["quiver-proxy"]
    sizes = [rows // 100, rows // 10, rows]
    out: dict[str, Any] = {"sizes": []}
    for n in sizes:
        sql = f"SELECT * FROM bench.wide WHERE id < {n}"
        src.count(sql)  # warm-up
        coord, workers, before, nbytes, secs = [], [], [], 0, []
        for _ in range(runs):
            time.sleep(0.5)
            before.append(bl.rss(q.pid))
            with bl.PeakRss(q.pid) as peak:
                took, (got, nbytes) = bl.timed(lambda sql=sql: src.count(sql))
            if got != n:
                raise SystemExit(f"memory: {sql} returned {got} rows")
            coord.append(peak.peak)
            workers.append(peak.children_peak)
            secs.append(took)
        out["sizes"].append({
            "rows": n, "arrow_bytes": nbytes,
            "coordinator_before": bl.Stat.of(before), "coordinator_peak": bl.Stat.of(coord),
            "workers_peak": bl.Stat.of(workers), "seconds": bl.Stat.of(secs),
        })
        bl.log(f"  memory {n} rows: coordinator peak {max(coord) / 2**20:.0f} MiB, workers {max(workers) / 2**20:.0f} MiB")
    return out
