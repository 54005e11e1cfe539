"""Progress bars and cancellation against a real server (the local deployment).

The slow query is a 50,000 × 50,000 nested-loop join at the default e2e
scale: about ten seconds of DuckDB work, so there is time to watch and stop it.
"""

from __future__ import annotations

import _thread
import threading
import time

import psutil
import pytest

import quiver
from quiver_harness import Oracle, QuiverServer

SLOW = "SELECT count(*) AS n FROM demo.plays a, demo.plays b WHERE a.play_id + b.play_id < 0"
SCAN = "SELECT play_id, device FROM demo.plays"
MERGE = "SELECT device, count(*) AS plays FROM demo.plays GROUP BY device"


def _busy_workers(server: QuiverServer, seconds: float = 0.5) -> list[float]:
    """CPU use (percent) of the coordinator's worker processes over ``seconds``."""
    workers = psutil.Process(server.pid).children(recursive=True)
    for w in workers:
        w.cpu_percent(None)
    time.sleep(seconds)
    return [w.cpu_percent(None) for w in workers]


def _wait_state(result: quiver.Result, want: str, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    report = result.progress()
    while (report is None or report.get("state") != want) and time.monotonic() < deadline:
        time.sleep(0.1)
        report = result.progress()
    assert report is not None and report.get("state") == want, report
    return report


@pytest.mark.parametrize("sql", [SCAN, MERGE], ids=["scan", "merge"])
def test_progress_bar_shows_the_servers_fragments(
    local_quiver: QuiverServer, local_oracle: Oracle, capsys: pytest.CaptureFixture[str], sql: str
) -> None:
    with quiver.connect(local_quiver.uri, progress=True) as conn:
        conn.progress_delay = 0
        result = conn.sql(sql)
        table = result.to_arrow()
        report = _wait_state(result, "finished")
    expected = local_oracle.query(sql)
    assert table.num_rows == expected.num_rows
    total = report["fragments_total"]
    assert isinstance(total, int) and total >= 2
    assert report["fragments_done"] == total
    if sql == MERGE:
        # One endpoint, several fragments: the bar counts what the server counts.
        assert result.num_endpoints == 1
    err = capsys.readouterr().err
    assert f"{total}/{total}" in err and f"rows={expected.num_rows:,}" in err, err


def test_interrupt_cancels_the_query_and_frees_the_workers(local_quiver: QuiverServer) -> None:
    with quiver.connect(local_quiver.uri, progress=False) as conn:
        result = conn.sql(SLOW)
        timer = threading.Timer(1.5, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            result.to_arrow()
        assert time.monotonic() - started < 4, "the interrupt was not prompt"
        report = _wait_state(result, "cancelled")
        assert report["fragments_done"] < report["fragments_total"] or report["rows"] == 0
        # The workers stop computing within a few seconds (the query alone would run ~10 s more).
        deadline = time.monotonic() + 8
        busy = _busy_workers(local_quiver)
        while max(busy) > 20 and time.monotonic() < deadline:
            busy = _busy_workers(local_quiver)
        assert max(busy) <= 20, f"workers still busy after the cancel: {busy}"
        # And the next query runs.
        started = time.monotonic()
        assert conn.sql("SELECT count(*) AS n FROM demo.titles").to_arrow().column(0)[0].as_py() > 0
        assert time.monotonic() - started < 5


def test_cancel_from_another_thread_raises_cancelled(local_quiver: QuiverServer) -> None:
    with quiver.connect(local_quiver.uri, progress=False) as conn:
        result = conn.sql(SLOW)
        accepted: list[bool] = []
        timer = threading.Timer(1.0, lambda: accepted.append(result.cancel()))
        timer.start()
        with pytest.raises(quiver.Cancelled) as info:
            result.to_arrow()
        timer.join()
        assert accepted == [True]
        # The error came from the server (not the client's own fallback).
        assert info.value.code == "CANCELLED" and info.value.transport_error is not None
        _wait_state(result, "cancelled")
        assert conn.sql("SELECT 1 AS one").to_arrow().to_pylist() == [{"one": 1}]
