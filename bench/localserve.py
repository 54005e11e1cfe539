"""A ``quiver serve`` with local workers over a local warehouse, for the
stand-alone benchmark scripts (stages.py, scaleout.py, memory_sf10.py)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow.flight as fl

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    """The peak resident set (VmHWM) of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    client: fl.FlightClient

    def peak_rss(self) -> dict[str, object]:
        """The coordinator's and every local worker's peak RSS so far, MiB."""
        kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False).stdout.split()
        return {"coordinator": peak_rss_mib(self.proc.pid), "workers": [peak_rss_mib(int(k)) for k in kids]}


@contextmanager
def serve(warehouse: Path, workers: int, args: list[str], log: Path, threads: int | None = None) -> Iterator[Served]:
    """Start quiver serve (threads per worker: all of 2 cores by default),
    wait until it answers, and stop it on exit."""
    port = free_port()
    cmd = [str(ROOT / "bin/quiver"), "serve", "--warehouse", str(warehouse), "--local-workers", str(workers),
           "--worker-threads", str(threads or max(1, 2 // workers)), "--listen", f"127.0.0.1:{port}", *args]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stderr=out)
        try:
            client = fl.FlightClient(f"grpc://127.0.0.1:{port}")
            for _ in range(100):
                try:
                    client.get_flight_info(fl.FlightDescriptor.for_command("SELECT 1"))
                    break
                except fl.FlightError:
                    time.sleep(0.1)
            yield Served(proc, client)
        finally:
            proc.terminate()
            proc.wait()
