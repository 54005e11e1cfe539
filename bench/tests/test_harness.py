"""Tests of the benchmark harness: the statistics and interleaving every
number depends on, the report's target verdicts and the perf folding. The
drivers themselves run against real servers in test_drivers.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchlib as bl
import perf_profile as prof
import report


def test_interleave_rotates_and_covers_every_system_each_round() -> None:
    got = list(bl.interleave(["a", "b", "c"], 3))
    assert [n for r, n in got if r == 0] == ["a", "b", "c"]
    assert [n for r, n in got if r == 1] == ["b", "c", "a"]
    assert [n for r, n in got if r == 2] == ["c", "a", "b"]


def test_percentile_and_stat() -> None:
    values = [float(x) for x in range(1, 101)]
    assert bl.percentile(values, 50) == pytest.approx(50.5)
    assert bl.percentile(values, 99) == pytest.approx(99.01)
    assert bl.percentile([7.0], 99) == 7.0
    s = bl.Stat.of([3.0, 1.0, 2.0])
    assert (s.median, s.min, s.max, s.n) == (2.0, 1.0, 3.0, 3)


def _stat(x: float) -> dict[str, float]:
    return {"median": x, "min": x * 0.9, "max": x * 1.1, "n": 3}


def _result(name: str, data: dict) -> dict:
    machine = {"cpu": "test cpu", "cpus": 2, "ram_gib": 4, "os": "Linux", "python": "3", "pyarrow": "1",
               "duckdb": "1", "go": "go", "quiver": "quiver dev", "commit": "abc1234", "tree": "clean",
               "date": "today", "load_before": 0.5}
    return {"name": name, "command": "make bench", "quick": False, "machine": machine, "data": data, "seconds": 1.0}


def test_report_verdicts_follow_the_ratios(tmp_path: Path) -> None:
    systems = {"duckdb": 10e6, "quiver-proxy": 9e6, "quiver-direct": 5e6, "arrow-memory": 20e6, "python-duckdb": 5e6}
    table = {"arrow_bytes": 100e6, "seconds": {n: _stat(1e7 / v) for n, v in systems.items()},
             "rows_per_s": {n: _stat(v) for n, v in systems.items()},
             "mb_per_s": {n: _stat(v / 1e5) for n, v in systems.items()}}
    results = tmp_path / "results"
    results.mkdir()
    stream = _result("stream", {"rows": 10_000_000, "runs": 3, "tables": {"narrow": table}})
    (results / "stream.json").write_text(json.dumps(stream))
    sizes = [{"rows": n, "arrow_bytes": n * 150, "coordinator_before": _stat(100 << 20),
              "coordinator_peak": _stat((100 << 20) + n * 150 // 2), "workers_peak": _stat(500 << 20),
              "seconds": _stat(1.0)} for n in (100_000, 1_000_000, 10_000_000)]
    (results / "memory.json").write_text(json.dumps(_result("memory", {"sizes": sizes})))
    out = tmp_path / "BENCHMARKS.md"
    report.write(results, out, tmp_path / "charts")
    text = out.read_text()
    # 9M vs 10M rows/s: 0.90× DuckDB, met; 5M: 0.50×, missed by 1.60×.
    assert "| Streaming `narrow`, Quiver (proxy) | ≥ 0.8× in-process DuckDB | 0.90× | met |" in text
    assert "| Streaming `narrow`, Quiver (direct) | ≥ 0.8× in-process DuckDB | 0.50× | **missed** (1.60× short) |" in text
    assert "| Streaming `narrow`, Quiver (proxy) | ≥ 1.5× Python Flight + DuckDB | 1.80× | met |" in text
    # A coordinator that grows by half the result is not flat.
    assert "independent of result size" in text and "grows with the result" in text
    assert (tmp_path / "charts" / "stream.png").stat().st_size > 1000
    assert (tmp_path / "charts" / "memory.png").stat().st_size > 1000


def test_fold_perf_script_by_process_role() -> None:
    script = (
        "quiver 100/101 1.0: 1 cpu-clock:\n"
        "\t   abc runtime.memmove+0x10 (/bin/quiver)\n"
        "\t   abd coordinator.(*Coordinator).relay+0x20 (/bin/quiver)\n"
        "\t   abe runtime.goexit.abi0+0x1 (/bin/quiver)\n"
        "\n"
        "quiver 200/202 1.0: 1 cpu-clock:\n"
        "\t   abc duckdb::ColumnDataCopy<duckdb::string_t>(int)+0x5 (/bin/quiver)\n"
        "\t   0 [unknown] (/bin/quiver)\n"
        "\n"
        "other 300/300 1.0: 1 cpu-clock:\n"
        "\t   abc main+0x1 (/bin/other)\n"
    )
    folded = prof.fold(script, {100: "coordinator", 200: "worker"})
    assert set(folded) == {"coordinator", "worker"}
    assert folded["coordinator"] == {("runtime.goexit.abi0", "coordinator.().relay", "runtime.memmove"): 1}
    assert folded["worker"] == {("[quiver]", "duckdb::ColumnDataCopy<…>()"): 1}

