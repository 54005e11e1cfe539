"""Shared pieces of the benchmarks: interleaved rounds, statistics, RSS
sampling, Flight fetches, the machine description and result files.

Every benchmark measures several *systems* (Quiver and its baselines) in the
same run. :func:`interleave` runs them A B C, B C A, C A B, … so slow drift
on a shared machine (another process waking up, the page cache filling)
spreads over all of them instead of landing on one.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "clients" / "python" / "tests"))

import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.flight as flight  # noqa: E402

OUT = ROOT / "bench" / "out"
RESULTS = OUT / "results"


def log(message: str) -> None:
    """Progress goes to stderr, flushed, with a timestamp."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- statistics -------------------------------------------------------------


@dataclass
class Stat:
    """Stat summarises repeated measurements of one value."""

    median: float
    min: float
    max: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Stat:
        if not values:
            return Stat(float("nan"), float("nan"), float("nan"), 0)
        return Stat(statistics.median(values), min(values), max(values), len(values))


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation between ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def interleave(names: Sequence[str], rounds: int) -> Iterator[tuple[int, str]]:
    """Yield (round, name) with the order rotated every round: A B C, B C A, …"""
    n = len(names)
    for r in range(rounds):
        for i in range(n):
            yield r, names[(r + i) % n]


# --- processes and memory ---------------------------------------------------


def rss(pid: int) -> int:
    """Resident bytes of one process (0 once it is gone)."""
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def children(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


class PeakRss:
    """PeakRss samples a process and, separately, the sum of its children
    every ``interval`` seconds in a thread, keeping the peaks."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.children_peak = 0
        self._kids = children(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        self.peak = max(self.peak, rss(self.pid))
        total = 0
        for k in self._kids:
            try:
                total += k.memory_info().rss
            except psutil.Error:
                pass
        self.children_peak = max(self.children_peak, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


# --- Flight -----------------------------------------------------------------

_REUSE = "arrow-flight-reuse-connection://?"


class FlightSource:
    """FlightSource fetches SQL from one Flight server the way a plain
    pyarrow.flight client does: GetFlightInfo on a SQL-text descriptor, then
    DoGet of every endpoint — concurrently when there are several, as the
    quiver Python client does — on the endpoint's location or the same
    server. Clients are kept open across queries (connection reuse is what a
    notebook session gets)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = flight.FlightClient(uri)
        self.peers: dict[str, flight.FlightClient] = {}
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fetch")
        self._lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for c in [self.client, *self.peers.values()]:
            c.close()

    def info(self, sql: str) -> flight.FlightInfo:
        return self.client.get_flight_info(flight.FlightDescriptor.for_command(sql.encode("utf-8")))

    def _target(self, endpoint: flight.FlightEndpoint) -> flight.FlightClient:
        for loc in endpoint.locations:
            uri = loc.uri.decode() if isinstance(loc.uri, bytes) else str(loc.uri)
            if not uri or uri.startswith(_REUSE):
                continue
            with self._lock:
                if uri not in self.peers:
                    self.peers[uri] = flight.FlightClient(uri)
                return self.peers[uri]
        return self.client

    def read_endpoint(self, endpoint: flight.FlightEndpoint) -> pa.Table:
        return self._target(endpoint).do_get(endpoint.ticket).read_all()

    def table(self, sql: str) -> pa.Table:
        """The whole result as one pyarrow Table."""
        info = self.info(sql)
        if len(info.endpoints) == 1:
            return self.read_endpoint(info.endpoints[0])
        parts = list(self.pool.map(self.read_endpoint, info.endpoints))
        return pa.concat_tables(parts)

    def first_batch(self, sql: str) -> float:
        """Seconds from the request to the first record batch of a scan
        (the first endpoint's); the rest of the stream is cancelled."""
        started = time.perf_counter()
        info = self.info(sql)
        reader = self._target(info.endpoints[0]).do_get(info.endpoints[0].ticket)
        while True:
            chunk = reader.read_chunk()
            if chunk.data is not None and chunk.data.num_rows > 0:
                break
        took = time.perf_counter() - started
        reader.cancel()
        return took

    def count(self, sql: str) -> tuple[int, int]:
        """Rows and Arrow bytes of the result, batches dropped as they come."""
        info = self.info(sql)

        def one(ep: flight.FlightEndpoint) -> tuple[int, int]:
            rows = nbytes = 0
            for chunk in self._target(ep).do_get(ep.ticket):
                if chunk.data is not None:
                    rows += chunk.data.num_rows
                    nbytes += chunk.data.nbytes
            return rows, nbytes

        parts = list(self.pool.map(one, info.endpoints))
        return sum(p[0] for p in parts), sum(p[1] for p in parts)


# --- machine and versions ---------------------------------------------------


def _cmd(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
        return out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> dict[str, Any]:
    """The machine, versions and commit a result was measured on."""
    import duckdb

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dirty = _cmd(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "duckdb": duckdb.__version__,
        "go": _cmd(["go", "version"]),
        "quiver": _cmd([os.environ.get("QUIVER_BIN", str(ROOT / "bin" / "quiver")), "version"]),
        "commit": _cmd(["git", "rev-parse", "--short", "HEAD"]),
        "tree": "with uncommitted changes" if dirty else "clean",
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load_before": os.getloadavg()[0],
    }


# --- results ----------------------------------------------------------------


@dataclass
class Result:
    """Result is what one benchmark writes to bench/out/results/<name>.json."""

    name: str
    command: str
    quick: bool
    machine: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def save(self, directory: Path = RESULTS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps(asdict(self), indent=1, default=_default) + "\n", encoding="utf-8")
        return path


def _default(o: object) -> object:
    if isinstance(o, Stat):
        return asdict(o)
    raise TypeError(f"not JSON serializable: {type(o)}")


def load(name: str, directory: Path = RESULTS) -> dict[str, Any] | None:
    path = directory / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out
