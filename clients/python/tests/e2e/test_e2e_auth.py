"""Credentials and limits through the quiver package and quiver.dbapi, against a real server.

One server for the module: HS256 bearer tokens (signed with ``quiver token``),
a users file for Basic logins, a tiny ``--max-partials-bytes`` so a
high-cardinality aggregate hits the limit, a short ``--query-timeout`` and a
short ``--idle-timeout`` (a planned query nobody fetches is dropped).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import polars as pl
import pytest

import quiver
import quiver.dbapi
from quiver_harness import Oracle, QuiverServer, Tools, Warehouse, start_quiver

PASSWORD = "hunter2"
QUERY_TIMEOUT = 3
IDLE_TIMEOUT = 2
# Far longer than QUERY_TIMEOUT however many workers share it (plays × plays
# alone takes about 2.6 s split over two workers).
SLOW = (
    "SELECT count(*) AS n FROM demo.plays a, demo.plays b, demo.titles c"
    " WHERE a.play_id + b.play_id + c.title_id < 0"
)


@dataclass
class AuthServer:
    server: QuiverServer
    token: str
    secret: Path

    @property
    def uri(self) -> str:
        return self.server.uri


def _sign(tools: Tools, secret: Path, sub: str) -> str:
    out = subprocess.run(
        [str(tools.quiver_bin), "token", "--jwt-secret-file", str(secret), "--sub", sub, "--ttl", "1h"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return out.stdout.strip()


@pytest.fixture(scope="module")
def auth_server(
    quiver_tools: Tools, local_warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthServer]:
    work = tmp_path_factory.mktemp("auth")
    secret = work / "secret"
    secret.write_text("x" * 48)
    users = work / "users.yaml"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    users.write_text(f"users:\n  - name: bob\n    password_bcrypt: '{hashed}'\n    roles: [analyst]\n")
    token = _sign(quiver_tools, secret, "alice")
    server = start_quiver(
        quiver_tools,
        local_warehouse,
        work,
        # Two workers: with one, a GROUP BY runs whole on it (no partials
        # for --max-partials-bytes to bound).
        local_workers=2,
        extra_args=[
            "--jwt-secret-file",
            str(secret),
            "--users-file",
            str(users),
            "--max-partials-bytes",
            "1KiB",
            "--query-timeout",
            f"{QUERY_TIMEOUT}s",
            "--idle-timeout",
            f"{IDLE_TIMEOUT}s",
        ],
        token=token,
    )
    try:
        yield AuthServer(server, token, secret)
    finally:
        server.stop()


COUNT = "SELECT count(*) AS n FROM demo.titles"


def _count(conn: quiver.Connection) -> int:
    return int(conn.sql(COUNT).to_arrow().column(0)[0].as_py())


def test_token(auth_server: AuthServer, local_oracle: Oracle) -> None:
    with quiver.connect(auth_server.uri, token=auth_server.token) as conn:
        assert _count(conn) == local_oracle.query(COUNT).column(0)[0].as_py()


def test_token_from_the_environment(auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIVER_TOKEN", auth_server.token)
    monkeypatch.setenv("QUIVER_URI", auth_server.uri)
    with quiver.connect() as conn:
        assert _count(conn) > 0


def test_username_and_password(auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    with quiver.connect(auth_server.uri, username="bob", password=PASSWORD) as conn:
        assert _count(conn) > 0
    with pytest.raises(quiver.AuthenticationError, match="wrong password") as info:
        quiver.connect(auth_server.uri, username="bob", password="nope")
    assert info.value.code == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "no credentials"), ("not-a-jwt", "invalid token")],
)
def test_authentication_error(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch, token: str | None, message: str
) -> None:
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    with quiver.connect(auth_server.uri, token=token) as conn:
        with pytest.raises(quiver.AuthenticationError, match=message) as info:
            conn.sql(COUNT)
    assert info.value.code == "UNAUTHENTICATED"
    assert not isinstance(info.value, quiver.PermissionDenied)


def test_resource_exhausted(auth_server: AuthServer) -> None:
    with quiver.connect(auth_server.uri, token=auth_server.token) as conn:
        with pytest.raises(quiver.ResourceExhausted, match="max-partials-bytes") as info:
            # Grouped on an expression: play_id itself groups whole in the
            # fragments (the day files hold disjoint play_id ranges) and
            # merges nothing.
            conn.sql("SELECT play_id % 1000003 AS g, count(*) FROM demo.plays GROUP BY play_id % 1000003").to_arrow()
        assert info.value.code == "RESOURCE_EXHAUSTED"
        # The server and the connection are fine afterwards.
        assert _count(conn) > 0


def test_query_timeout(auth_server: AuthServer) -> None:
    with quiver.connect(auth_server.uri, token=auth_server.token, progress=False) as conn:
        started = time.monotonic()
        # quiver.Timeout is the builtin TimeoutError too.
        with pytest.raises(TimeoutError) as info:
            conn.sql(SLOW).to_arrow()
        assert time.monotonic() - started < QUERY_TIMEOUT + 5
        assert isinstance(info.value, quiver.Timeout) and isinstance(info.value, quiver.Cancelled)
        assert info.value.code == "DEADLINE_EXCEEDED" and "--query-timeout" in info.value.message
        assert _count(conn) > 0


def test_a_result_can_wait_longer_than_the_idle_timeout(auth_server: AuthServer, local_oracle: Oracle) -> None:
    # sql() only checks and types the query; it is planned (and admitted) when fetched.
    with quiver.connect(auth_server.uri, token=auth_server.token) as conn:
        result = conn.sql(COUNT)
        params = conn.sql(COUNT + " WHERE genre = ?", ["Drama"])
        assert result.query_id is None
        time.sleep(IDLE_TIMEOUT + 1.5)
        assert result.to_arrow().column(0)[0].as_py() == local_oracle.query(COUNT).column(0)[0].as_py()
        assert result.query_id is not None
        want = local_oracle.query(COUNT + " WHERE genre = ?", ["Drama"])
        assert params.to_arrow().column(0)[0].as_py() == want.column(0)[0].as_py()


def test_dbapi_with_token(auth_server: AuthServer, local_oracle: Oracle) -> None:
    sql = "SELECT count(*) AS n FROM demo.plays WHERE device = ?"
    with quiver.dbapi.connect(auth_server.uri, token=auth_server.token) as conn, conn.cursor() as cur:
        cur.execute(sql, ("tv",))
        got = cur.fetchall()
    assert got == [(local_oracle.query(sql, ["tv"]).column(0)[0].as_py(),)]


def test_dbapi_with_password_and_polars(auth_server: AuthServer, local_oracle: Oracle) -> None:
    sql = "SELECT title_id, name, runtime_minutes, price FROM demo.titles ORDER BY title_id"
    with quiver.dbapi.connect(auth_server.uri, username="bob", password=PASSWORD) as conn:
        frame = pl.read_database(sql, conn)
    expected = pl.from_arrow(local_oracle.query(sql))
    assert isinstance(expected, pl.DataFrame)
    assert frame.equals(expected)
    # polars read it as Arrow (as from any ADBC connection), not as rows whose types it guesses.
    assert frame.schema == expected.schema


def test_dbapi_without_credentials_is_refused(auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    with pytest.raises(quiver.AuthenticationError, match="no credentials") as info:
        with quiver.dbapi.connect(auth_server.uri) as conn, conn.cursor() as cur:
            cur.execute(COUNT)
            cur.fetchall()
    assert info.value.code == "UNAUTHENTICATED" and isinstance(info.value, quiver.dbapi.OperationalError)
    assert not info.value.message.startswith(("UNAUTHENTICATED", "[FlightSQL]"))


def test_dbapi_query_timeout(auth_server: AuthServer) -> None:
    with quiver.dbapi.connect(auth_server.uri, token=auth_server.token) as conn:
        with conn.cursor() as cur, pytest.raises(TimeoutError) as info:
            cur.execute(SLOW)
            cur.fetch_arrow_table()
        assert isinstance(info.value, quiver.Timeout) and isinstance(info.value, quiver.dbapi.OperationalError)
        assert info.value.code == "DEADLINE_EXCEEDED" and "--query-timeout" in info.value.message
        # The same from a streaming reader, which ADBC hands over from pyarrow.
        with conn.cursor() as cur, pytest.raises(quiver.Timeout):
            cur.execute(SLOW)
            cur.fetch_record_batch().read_all()
