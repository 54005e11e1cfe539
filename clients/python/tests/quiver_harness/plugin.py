"""Session-scoped pytest fixtures for real Quiver deployments.

Load it with ``pytest_plugins = ["quiver_harness.plugin"]`` from a conftest
that has ``clients/python/tests`` on ``sys.path``; pytest registers a plugin
once, so the end-to-end tests and the notebook tests share one set of
processes per session. Every process is stopped at session end, also when
setup fails half-way. ``QUIVER_E2E_SCALE`` (default 0.01) sets the demo scale.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from .oracle import Oracle
from .servers import (
    MinioServer,
    QuiverServer,
    Warehouse,
    make_local_warehouse,
    make_s3_warehouse,
    start_minio,
    start_quiver,
)
from .tools import Tools, find_tools


def e2e_scale() -> float:
    """The demo-data scale of the end-to-end warehouses."""
    return float(os.environ.get("QUIVER_E2E_SCALE", "0.01"))


@pytest.fixture(scope="session")
def quiver_tools() -> Tools:
    """The quiver binary (skips when it has not been built)."""
    tools = find_tools()
    missing = tools.missing(need_minio=False)
    if missing:
        pytest.skip("end-to-end tests need " + "; ".join(missing))
    return tools


@pytest.fixture(scope="session")
def quiver_tools_s3(quiver_tools: Tools) -> Tools:
    """The quiver binary, MinIO and the httpfs extension (skips when absent)."""
    missing = quiver_tools.missing(need_minio=True)
    if missing:
        pytest.skip("S3 end-to-end tests need " + "; ".join(missing))
    return quiver_tools


@pytest.fixture(scope="session")
def harness_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A per-session directory for warehouses, MinIO data and process logs."""
    return tmp_path_factory.mktemp("quiver-e2e")


@pytest.fixture(scope="session")
def minio_server(quiver_tools_s3: Tools, harness_dir: Path) -> Iterator[MinioServer]:
    """A MinIO on a free port with the bucket ``quiver``."""
    server = start_minio(quiver_tools_s3, harness_dir / "minio")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_warehouse(quiver_tools: Tools, harness_dir: Path) -> Warehouse:
    """A local-directory warehouse holding the demo dataset."""
    return make_local_warehouse(quiver_tools, harness_dir / "warehouse", e2e_scale(), harness_dir)


@pytest.fixture(scope="session")
def s3_warehouse(quiver_tools_s3: Tools, minio_server: MinioServer, harness_dir: Path) -> Warehouse:
    """An ``s3://quiver/warehouse`` warehouse on MinIO holding the demo dataset."""
    return make_s3_warehouse(quiver_tools_s3, minio_server, "warehouse", e2e_scale(), harness_dir)


def _serve(tools: Tools, warehouse: Warehouse, harness_dir: Path) -> Generator[QuiverServer, None, None]:
    server = start_quiver(tools, warehouse, harness_dir / "logs", local_workers=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_quiver(quiver_tools: Tools, local_warehouse: Warehouse, harness_dir: Path) -> Iterator[QuiverServer]:
    """``quiver serve`` over the local warehouse with two local workers."""
    yield from _serve(quiver_tools, local_warehouse, harness_dir)


@pytest.fixture(scope="session")
def s3_quiver(quiver_tools_s3: Tools, s3_warehouse: Warehouse, harness_dir: Path) -> Iterator[QuiverServer]:
    """``quiver serve`` over the MinIO warehouse with two local workers."""
    yield from _serve(quiver_tools_s3, s3_warehouse, harness_dir)


@pytest.fixture(scope="session")
def local_oracle(quiver_tools: Tools, local_warehouse: Warehouse) -> Iterator[Oracle]:
    """DuckDB in-process over the local warehouse."""
    oracle = Oracle(local_warehouse, quiver_tools)
    try:
        yield oracle
    finally:
        oracle.close()


@pytest.fixture(scope="session")
def s3_oracle(quiver_tools_s3: Tools, s3_warehouse: Warehouse) -> Iterator[Oracle]:
    """DuckDB in-process over the MinIO warehouse."""
    oracle = Oracle(s3_warehouse, quiver_tools_s3)
    try:
        yield oracle
    finally:
        oracle.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """Attach the log of every quiver server a failed test used to its report."""
    report = yield
    if getattr(report, "failed", False):
        funcargs = getattr(item, "funcargs", {})
        seen: set[int] = set()
        for value in funcargs.values():
            server = value if isinstance(value, QuiverServer) else getattr(value, "server", None)
            if isinstance(server, QuiverServer) and server.pid not in seen:
                seen.add(server.pid)
                report.sections.append((f"quiver serve log ({server.warehouse.kind})", server.process.describe()))  # type: ignore[attr-defined]
    return report
