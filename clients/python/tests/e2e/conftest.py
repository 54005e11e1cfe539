"""End-to-end fixtures: each test runs once per deployment (local and S3).

A deployment is a real ``quiver serve`` with two local workers over a
warehouse filled by ``quiver demo-data``, plus the DuckDB oracle over the same
files. The processes come from ``quiver_harness.plugin`` (session scope), so
pytest groups the tests by deployment and starts each one once.
"""

from __future__ import annotations

from collections.abc import Iterator

import adbc_driver_flightsql.dbapi as flightsql
import pytest
from deployments import Deployment

from quiver_harness import CorpusQuery, load_corpus
from quiver_harness.corpus import corpus_path


@pytest.fixture(scope="session", params=["local", "s3"])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """A running deployment, once over a local directory and once over MinIO."""
    kind = str(request.param)
    server = request.getfixturevalue(f"{kind}_quiver")
    oracle = request.getfixturevalue(f"{kind}_oracle")
    return Deployment(kind, server, oracle)


@pytest.fixture
def adbc_conn(deployment: Deployment) -> Iterator[flightsql.Connection]:
    """An ADBC Flight SQL connection to the deployment."""
    conn = flightsql.connect(deployment.uri, autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``corpus_query`` over the shared corpus, one test per query."""
    if "corpus_query" not in metafunc.fixturenames:
        return
    path = corpus_path()
    if not path.is_file():
        # The corpus is part of the contract; its absence is a failure, not a skip.
        metafunc.parametrize("corpus_query", [None], ids=["corpus-missing"])
        return
    queries: list[CorpusQuery | None] = list(load_corpus(path))
    metafunc.parametrize("corpus_query", queries, ids=[q.name for q in queries if q is not None])
