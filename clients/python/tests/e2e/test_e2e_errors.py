"""Errors reach each client with the right gRPC code and a message naming the problem."""

from __future__ import annotations

import re
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from deployments import Deployment

import quiver
from quiver_harness import Tools, Warehouse, flight_fetch, free_port, start_quiver

UNKNOWN = "SELECT * FROM demo.no_such_table"
SYNTAX = "SELEC title_id FROM demo.titles"


def test_unknown_table_pyarrow(deployment: Deployment) -> None:
    # pyarrow turns gRPC NOT_FOUND into Arrow's KeyError.
    with pytest.raises(pa.ArrowKeyError, match="no_such_table"):
        flight_fetch(deployment.uri, UNKNOWN, timeout=30)


def test_unknown_table_adbc(adbc_conn: flightsql.Connection) -> None:
    with adbc_conn.cursor() as cur, pytest.raises(adbc_driver_manager.ProgrammingError, match="no_such_table") as info:
        cur.execute(UNKNOWN)
        cur.fetch_arrow_table()
    assert info.value.status_code == adbc_driver_manager.AdbcStatusCode.NOT_FOUND


def test_unknown_table_quiver(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn, pytest.raises(quiver.NotFound, match="no_such_table") as info:
        conn.sql(UNKNOWN)
    assert info.value.code == "NOT_FOUND"
    assert info.value.transport_error is not None and info.value.__cause__ is None


def test_syntax_error_pyarrow(deployment: Deployment) -> None:
    # gRPC INVALID_ARGUMENT arrives as ArrowInvalid, with DuckDB's parser message.
    with pytest.raises(pa.ArrowInvalid, match="(?i)syntax error"):
        flight_fetch(deployment.uri, SYNTAX, timeout=30)


def test_syntax_error_adbc(adbc_conn: flightsql.Connection) -> None:
    with (
        adbc_conn.cursor() as cur,
        pytest.raises(adbc_driver_manager.ProgrammingError, match="(?i)syntax error") as info,
    ):
        cur.execute(SYNTAX)
        cur.fetch_arrow_table()
    assert info.value.status_code == adbc_driver_manager.AdbcStatusCode.INVALID_ARGUMENT


def test_syntax_error_quiver(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn, pytest.raises(quiver.QueryError, match="(?i)syntax error") as info:
        conn.sql(SYNTAX)
    assert info.value.code == "INVALID_ARGUMENT"
    assert not isinstance(info.value, quiver.NotFound)
    # DuckDB points at "SELEC", the first word.
    assert (info.value.near, info.value.line, info.value.column) == ("SELEC", 1, 1)


def test_binder_error_points_into_the_users_query(deployment: Deployment) -> None:
    sql = "SELECT name,\n       runtime_minutez\nFROM demo.titles"
    with quiver.connect(deployment.uri) as conn, pytest.raises(quiver.QueryError) as info:
        conn.sql(sql)
    err = info.value
    assert "runtime_minutez" in err.message and err.code == "INVALID_ARGUMENT"
    assert (err.near, err.line, err.column) == ("runtime_minutez", 2, 8)
    assert "at line 2, column 8 of the query:\n         runtime_minutez\n         ^" in str(err)


def test_bad_parameter_is_a_query_error(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn, pytest.raises(quiver.QueryError, match="parameter 1") as info:
        conn.sql("SELECT count(*) FROM demo.titles WHERE title_id = ?", [[1, 2]]).to_arrow()
    assert info.value.code == "INVALID_ARGUMENT"


def test_sandbox_refusal_is_permission_denied(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn:
        with pytest.raises(quiver.PermissionDenied, match="read_parquet") as info:
            conn.sql("SELECT * FROM read_parquet('/etc/passwd')")
        assert info.value.code == "PERMISSION_DENIED"
        with pytest.raises(quiver.PermissionDenied, match="read_parquet"):
            conn.sql("SELECT * FROM read_parquet(?)", ["/etc/passwd"])
        # Still serving.
        assert conn.sql("SELECT 42 AS answer").to_arrow().to_pylist() == [{"answer": 42}]


def test_server_survives_errors(deployment: Deployment) -> None:
    for sql in (UNKNOWN, SYNTAX):
        with pytest.raises(pa.ArrowException):
            flight_fetch(deployment.uri, sql, timeout=30)
    assert flight_fetch(deployment.uri, "SELECT 42 AS answer", timeout=30).table.to_pylist() == [{"answer": 42}]


def test_unreachable_s3_is_unavailable(quiver_tools: Tools, tmp_path: Path) -> None:
    # Its own server, pointed at an S3 endpoint where nothing listens.
    endpoint = f"http://127.0.0.1:{free_port()}"
    warehouse = Warehouse(
        "s3-unreachable",
        "s3://quiver/warehouse",
        0.01,
        env={
            "AWS_ACCESS_KEY_ID": "nobody",
            "AWS_SECRET_ACCESS_KEY": "nothing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        args=["--s3-endpoint", endpoint],
    )
    server = start_quiver(quiver_tools, warehouse, tmp_path, local_workers=1)
    try:
        with pytest.raises(flight.FlightUnavailableError, match=re.escape(endpoint)):
            flight_fetch(server.uri, "SELECT count(*) FROM demo.plays", timeout=60)
        with quiver.connect(server.uri) as conn, pytest.raises(quiver.Unavailable) as info:
            conn.sql("SELECT count(*) FROM demo.plays").to_arrow()
        assert endpoint in info.value.message
        assert info.value.code == "UNAVAILABLE"
        assert info.value.retriable
    finally:
        server.stop()
