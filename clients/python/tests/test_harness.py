"""Unit tests of the end-to-end harness itself (no quiver binary needed)."""

from __future__ import annotations

import decimal
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pytest

from quiver_harness import ManagedProcess, assert_tables_match, parse_corpus
from quiver_harness.corpus import corpus_path, load_corpus


def test_parse_corpus() -> None:
    text = """-- header comment, ignored
-- name: count_plays
SELECT count(*) FROM demo.plays;

-- name: ordered_titles
-- ordered
SELECT title_id
FROM demo.titles
ORDER BY title_id;
-- name: no_semicolon
-- a comment that belongs to the statement
SELECT 1
"""
    queries = parse_corpus(text)
    assert [(q.name, q.ordered) for q in queries] == [
        ("count_plays", False),
        ("ordered_titles", True),
        ("no_semicolon", False),
    ]
    assert queries[0].sql == "SELECT count(*) FROM demo.plays"
    assert queries[1].sql == "SELECT title_id\nFROM demo.titles\nORDER BY title_id"
    assert queries[2].sql == "-- a comment that belongs to the statement\nSELECT 1"
    assert queries[1].line == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n", "duplicate"),
        ("-- name: empty\n;\n", "no statement"),
        ("-- name: bad-name\nSELECT 1\n", "not an identifier"),
    ],
)
def test_parse_corpus_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_corpus(text)


def test_shared_corpus_parses() -> None:
    if not corpus_path().is_file():
        pytest.fail(f"the shared corpus {corpus_path()} does not exist")
    queries = load_corpus()
    assert queries, "the corpus has no queries"


@pytest.mark.parametrize(
    ("actual", "expected", "ordered", "error"),
    [
        (pa.table({"a": [1, 2]}), pa.table({"a": [2, 1]}), False, None),
        (pa.table({"a": [1, 2]}), pa.table({"a": [2, 1]}), True, "rows differ in order"),
        (pa.table({"a": [1, 1, 2]}), pa.table({"a": [1, 2, 2]}), False, "rows differ as a multiset"),
        (pa.table({"a": [1]}), pa.table({"b": [1]}), False, "column names differ"),
        (pa.table({"a": pa.array([1], pa.int32())}), pa.table({"a": pa.array([1], pa.int64())}), False, "types differ"),
        (pa.table({"a": [1]}), pa.table({"a": [1, 1]}), False, "row counts differ"),
        (pa.table({"x": [1.0000000001, None]}), pa.table({"x": [None, 1.0]}), False, None),
        (pa.table({"x": [1.00001]}), pa.table({"x": [1.0]}), False, "rows differ"),
        (pa.table({"x": [float("nan")]}), pa.table({"x": [float("nan")]}), True, None),
        (
            pa.table({"d": pa.array([decimal.Decimal("1.50")], pa.decimal128(10, 2))}),
            pa.table({"d": pa.array([decimal.Decimal("1.50")], pa.decimal128(10, 2))}),
            True,
            None,
        ),
        (pa.table({"s": ["None", None]}), pa.table({"s": [None, "None"]}), False, None),
        (pa.table({"l": [[1.0, 2.0]]}), pa.table({"l": [[1.0, 2.0000000000001]]}), True, None),
    ],
)
def test_assert_tables_match(actual: pa.Table, expected: pa.Table, ordered: bool, error: str | None) -> None:
    if error is None:
        assert_tables_match(actual, expected, ordered=ordered)
    else:
        with pytest.raises(AssertionError, match=error):
            assert_tables_match(actual, expected, ordered=ordered)


def test_managed_process_kills_its_tree(tmp_path: Path) -> None:
    # A leader that ignores SIGTERM, with one child in its group and one in another.
    script = "trap '' TERM; setsid sleep 300 & sleep 300 & wait"
    proc = ManagedProcess("tree", ["bash", "-c", script], tmp_path / "tree.log")
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 5
        while len(children) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2
    finally:
        proc.stop(grace=1)
    assert not proc.alive()
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
