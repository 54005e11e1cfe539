"""Every benchmark driver run for real at the smallest scale that still takes
its code path — stream, latency and memory in one Flight session, TPC-H in
MinIO, the soak — and the report rendered from the files they write.

The runs write only under a tmp dir (``--out`` for data, logs and server
work dirs, ``--results`` for the JSON), never into bench/out, so they do
not collide with a `make bench` running in the same checkout. Each driver
runs once per module; the tests read what it wrote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import flight_bench as fb
import report
import run
import tpch

ROWS = 20_000
LATENCY_RUNS = 5
TPCH_QUERIES = [1, 3, 13]  # split aggregate, broadcast joins, single-node fallback
SOAK = "2 5s"
SOAK_SCALE = "0.01"
MIB = 1 << 20


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(out, results): the working dir the drivers use and where results go."""
    root = tmp_path_factory.mktemp("bench")
    return root / "out", root / "results"


def _run(dirs: tuple[Path, Path], only: str, *extra: str) -> None:
    out, results = dirs
    os.environ.pop("QUIVER_BENCH_COMMAND", None)
    assert run.main(["--only", only, "--quick", *extra, "--results", str(results), "--out", str(out),
                     "--no-report"]) == 0


def _load(dirs: tuple[Path, Path], name: str) -> dict[str, Any]:
    r: dict[str, Any] = json.loads((dirs[1] / f"{name}.json").read_text())
    assert r["name"] == name and r["quick"] is True and r["seconds"] > 0
    return r


def _tools(need_minio: bool) -> None:
    from quiver_harness import find_tools

    missing = find_tools().missing(need_minio=need_minio)
    assert not missing, f"the benchmark driver tests need: {missing}"


@pytest.fixture(scope="module")
def flight_results(dirs: tuple[Path, Path]) -> dict[str, dict[str, Any]]:
    """stream, latency, memory and compression at 20K rows (the first
    three share one set of servers)."""
    _tools(need_minio=False)
    _run(dirs, "stream,latency,memory,compression", "--rows", str(ROWS), "--runs", "1", "--latency-runs", str(LATENCY_RUNS),
         "--first-batch-runs", "1")
    return {n: _load(dirs, n) for n in ("stream", "latency", "memory", "compression")}


@pytest.fixture(scope="module")
def tpch_result(dirs: tuple[Path, Path]) -> dict[str, Any]:
    """TPC-H SF 0.01, three queries, one cold and one warm pass."""
    _tools(need_minio=True)
    _run(dirs, "tpch", "--tpch-scale", "0.01", "--tpch-runs", "1", "--tpch-cold-runs", "1",
         "--tpch-queries", ",".join(map(str, TPCH_QUERIES)))
    return _load(dirs, "tpch")


@pytest.fixture(scope="module")
def soak_result(dirs: tuple[Path, Path]) -> dict[str, Any]:
    """bench/soak.sh with 2 clients for 5 s over demo data at scale 0.01."""
    _tools(need_minio=False)
    _run(dirs, "soak", "--soak", SOAK, "--soak-scale", SOAK_SCALE)
    return _load(dirs, "soak")


def test_stream_run_times_every_system(flight_results: dict[str, dict[str, Any]]) -> None:
    """stream: five systems per table, each fetch checked for the right row
    count by the benchmark itself, one timed round each."""
    d = flight_results["stream"]["data"]
    assert (d["rows"], d["runs"]) == (ROWS, 1)
    for table in ("narrow", "wide"):
        t = d["tables"][table]
        assert t["arrow_bytes"] > 0
        for key in ("seconds", "rows_per_s", "mb_per_s"):
            assert set(t[key]) == set(fb.STREAM_SYSTEMS)
            assert all(s["n"] == 1 and s["median"] > 0 for s in t[key].values())


def test_latency_run_has_ordered_percentiles_per_system(flight_results: dict[str, dict[str, Any]]) -> None:
    """latency: both small queries on each latency system with min ≤ p50 ≤
    p99 ≤ max, and time to first batch of every routing."""
    d = flight_results["latency"]["data"]
    assert d["runs"] == LATENCY_RUNS
    assert set(d["queries"]) == {"lookup", "aggregate"}
    for per in d["queries"].values():
        assert set(per) == set(fb.LATENCY_SYSTEMS)
        for s in per.values():
            assert 0 < s["min_ms"] <= s["p50_ms"] <= s["p99_ms"] <= s["max_ms"]
    fb_ = d["first_batch"]
    assert (fb_["runs"], fb_["rows"]) == (1, ROWS)
    assert set(fb_["ms"]) == set(fb.TTFB_SYSTEMS)
    assert all(s["n"] == 1 and s["median"] > 0 for s in fb_["ms"].values())


