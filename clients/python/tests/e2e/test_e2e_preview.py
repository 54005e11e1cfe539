"""Notebook previews read a page, not the result; DECIMAL columns can arrive as floats for plotting."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow.flight as flight
import pytest
from deployments import Deployment

import quiver
from quiver_harness import QuiverServer
from quiver_harness.oracle import Oracle
from quiver_harness.processes import wait_until

# Every row of demo.plays, twenty times over: far more batches than a page needs.
FROM = "FROM demo.plays p, range(20) r"
LARGE = f"SELECT p.play_id, p.device, p.revenue, r.range AS copy {FROM}"


class _CountingReader:
    """A DoGet reader that counts the chunks read from the server."""

    def __init__(self, reader: flight.FlightStreamReader, counts: dict[str, int]) -> None:
        self._reader = reader
        self._counts = counts

    def read_chunk(self) -> Any:
        chunk = self._reader.read_chunk()
        if chunk.data is not None:
            self._counts["batches"] += 1
            self._counts["rows"] += chunk.data.num_rows
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


@pytest.fixture
def counted(local_quiver: QuiverServer) -> Iterator[tuple[quiver.Connection, dict[str, int]]]:
    """A connection whose DoGet streams count the batches and rows they read."""
    counts = {"batches": 0, "rows": 0, "streams": 0}
    conn = quiver.connect(local_quiver.uri, progress=False, preview_rows=25)
    do_get = conn._do_get

    def counting_do_get(endpoint: flight.FlightEndpoint) -> Any:
        counts["streams"] += 1
        return _CountingReader(do_get(endpoint), counts)

    conn._do_get = counting_do_get  # type: ignore[method-assign]
    try:
        yield conn, counts
    finally:
        conn.close()


def test_preview_of_a_large_result_reads_a_page(
    counted: tuple[quiver.Connection, dict[str, int]], local_oracle: Oracle
) -> None:
    conn, counts = counted
    total = local_oracle.query(f"SELECT count(*) {FROM}").column(0)[0].as_py()
    result = conn.sql(LARGE)
    html = result._repr_html_()
    assert "first 25 rows; more not fetched · 4 columns" in html
    assert "more rows not fetched" in html and html.count("<tr><td>") == 25
    # One stream, and at most the batch shown, the one queued behind it and the one being queued.
    assert counts["streams"] == 1
    assert counts["batches"] <= 3, counts
    # Workers send batches of at most 65,536 rows: three are a small part of
    # the result (how many arrived before the cancel depends on timing).
    preview_rows = counts["rows"]
    assert preview_rows <= 3 * 65_536 and preview_rows < total / 4, counts
    # The preview cancelled the rest of the query on the server: it holds no slot.
    assert wait_until(lambda: (result.progress() or {}).get("state") == "cancelled", timeout=10), result.progress()
    # Displaying again reuses the page.
    assert result._repr_html_() == html
    assert counts["batches"] <= 3
    # The full fetch runs the query again and gets every row.
    table = result.to_arrow()
    assert table.num_rows == total
    assert counts["rows"] - preview_rows == total
    assert counts["batches"] > 3
    assert f"{total:,} rows · 4 columns" in result._repr_html_()


def test_head_returns_first_rows_and_a_small_result_runs_once(
    counted: tuple[quiver.Connection, dict[str, int]],
) -> None:
    conn, counts = counted
    result = conn.sql("SELECT device, count(*) AS plays FROM demo.plays GROUP BY device ORDER BY device")
    head = result.head(3)
    assert head.column("device").to_pylist() == ["console", "mobile", "tablet"]
    # Five rows: the page reached the end of the stream, so it is the whole result.
    result.head(100)
    streams = counts["streams"]
    assert result.to_arrow().num_rows == 5 and counts["streams"] == streams
    assert "5 rows · 2 columns" in result._repr_html_()


def test_decimals_as_floats_for_plotting(deployment: Deployment) -> None:
    sql = "SELECT day, sum(revenue) AS revenue FROM demo.plays GROUP BY day ORDER BY day"
    expected = deployment.oracle.query(sql)
    assert str(expected.schema.field("revenue").type).startswith("decimal")
    want = [float(v) for v in expected.column("revenue").to_pylist()]
    with quiver.connect(deployment.uri, progress=False) as conn:
        exact = conn.sql(sql).to_pandas()
        floats = conn.sql(sql).to_pandas(decimals="float")
    assert exact["revenue"].dtype == object and isinstance(exact["revenue"].iloc[0], decimal.Decimal)
    assert floats["revenue"].dtype == "float64"
    assert floats["revenue"].tolist() == pytest.approx(want, rel=1e-12)
    with quiver.connect(deployment.uri, progress=False, decimals="float") as conn:
        result = conn.sql(sql)
        frame = result.to_pandas()
        assert frame["revenue"].dtype == "float64"
        # The per-call argument wins over the connection's; the Arrow table stays exact.
        assert isinstance(result.to_pandas(decimals="decimal")["revenue"].iloc[0], decimal.Decimal)
        assert str(result.to_arrow().schema.field("revenue").type).startswith("decimal")
    pd.testing.assert_frame_equal(frame, floats)
