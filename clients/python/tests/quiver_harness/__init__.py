"""Test harness shared by the Python end-to-end tests, the notebooks and the benchmark.

It starts real processes (MinIO, ``quiver demo-data``, ``quiver serve``), each
in its own process group so a teardown can kill the whole tree, and gives the
tests an in-process DuckDB oracle over the same files plus a comparator that
follows the corpus rules of ``testdata/e2e/queries.sql``. ``plugin`` exposes
all of it as session-scoped pytest fixtures; the other modules have no pytest
dependency so the benchmark can reuse them.
"""

from __future__ import annotations

from .compare import assert_tables_match, normalize_rows
from .corpus import CorpusQuery, load_corpus, parse_corpus
from .flightraw import flight_fetch
from .oracle import Oracle
from .processes import ManagedProcess, free_port
from .servers import (
    MinioServer,
    QuiverServer,
    Warehouse,
    make_local_warehouse,
    make_s3_warehouse,
    start_minio,
    start_quiver,
)
from .tools import Tools, find_tools, repo_root

__all__ = [
    "CorpusQuery",
    "ManagedProcess",
    "MinioServer",
    "Oracle",
    "QuiverServer",
    "Tools",
    "Warehouse",
    "assert_tables_match",
    "find_tools",
    "flight_fetch",
    "free_port",
    "load_corpus",
    "make_local_warehouse",
    "make_s3_warehouse",
    "normalize_rows",
    "parse_corpus",
    "repo_root",
    "start_minio",
    "start_quiver",
]