def test_memory_run_samples_coordinator_and_workers(flight_results: dict[str, dict[str, Any]]) -> None:
    """memory: three result sizes (1×, 10×, 100×) with growing Arrow bytes,
    a coordinator peak at least its resting RSS and a non-zero worker peak."""
    sizes = flight_results["memory"]["data"]["sizes"]
    assert [s["rows"] for s in sizes] == [ROWS // 100, ROWS // 10, ROWS]
    assert 0 < sizes[0]["arrow_bytes"] < sizes[1]["arrow_bytes"] < sizes[2]["arrow_bytes"]
    for s in sizes:
        for key in ("coordinator_before", "coordinator_peak", "workers_peak", "seconds"):
            assert s[key]["n"] == 1 and s[key]["median"] > 0, key
        # The peak sampler starts a moment after the resting sample: allow
        # that moment's noise, not a real drop.
        assert s["coordinator_peak"]["max"] >= s["coordinator_before"]["median"] - MIB
        assert s["workers_peak"]["max"] > 10 * MIB


def test_compression_run_measures_bytes_and_time_per_codec(flight_results: dict[str, dict[str, Any]]) -> None:
    """compression: every codec fetched each table once; the coordinator
    relayed fewer bytes with Zstd than LZ4 and with LZ4 than uncompressed,
    and the ratios and break-even bandwidths follow from the bytes and times."""
    d = flight_results["compression"]["data"]
    assert (d["rows"], d["runs"]) == (ROWS, 1)
    for table in ("narrow", "wide"):
        t = d["tables"][table]
        wire = t["wire_bytes"]
        assert set(wire) == {"off", "zstd", "lz4"}
        assert 0 < wire["zstd"] < wire["lz4"] < wire["off"], wire
        assert wire["off"] >= t["arrow_bytes"] * 0.9, "uncompressed, the wire carries the Arrow data"
        for codec in ("zstd", "lz4"):
            assert t["ratio"][codec] == pytest.approx(wire["off"] / wire[codec])
            assert t["break_even_mb_per_s"][codec] == pytest.approx(wire["off"] / 1e6 / t["seconds"][codec]["median"])
        assert all(s["n"] == 1 and s["median"] > 0 for s in t["seconds"].values())
        assert t["throughput_vs_off"]["off"]["median"] == pytest.approx(1.0)


def test_tpch_run_has_every_query_system_and_phase(tpch_result: dict[str, Any]) -> None:
    """tpch: per-query cold and warm times for DuckDB and both Quiver
    layouts, totals that add up, agreed non-empty row counts, a plan per
    query, and S3 GETs counted for every cold run (no fewer than warm)."""
    d = tpch_result["data"]
    assert (d["scale"], d["runs"], d["cold_runs"]) == (0.01, 1, 1)
    nrs = {str(nr) for nr in TPCH_QUERIES}
    for phase in ("warm", "cold"):
        assert set(d[phase]) == set(tpch.SYSTEMS), phase
        for name, per in d[phase].items():
            assert set(per["per_query"]) == nrs
            assert all(s["n"] == 1 and s["median"] > 0 for s in per["per_query"].values())
            total = sum(s["median"] for s in per["per_query"].values())
            assert per["total"]["n"] == 1 and per["total"]["median"] == pytest.approx(total), (phase, name)
    assert set(d["rows"]) == nrs and all(n > 0 for n in d["rows"].values())
    assert set(d["strategies"]) == nrs
    assert all(s and "failed" not in s for s in d["strategies"].values()), d["strategies"]
    for name in tpch.SYSTEMS:
        for nr in nrs:
            cold_gets, cold_bytes = d["s3"]["cold"][name][nr]
            warm_gets, _ = d["s3"]["warm"][name][nr]
            assert cold_gets > 0 and cold_bytes > 0, (name, nr)
            assert 0 <= warm_gets <= cold_gets, (name, nr)


def test_soak_run_has_no_errors(soak_result: dict[str, Any]) -> None:
    """soak: queries ran with 0 errors, every class measured alone first,
    per-class counts add up, and memory was sampled."""
    d = soak_result["data"]
    clients, duration = SOAK.split()
    assert d["command"] == f"bench/soak.sh {clients} {duration} {SOAK_SCALE}"
    assert d["clients"] == int(clients) and d["seconds"] >= 4
    assert d["queries"] > 0 and d["qps"] > 0
    assert d["errors"] == {}
    classes = d["classes"]
    assert set(classes) == {"lookup", "aggregate", "scan"}
    assert sum(c["count"] for c in classes.values()) == d["queries"]
    for name, c in classes.items():
        assert c["errors"] == 0 and c["baseline_p50_ms"] > 0, name
        if c["count"]:
            assert 0 < c["p50_ms"] <= c["p99_ms"], name
    assert d["memory"]["coordinator_peak_mib"] > 0 and d["memory"]["workers_peak_mib"] > 0
    assert "| class | queries | errors |" in d["markdown"]


def test_report_renders_every_section_from_real_results(
    dirs: tuple[Path, Path], flight_results: dict[str, Any], tpch_result: dict[str, Any],
    soak_result: dict[str, Any], tmp_path: Path,
) -> None:
    """report.write on the real result files: every section, the targets,
    a row per TPC-H query and the soak's own table, and every chart."""
    out, charts = tmp_path / "BENCHMARKS.md", tmp_path / "charts"
    report.write(dirs[1], out, charts)
    text = out.read_text()
    for title in ("## Targets", "## Streaming throughput", "## Small-query latency and time to first batch",
                  "## Memory vs result size", "## IPC compression", "## TPC-H in MinIO", "## Concurrency (the operations soak)"):
        assert title in text, title
    assert text.count("Quick mode (small scale)") == 6
    assert "| zstd |" in text and "| lz4 |" in text
    assert "| Streaming `narrow`, Quiver (proxy) | ≥ 0.8× in-process DuckDB |" in text
    assert "| Small query `lookup`: Quiver p99 | ≤ 10 ms |" in text
    assert "| Coordinator peak RSS vs result size (streaming) |" in text
    assert "| TPC-H SF0.01 total (warm), Quiver 2 workers | ≤ 1.2× DuckDB alone |" in text
    for nr in TPCH_QUERIES:
        assert f"| q{nr:02d} |" in text
    assert f"**Time to first batch** of `SELECT * FROM bench.wide` ({ROWS:,} rows)" in text
    assert "| workers (sum of 2) |" in text
    for chart in ("stream", "latency", "memory", "tpch"):
        assert (charts / f"{chart}.png").stat().st_size > 1000, chart


def test_shapes_runs_the_corpus_on_every_system(dirs: tuple[Path, Path]) -> None:
    """bench/shapes.py over demo data at scale 0.01, its first 5 queries."""
    import shapes

    _tools(need_minio=False)
    summary = shapes.main(["--scale", "0.01", "--reps", "1", "--limit", "5", "--out", str(dirs[0] / "shapes")])
    assert summary["queries"] == 5
    assert summary["distributed_2w"] == 5, summary["strategies"]
    assert all(summary["total_s"][k] > 0 for k in ("duckdb", "1w", "2w"))
    queries = json.loads((dirs[0] / "shapes" / "result.json").read_text())["queries"]
    assert all(q["rows"] >= 0 and q["strategy_2w"] for q in queries)


def test_fallbacks_measures_each_against_its_refused_form(dirs: tuple[Path, Path]) -> None:
    """bench/fallbacks.py at scale 0.01: each slower fallback is kept on one
    worker, its refused form is distributed (or emulated), same rows."""
    import fallbacks

    _tools(need_minio=False)
    summary = fallbacks.main(["--scale", "0.01", "--reps", "1", "--out", str(dirs[0] / "fallbacks")])
    got = {q["name"]: q for q in summary["queries"]}
    assert set(got) == {"window", "order", "correlated"}
    assert got["window"]["strategy_kept"] == "single; fallback: select:window_function"
    assert got["window"]["strategy_refused"].startswith("staged")
    assert got["order"]["strategy_kept"] == "single; fallback: order_without_limit"
    assert got["order"]["strategy_refused"].startswith("topk")
    assert got["correlated"]["strategy_kept"].startswith("single")
    assert all(q["refused_over_kept"] > 0 and q["rows"] >= 0 for q in summary["queries"])
