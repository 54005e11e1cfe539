"""``%load_ext quiver`` in a real IPython InteractiveShell against a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import polars as pl
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import quiver
from quiver_harness import Oracle, QuiverServer

TOP = (
    "SELECT t.name, count(*) AS plays\n"
    "FROM demo.plays p JOIN demo.titles t USING (title_id)\n"
    "GROUP BY t.title_id, t.name ORDER BY plays DESC, t.title_id LIMIT 5"
)


@pytest.fixture
def shell(local_quiver: QuiverServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.delenv("QUIVER_URI", raising=False)
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "quiver")
    try:
        yield ip
    finally:
        ip.run_line_magic("quiver", "close")
        InteractiveShell.clear_instance()


def test_connect_then_cell_magic_keeps_the_frame(
    shell: InteractiveShell, local_quiver: QuiverServer, local_oracle: Oracle
) -> None:
    conn = shell.run_line_magic("quiver", f"connect {local_quiver.uri}")
    assert isinstance(conn, quiver.Connection) and conn.uri == local_quiver.uri
    frame = shell.run_cell_magic("quiver", "-o top", TOP)
    expected = local_oracle.query(TOP).to_pandas()
    pd.testing.assert_frame_equal(frame, expected)
    assert shell.user_ns["top"] is frame


def test_cell_magic_through_run_cell_displays_a_dataframe(
    shell: InteractiveShell, local_quiver: QuiverServer, local_oracle: Oracle
) -> None:
    shell.run_line_magic("quiver", f"connect {local_quiver.uri}")
    outcome = shell.run_cell(f"%%quiver\n{TOP}\n")
    assert outcome.success, outcome.error_in_exec
    assert isinstance(outcome.result, pd.DataFrame)
    assert outcome.result["name"].tolist() == local_oracle.query(TOP).column("name").to_pylist()


def test_line_magic_runs_sql_and_lists_tables(
    shell: InteractiveShell, local_quiver: QuiverServer, local_oracle: Oracle
) -> None:
    shell.run_line_magic("quiver", f"connect {local_quiver.uri}")
    frame = shell.run_line_magic("quiver", "SELECT count(*) AS n FROM demo.titles")
    assert frame["n"].tolist() == [local_oracle.query("SELECT count(*) FROM demo.titles").column(0)[0].as_py()]
    tables = shell.run_line_magic("quiver", "tables")
    assert {(r.schema, r.table) for r in tables.itertuples()} == set(local_oracle.tables)


def test_formats(shell: InteractiveShell, local_quiver: QuiverServer) -> None:
    shell.run_line_magic("quiver", f"connect {local_quiver.uri}")
    assert isinstance(shell.run_cell_magic("quiver", "--format polars -o p", TOP), pl.DataFrame)
    assert shell.run_cell_magic("quiver", "--format arrow", TOP).num_rows == 5
    result = shell.run_cell_magic("quiver", "--format result", TOP)
    assert isinstance(result, quiver.Result) and "5 rows" in result._repr_html_()


def test_default_connection_comes_from_the_environment(
    shell: InteractiveShell, local_quiver: QuiverServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIVER_URI", local_quiver.uri)
    frame = shell.run_cell_magic("quiver", "", "SELECT 42 AS answer")
    assert frame["answer"].tolist() == [42]


def test_bad_sql_shows_the_message_not_a_traceback(
    shell: InteractiveShell, local_quiver: QuiverServer, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("quiver", f"connect {local_quiver.uri}")
    outcome = shell.run_cell("%%quiver\nSELECT nope\nFROM demo.titles\n")
    assert isinstance(outcome.error_in_exec, quiver.QueryError)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "QueryError" in text and "at line 1, column 8 of the query" in text
    assert "Traceback" not in text and "pyarrow" not in text


def test_usage_errors(shell: InteractiveShell, local_quiver: QuiverServer) -> None:
    with pytest.raises(UsageError, match="--frobnicate"):
        shell.run_line_magic("quiver", "connect grpc://127.0.0.1:1 --frobnicate")
    with pytest.raises(UsageError, match="holds no SQL"):
        shell.run_cell_magic("quiver", "", "   \n")
    with pytest.raises(UsageError, match="not a valid variable name"):
        shell.run_line_magic("quiver", f"connect {local_quiver.uri}")
        shell.run_cell_magic("quiver", "-o 1x", "SELECT 1")
