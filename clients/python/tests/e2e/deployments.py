"""What the end-to-end tests share besides fixtures (conftest is not importable by name)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from quiver_harness import CorpusQuery, Oracle, QuiverServer, Warehouse
from quiver_harness.corpus import corpus_path


@dataclass
class Deployment:
    """Deployment is one running server and its oracle."""

    name: str
    server: QuiverServer
    oracle: Oracle

    @property
    def uri(self) -> str:
        return self.server.uri

    @property
    def warehouse(self) -> Warehouse:
        return self.server.warehouse


def require_query(query: CorpusQuery | None) -> CorpusQuery:
    """Fail clearly when the corpus file does not exist."""
    if query is None:
        pytest.fail(f"the shared corpus {corpus_path()} does not exist")
    return query
