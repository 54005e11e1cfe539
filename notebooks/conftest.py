"""Notebook tests reuse the client's end-to-end harness (quiver_harness.plugin)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent.parent / "clients" / "python" / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

pytest_plugins = ["quiver_harness.plugin"]
