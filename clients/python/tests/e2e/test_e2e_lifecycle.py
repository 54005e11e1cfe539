"""The coordinator's process contract: SIGTERM stops it and every worker it started."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil

from quiver_harness import Tools, Warehouse, start_quiver


def test_sigterm_stops_server_and_workers(quiver_tools: Tools, local_warehouse: Warehouse, tmp_path: Path) -> None:
    # Its own server: the session ones must stay up for the other tests.
    server = start_quiver(quiver_tools, local_warehouse, tmp_path, local_workers=2)
    try:
        workers = psutil.Process(server.pid).children(recursive=True)
        assert len(workers) >= 2, f"expected 2 local workers, found {[w.cmdline() for w in workers]}"
        os.kill(server.pid, signal.SIGTERM)
        code = server.process.proc.wait(timeout=15)
        assert code == 0, f"quiver serve exited with {code} on SIGTERM:\n{server.process.log_tail()}"
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"workers still running after the coordinator stopped: {[p.pid for p in alive]}"
    finally:
        server.stop()
