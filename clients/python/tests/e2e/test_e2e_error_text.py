"""What a client is told is true: parameter mismatches and errors that quote the client's own SQL.

Every error message must quote the statement as the client sent it (DuckDB's
``LINE n:`` context with the caret under the place it meant) and show none of
what the server made of it: the warehouse's paths or bucket, ``read_parquet``
over pinned files, the typing probe's ``LIMIT 0``. Each test runs against the
local and the S3 deployment, through ADBC and the quiver client, and checks
that the server keeps serving.
"""

from __future__ import annotations

import re

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pytest
from deployments import Deployment

import quiver

TWO_PARAMS = "SELECT count(*) AS n FROM demo.plays WHERE device = ? AND title_id <= ?"

# Statements that fail, and the text of the statement the caret must point at.
# Typing errors come from GetFlightInfo/GetSchema, the casts fail on workers
# while demo.plays (one file per day) is split across them.
FAILING = {
    "unknown column": ("SELECT devize, count(*) FROM demo.plays GROUP BY device", "devize, count"),
    "unknown column, third line": ("SELECT title_id\n  FROM demo.plays\n WHERE revenu > 1", "revenu"),
    "own LIMIT": ("SELECT nope FROM demo.titles ORDER BY title_id LIMIT 5", "nope"),
    "bad cast on a worker": ("SELECT play_id, CAST(device AS INT) AS d FROM demo.plays", "CAST(device"),
    "bad cast in an aggregate": (
        "SELECT day, count(*) AS n\n  FROM demo.plays\n WHERE device::INT > 0\n GROUP BY day",
        "device::INT",
    ),
    "bad column in a join": (
        "SELECT t.name, count(*) FROM demo.plays p JOIN demo.titles t USING (title_id) WHERE t.nme = 'x' GROUP BY 1",
        "t.nme",
    ),
}


def _assert_clients_text(deployment: Deployment, sql: str, message: str, caret: str | None) -> None:
    """The message quotes ``sql`` with the caret under ``caret`` and leaks nothing of the server."""
    warehouse = deployment.warehouse
    leaks = ["read_parquet", "list_value", "hive_partitioning", "s3://", warehouse.uri]
    if warehouse.local_path is not None:
        leaks.append(str(warehouse.local_path))
    for leak in leaks:
        assert leak not in message, f"{leak!r} in {message!r}"
    if "LIMIT 0" not in sql:
        assert "LIMIT 0" not in message, message
    if caret is None:
        return
    match = re.search(r"^(LINE (\d+): )(.*)\n( *)\^", message, re.MULTILINE)
    assert match, f"no context line in {message!r}"
    line = int(match.group(2))
    assert match.group(3) == sql.splitlines()[line - 1], message
    column = len(match.group(4)) - len(match.group(1))
    assert match.group(3)[column:].startswith(caret), message


@pytest.mark.parametrize("name", sorted(FAILING))
def test_errors_quote_the_statement_adbc(deployment: Deployment, adbc_conn: flightsql.Connection, name: str) -> None:
    sql, caret = FAILING[name]
    with adbc_conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.ProgrammingError) as info:
            cur.execute(sql)
            cur.fetch_arrow_table()
        assert info.value.status_code == adbc_driver_manager.AdbcStatusCode.INVALID_ARGUMENT
        _assert_clients_text(deployment, sql, str(info.value), caret)
        cur.execute("SELECT 42 AS answer")
        assert cur.fetch_arrow_table().to_pylist() == [{"answer": 42}]


@pytest.mark.parametrize("name", sorted(FAILING))
def test_errors_quote_the_statement_quiver(deployment: Deployment, name: str) -> None:
    sql, caret = FAILING[name]
    with quiver.connect(deployment.uri) as conn:
        with pytest.raises(quiver.QueryError) as info:
            conn.sql(sql).to_arrow()
        assert info.value.code == "INVALID_ARGUMENT"
        _assert_clients_text(deployment, sql, info.value.message, caret)
        # The client points at the same place the server's caret does.
        lines = sql.splitlines()
        assert info.value.line is not None and info.value.column is not None
        assert lines[info.value.line - 1][info.value.column - 1 :].startswith(caret), str(info.value)
        assert conn.sql("SELECT 42 AS answer").to_arrow().to_pylist() == [{"answer": 42}]


def test_overflow_on_a_worker_has_no_rewritten_sql(deployment: Deployment) -> None:
    sql = "SELECT play_id * 9223372036854775807 AS big FROM demo.plays"
    with quiver.connect(deployment.uri) as conn, pytest.raises(quiver.QueryError, match="Overflow") as info:
        conn.sql(sql).to_arrow()
    _assert_clients_text(deployment, sql, info.value.message, None)


# Parameter counts: (values bound, what the message must say).
PARAM_CASES = {
    "one short": (("tv",), "2 parameters ($1, $2) but 1 value was bound: bind a value for $2"),
    "one too many": (("tv", 10, 3), "2 parameters ($1, $2) but 3 values were bound; extra value for parameter 3"),
    "a word for an integer": (("tv", "ten"), "parameter $2 of the prepared statement takes an integer"),
}


@pytest.mark.parametrize("name", sorted(PARAM_CASES))
def test_parameter_mismatch_adbc(adbc_conn: flightsql.Connection, name: str) -> None:
    values, message = PARAM_CASES[name]
    with adbc_conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.ProgrammingError, match=re.escape(message)) as info:
            cur.execute(TWO_PARAMS, values)
            cur.fetch_arrow_table()
        assert info.value.status_code == adbc_driver_manager.AdbcStatusCode.INVALID_ARGUMENT
        cur.execute(TWO_PARAMS, ("tv", 1000))
        assert cur.fetch_arrow_table().column(0)[0].as_py() >= 0


@pytest.mark.parametrize("name", sorted(PARAM_CASES))
def test_parameter_mismatch_quiver(deployment: Deployment, name: str) -> None:
    values, message = PARAM_CASES[name]
    with quiver.connect(deployment.uri) as conn:
        with pytest.raises(quiver.QueryError, match=re.escape(message)) as info:
            conn.sql(TWO_PARAMS, list(values)).to_arrow()
        assert info.value.code == "INVALID_ARGUMENT"
        got = conn.sql(TWO_PARAMS, ["tv", 1000]).to_arrow().column(0)[0].as_py()
    want = deployment.oracle.query(TWO_PARAMS, ["tv", 1000]).column(0)[0].as_py()
    assert got == want


def test_placeholders_without_values(deployment: Deployment, adbc_conn: flightsql.Connection) -> None:
    message = "statement has 2 parameters ($1, $2) but no value was bound: bind values for $1, $2"
    with adbc_conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.ProgrammingError, match=re.escape(message)) as info:
            cur.execute(TWO_PARAMS)
            cur.fetch_arrow_table()
        assert info.value.status_code == adbc_driver_manager.AdbcStatusCode.INVALID_ARGUMENT
    with quiver.connect(deployment.uri) as conn:
        with pytest.raises(quiver.QueryError, match=re.escape(message)):
            conn.sql(TWO_PARAMS).to_arrow()
        # Named parameters are named as the statement names them.
        with pytest.raises(quiver.QueryError, match=re.escape("bind a value for $hi")):
            conn.sql("SELECT count(*) FROM demo.plays WHERE title_id BETWEEN $lo AND $hi", [1]).to_arrow()
        assert conn.sql("SELECT 42 AS answer").to_arrow().to_pylist() == [{"answer": 42}]
