#!/usr/bin/env python3
"""Streaming benchmark: ``SELECT * FROM demo.plays`` through Quiver vs in-process DuckDB.

The script generates the demo dataset into a temporary directory, starts its
own ``quiver serve`` (two local workers) and, for a few result sizes (10%,
50% and 100% of ``demo.plays``, chosen by partition-day filters so that every
query stays a plain scan), measures:

* Quiver: the rows/s a pyarrow.flight client sees for a SQL-text descriptor,
  fetching every endpoint and counting rows and bytes without keeping the
  batches;
* DuckDB: the rows/s of the same query in an in-process DuckDB over the same
  files (``read_parquet(..., hive_partitioning=true)``, Arrow record batches
  iterated);
* the coordinator's resident memory (VmRSS of the ``quiver serve`` process
  itself, sampled every 20 ms while streaming) before and at its peak, and
  the workers' summed peak for context.

Each measurement is repeated ``--runs`` times and the median is reported as a
Markdown table (printed; also written with ``--markdown-out``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "clients" / "python" / "tests"))

import duckdb  # noqa: E402
import psutil  # noqa: E402

from quiver_harness import find_tools, make_local_warehouse, start_quiver  # noqa: E402
from quiver_harness.flightraw import RawFlight  # noqa: E402

FIRST_DAY = date(2025, 1, 1)
DAYS = 30
SAMPLE_INTERVAL = 0.020


@dataclass(frozen=True)
class Size:
    """Size is one result size: the first ``days`` partitions of demo.plays."""

    days: int

    @property
    def label(self) -> str:
        return f"{round(100 * self.days / DAYS)}% ({self.days} days)"

    def where(self) -> str:
        if self.days >= DAYS:
            return ""
        end = FIRST_DAY + timedelta(days=self.days)
        return f" WHERE day < DATE '{end.isoformat()}'"


SIZES = [Size(3), Size(15), Size(DAYS)]


def rss_bytes(pid: int) -> int:
    """VmRSS of one process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class RssSampler:
    """RssSampler records the peak VmRSS of a process (and its children) in a thread."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.children_peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._children = psutil.Process(pid).children(recursive=True)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        self.peak = max(self.peak, rss_bytes(self.pid))
        total = 0
        for child in self._children:
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        self.children_peak = max(self.children_peak, total)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


@dataclass
class Measurement:
    """Measurement is one timed fetch."""

    rows: int
    nbytes: int
    seconds: float
    rss_before: int = 0
    rss_peak: int = 0
    workers_peak: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Row:
    """Row is the median result of one size."""

    size: Size
    quiver: list[Measurement] = field(default_factory=list)
    duckdb: list[Measurement] = field(default_factory=list)


def fetch_quiver(uri: str, sql: str, pid: int) -> Measurement:
    rss_before = rss_bytes(pid)
    raw = RawFlight(uri)
    rows = nbytes = 0
    try:
        with RssSampler(pid) as sampler:
            started = time.perf_counter()
            info = raw.plan(sql)
            for batch in raw.batches(info):
                rows += batch.num_rows
                nbytes += batch.nbytes
            seconds = time.perf_counter() - started
    finally:
        raw.close()
    return Measurement(rows, nbytes, seconds, rss_before, sampler.peak, sampler.children_peak)


def fetch_duckdb(sql: str, threads: int | None) -> Measurement:
    con = duckdb.connect(":memory:")
    try:
        if threads:
            con.execute(f"SET threads={threads}")
        rows = nbytes = 0
        started = time.perf_counter()
        reader = con.execute(sql).to_arrow_reader(1_000_000)
        for batch in reader:
            rows += batch.num_rows
            nbytes += batch.nbytes
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return Measurement(rows, nbytes, seconds)


def mib(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def rate(n: float) -> str:
    return f"{n / 1e6:,.2f} M"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def render(rows: list[Row], header: str) -> str:
    lines = [
        header,
        "",
        "| result | rows | Arrow bytes | Quiver rows/s | DuckDB rows/s | Quiver / DuckDB "
        "| coordinator RSS before | coordinator peak RSS | workers peak RSS (sum) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        q = median([m.rows_per_second for m in row.quiver])
        d = median([m.rows_per_second for m in row.duckdb])
        lines.append(
            f"| {row.size.label} | {row.quiver[0].rows:,} | {mib(row.quiver[0].nbytes)} | {rate(q)} | {rate(d)} "
            f"| {q / d:.2f} | {mib(median([m.rss_before for m in row.quiver]))} "
            f"| {mib(max(m.rss_peak for m in row.quiver))} | {mib(max(m.workers_peak for m in row.quiver))} |"
        )
    return "\n".join(lines) + "\n"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def run(args: argparse.Namespace, log: Callable[[str], None]) -> str:
    tools = find_tools()
    missing = tools.missing(need_minio=False)
    if missing:
        raise SystemExit("stream_bench needs " + "; ".join(missing))
    with tempfile.TemporaryDirectory(prefix="quiver-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        log(f"generating demo data at scale {args.scale} in {work} ...")
        started = time.perf_counter()
        warehouse = make_local_warehouse(tools, work / "warehouse", args.scale, work)
        log(f"  done in {time.perf_counter() - started:.1f}s")
        server = start_quiver(tools, warehouse, work / "logs", local_workers=args.workers, timeout=120)
        log(f"quiver serve pid {server.pid} on {server.uri} with {args.workers} local workers")
        results: list[Row] = []
        try:
            glob = warehouse.table_glob("demo", "plays")
            for size in SIZES:
                row = Row(size)
                q_sql = "SELECT * FROM demo.plays" + size.where()
                d_sql = f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true)" + size.where()
                # One untimed round warms the OS page cache and both engines.
                fetch_quiver(server.uri, q_sql, server.pid)
                fetch_duckdb(d_sql, args.duckdb_threads)
                for i in range(args.runs):
                    q = fetch_quiver(server.uri, q_sql, server.pid)
                    d = fetch_duckdb(d_sql, args.duckdb_threads)
                    if q.rows != d.rows:
                        raise SystemExit(f"{size.label}: Quiver returned {q.rows} rows, DuckDB {d.rows}")
                    row.quiver.append(q)
                    row.duckdb.append(d)
                    log(
                        f"  {size.label} run {i + 1}: quiver {q.seconds:.2f}s ({rate(q.rows_per_second)} rows/s, "
                        f"peak RSS {mib(q.rss_peak)}), duckdb {d.seconds:.2f}s ({rate(d.rows_per_second)} rows/s)"
                    )
                results.append(row)
        finally:
            server.stop()
    header = (
        f"`SELECT * FROM demo.plays` streamed to a pyarrow client: Quiver (coordinator + {args.workers} local workers, "
        f"plain Flight SQL-text descriptor, all endpoints) vs in-process DuckDB {duckdb.__version__} over the same "
        f"files. Scale {args.scale}, median of {args.runs} runs, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"commit {git_commit()}."
    )
    return render(results, header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="demo-data scale (1.0 = 5M plays rows)")
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions per size; the median is reported")
    parser.add_argument("--workers", type=int, default=2, help="quiver serve --local-workers")
    parser.add_argument("--duckdb-threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--workdir", default=None, help="parent of the temporary directory (default: $TMPDIR)")
    parser.add_argument("--markdown-out", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    table = run(args, log)
    print(table)
    if args.markdown_out:
        args.markdown_out.parent.mkdir(parents=True, exist_ok=True)
        args.markdown_out.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
