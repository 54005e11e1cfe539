"""quiver.dbapi against a real server: ADBC's connection, quiver's exceptions.

Every error the connection and its cursors raise is a quiver.Error of the
class the quiver client raises for the same failure, and also the PEP 249
class it falls under.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import adbc_driver_manager
import pandas
import pytest

import quiver
import quiver.dbapi
from quiver.dbapi import ProgrammingError
from quiver_harness import Oracle, QuiverServer, free_port


@pytest.fixture
def conn(local_quiver: QuiverServer) -> Iterator[quiver.dbapi.Connection]:
    with quiver.dbapi.connect(local_quiver.uri) as connection:
        yield connection


def test_it_is_an_adbc_connection(conn: quiver.dbapi.Connection, local_oracle: Oracle) -> None:
    assert isinstance(conn, adbc_driver_manager.dbapi.Connection)
    sql = "SELECT device, count(*) AS n FROM demo.plays GROUP BY device ORDER BY device"
    with warnings.catch_warnings():
        # pandas warns when it does not recognise the connection as ADBC (or SQLAlchemy).
        warnings.simplefilter("error")
        frame = pandas.read_sql(sql, conn)
    assert frame.to_dict("list") == local_oracle.query(sql).to_pydict()
    with conn.cursor() as cur:
        assert isinstance(cur, quiver.dbapi.Cursor)
        cur.execute("SELECT count(*) FROM demo.titles WHERE genre = ?", ("Drama",))
        want = local_oracle.query("SELECT count(*) FROM demo.titles WHERE genre = 'Drama'").column(0)[0].as_py()
        assert cur.fetchall() == [(want,)]


@pytest.mark.parametrize(
    ("sql", "cls", "pep249", "code", "message"),
    [
        ("SELEC title_id FROM demo.titles", quiver.QueryError, ProgrammingError, "INVALID_ARGUMENT", "SELEC"),
        ("SELECT * FROM demo.no_such_table", quiver.NotFound, ProgrammingError, "NOT_FOUND", "no_such_table"),
        (
            "SELECT * FROM read_parquet('/etc/passwd')",
            quiver.PermissionDenied,
            ProgrammingError,
            "PERMISSION_DENIED",
            "read_parquet",
        ),
    ],
)
def test_server_errors_are_quivers(
    conn: quiver.dbapi.Connection,
    sql: str,
    cls: type[quiver.Error],
    pep249: type[quiver.Error],
    code: str,
    message: str,
) -> None:
    with conn.cursor() as cur, pytest.raises(cls, match=message) as info:
        cur.execute(sql)
        cur.fetch_arrow_table()
    err = info.value
    assert type(err) is cls and isinstance(err, pep249) and isinstance(err, conn.Error)
    assert err.code == code
    assert not err.message.startswith((code, "[FlightSQL]")) and "Vendor code" not in err.message
    assert isinstance(err.transport_error, adbc_driver_manager.Error)
    assert err.__cause__ is None and err.__suppress_context__


def test_syntax_error_points_into_the_query(conn: quiver.dbapi.Connection) -> None:
    with conn.cursor() as cur, pytest.raises(quiver.QueryError) as info:
        cur.execute("SELECT name\nFROM demo.titles\nWHER title_id = 1")
    assert (info.value.near, info.value.line, info.value.column) == ("title_id", 3, 6)


def test_driver_errors_are_pep249_classes(conn: quiver.dbapi.Connection) -> None:
    with conn.cursor() as cur, pytest.raises(quiver.dbapi.ProgrammingError, match="before execute") as info:
        cur.fetchone()
    assert info.value.code is None and isinstance(info.value, quiver.Error)


def test_unreachable_server_is_unavailable() -> None:
    with quiver.dbapi.connect(f"127.0.0.1:{free_port()}") as conn, conn.cursor() as cur:
        with pytest.raises(quiver.Unavailable) as info:
            cur.execute("SELECT 1")
    assert isinstance(info.value, quiver.dbapi.OperationalError) and info.value.retriable
    assert info.value.code == "UNAVAILABLE"
