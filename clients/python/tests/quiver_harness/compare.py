"""Comparing a Quiver result with the oracle's, by the corpus rules.

Same column names and Arrow types; rows compared as a multiset (sorted by the
string forms of their values) or in order; floating-point values compared to
9 significant digits.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pyarrow as pa

SIGNIFICANT_DIGITS = 9
_REL_TOL = 10.0**-(SIGNIFICANT_DIGITS)
_ABS_TOL = 1e-12


def _round(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return value
        if value == 0.0:
            return 0.0
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_round(v) for v in value)
    return value


def normalize_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """The rows of ``table`` as tuples, floats rounded to 9 significant digits."""
    columns = [_round(col.to_pylist()) for col in table.columns]
    return [tuple(row) for row in zip(*columns, strict=True)] if columns else [() for _ in range(table.num_rows)]


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, str(value)) for value in row)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b or math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=_ABS_TOL)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _first_differences(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], limit: int = 5) -> str:
    lines = []
    for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
        if not _close(a, e):
            lines.append(f"  row {i}: got {a!r}\n          want {e!r}")
            if len(lines) >= limit:
                break
    return "\n".join(lines)


def _multiset_differences(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], limit: int = 5) -> str:
    got, want = Counter(map(repr, actual)), Counter(map(repr, expected))
    extra = list((got - want).elements())[:limit]
    missing = list((want - got).elements())[:limit]
    return f"  unexpected rows: {extra}\n  missing rows: {missing}"


def assert_tables_match(actual: pa.Table, expected: pa.Table, ordered: bool = False, context: str = "") -> None:
    """Raise AssertionError describing the first differences between two results."""
    where = f"{context}: " if context else ""
    if actual.column_names != expected.column_names:
        raise AssertionError(f"{where}column names differ: got {actual.column_names}, want {expected.column_names}")
    type_diffs = [
        f"{name}: got {a.type}, want {e.type}"
        for name, a, e in zip(actual.column_names, actual.schema, expected.schema, strict=True)
        if not a.type.equals(e.type)
    ]
    if type_diffs:
        raise AssertionError(f"{where}column types differ: " + "; ".join(type_diffs))
    if actual.num_rows != expected.num_rows:
        raise AssertionError(f"{where}row counts differ: got {actual.num_rows}, want {expected.num_rows}")
    got, want = normalize_rows(actual), normalize_rows(expected)
    if not ordered:
        got.sort(key=_sort_key)
        want.sort(key=_sort_key)
    if all(_close(a, e) for a, e in zip(got, want, strict=True)):
        return
    detail = _first_differences(got, want) if ordered else _multiset_differences(got, want)
    kind = "in order" if ordered else "as a multiset"
    raise AssertionError(f"{where}rows differ {kind}:\n{detail}")
