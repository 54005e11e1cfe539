"""IPC compression: what Zstd and LZ4 cost and save on a result stream.

One Quiver (2 local workers, proxied results, ``--http-listen`` for its
metrics) serves ``SELECT *`` of ``bench.narrow`` and ``bench.wide``. The
client asks for each codec with the ``x-quiver-ipc-compression`` header,
interleaved (off, zstd, lz4, zstd, lz4, off, …), and reads the result into a
pyarrow Table. Per codec:

* seconds on loopback (the CPU cost: both ends compress or decompress and
  nothing is gained on a link this fast);
* bytes on the wire: the coordinator's ``quiver_result_bytes_total``, the
  Flight messages it relayed, counted as sent.

Derived: the compression ratio (off's bytes / the codec's) and the *break-even
bandwidth*, off's bytes divided by the codec's loopback time. On a link
slower than that, sending off's bytes alone takes longer than the codec
takes in all (its smaller transfer overlaps its CPU work), so the codec is
the faster choice: ``--ipc-compression auto`` compresses for clients on
other machines, whose links are usually well below it.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

import benchlib as bl
from quiver_harness import find_tools
from quiver_harness.processes import free_port
from quiver_harness.servers import Warehouse, start_quiver

CODECS = ["off", "zstd", "lz4"]
HEADER = b"x-quiver-ipc-compression"


class CodecSource(bl.FlightSource):
    """A FlightSource that sends the compression header on every call."""

    def __init__(self, uri: str, codec: str) -> None:
        super().__init__(uri)
        self.options = flight.FlightCallOptions(headers=[(HEADER, codec.encode())])

    def info(self, sql: str) -> flight.FlightInfo:
        return self.client.get_flight_info(flight.FlightDescriptor.for_command(sql.encode("utf-8")), self.options)

    def read_endpoint(self, endpoint: flight.FlightEndpoint) -> pa.Table:
        return self._target(endpoint).do_get(endpoint.ticket, self.options).read_all()


def _relayed_bytes(metrics_url: str) -> float:
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    m = re.search(r"^quiver_result_bytes_total (\S+)$", text, re.M)
    if not m:
        raise SystemExit(f"quiver_result_bytes_total not in {metrics_url}")
    return float(m.group(1))


def run(warehouse: Path, work: Path, rows: int, runs: int, quiver_args: list[str]) -> dict[str, Any]:
    """Fetch both tables with every codec, ``runs`` timed rounds after one untimed."""
    http = free_port()
    q = start_quiver(
        find_tools(), Warehouse("local", str(warehouse), 0, local_path=warehouse), work / "logs", local_workers=2,
        timeout=120, extra_args=["--result-routing", "proxy", "--log-level", "warn",
                                 "--http-listen", f"127.0.0.1:{http}", *quiver_args],
    )
    metrics = f"http://127.0.0.1:{http}/metrics"
    sources = {c: CodecSource(q.uri, c) for c in CODECS}
    out: dict[str, Any] = {"rows": rows, "runs": runs, "tables": {}}
    try:
        for table in ("narrow", "wide"):
            sql = f"SELECT * FROM bench.{table}"
            times: dict[str, list[float]] = {c: [] for c in CODECS}
            wire: dict[str, float] = {}
            arrow_bytes = 0
            for r, codec in bl.interleave(CODECS, runs + 1):
                before = _relayed_bytes(metrics)
                took, t = bl.timed(lambda codec=codec, sql=sql: sources[codec].table(sql))
                sent = _relayed_bytes(metrics) - before
                if t.num_rows != rows:
                    raise SystemExit(f"{codec} returned {t.num_rows} rows of bench.{table}, want {rows}")
                arrow_bytes = t.nbytes
                del t
                wire[codec] = sent  # the same every round: the same data, the same codec
                if r > 0:
                    times[codec].append(took)
                bl.log(f"  compression {table} {codec} round {r}: {took:.2f}s, {sent / 1e6:.0f} MB on the wire")
            off_bytes = wire["off"]
            out["tables"][table] = {
                "arrow_bytes": arrow_bytes,
                "wire_bytes": wire,
                "ratio": {c: off_bytes / wire[c] for c in CODECS},
                "seconds": {c: bl.Stat.of(v) for c, v in times.items()},
                "throughput_vs_off": {c: bl.Stat.of([x / y for x, y in zip(times["off"], v, strict=True)]) for c, v in times.items()},
                "break_even_mb_per_s": {c: off_bytes / 1e6 / bl.Stat.of(v).median for c, v in times.items() if c != "off"},
                "raw": times,
            }
    finally:
        for s in sources.values():
            s.close()
        q.stop()
    return out
