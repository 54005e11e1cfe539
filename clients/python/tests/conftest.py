"""Shared fixtures for every Python test: see quiver_harness.plugin."""

import pytest

from quiver.options import ENVIRONMENT

pytest_plugins = ["quiver_harness.plugin"]


@pytest.fixture(autouse=True)
def _no_quiver_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without the caller's QUIVER_TOKEN, QUIVER_USERNAME, QUIVER_TLS_CA, …; a test sets what it needs."""
    for name in ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
