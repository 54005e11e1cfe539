from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest
from fakeserver import TABLE, FakeQuiver

import quiver


@pytest.fixture
def fake() -> Iterator[FakeQuiver]:
    server = FakeQuiver(parts=3)
    try:
        yield server
    finally:
        server.shutdown()


def sort(table: pa.Table) -> pa.Table:
    return table.sort_by("id")


def test_to_arrow_concatenates_every_endpoint(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT * FROM demo.titles")
        assert result.num_endpoints == 3
        assert result.schema == TABLE.schema
        table = result.to_arrow()
    assert sort(table).equals(TABLE)
    assert fake.seen.queries == ["SELECT * FROM demo.titles"]
    assert sorted(fake.seen.tickets) == [f"SELECT * FROM demo.titles|{i}".encode() for i in range(3)]


def test_to_arrow_twice_returns_the_same_table(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT 1")
        first = result.to_arrow()
        assert result.to_arrow() is first
        assert sort(pa.Table.from_batches(list(result.fetch_batches()))).equals(TABLE)
    assert len(fake.seen.tickets) == 3


def test_to_pandas(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        df = conn.sql("SELECT 1").to_pandas()
    assert sorted(df["id"].tolist()) == list(range(10))
    assert list(df.columns) == ["id", "name", "score"]


def test_fetch_batches_streams_and_is_single_use(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT 1")
        batches = result.fetch_batches()
        first = next(batches)
        assert first.num_rows == 1
        # Only the first endpoint has been opened so far.
        assert len(fake.seen.tickets) == 1
        rest = list(batches)
        assert 1 + len(rest) == TABLE.num_rows
        with pytest.raises(quiver.Error, match="already consumed"):
            list(result.fetch_batches())


def test_leaving_a_stream_early_does_not_break_the_connection(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        for batch in conn.sql("SELECT 1").fetch_batches():
            assert batch.num_rows == 1
            break
        assert conn.sql("SELECT 2").to_arrow().num_rows == TABLE.num_rows


def test_peer_clients_are_cached(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        conn.sql("SELECT 1").to_arrow()
        conn.sql("SELECT 2").to_arrow()
        assert list(conn._peers) == [fake.uri]


def test_token_is_sent_as_bearer_header() -> None:
    server = FakeQuiver(parts=2, token="s3cret")
    try:
        with quiver.connect(server.uri, token="s3cret") as conn:
            assert conn.sql("SELECT 1").to_arrow().num_rows == TABLE.num_rows
        assert set(server.seen.authorization) == {"Bearer s3cret"}
        with quiver.connect(server.uri, token="wrong") as conn:
            with pytest.raises(quiver.AuthenticationError, match="invalid bearer token") as info:
                conn.sql("SELECT 1")
        assert info.value.code == "UNAUTHENTICATED"
        assert isinstance(info.value, quiver.PermissionError)
    finally:
        server.shutdown()


def test_no_token_sends_no_header(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        conn.sql("SELECT 1")
    assert fake.seen.authorization == [None]


@pytest.mark.parametrize(
    ("query", "error", "code", "message"),
    [
        ("SELECT * FROM demo.nope", quiver.NotFoundError, "NOT_FOUND", "demo.nope"),
        ("SELEC 1", quiver.QueryError, "INVALID_ARGUMENT", 'syntax error at or near "SELEC"'),
        ("SELECT secret", quiver.PermissionError, "PERMISSION_DENIED", "access to table secret denied"),
        ("SELECT s3", quiver.UnavailableError, "UNAVAILABLE", "http://127.0.0.1:1"),
    ],
)
def test_errors_are_translated(
    fake: FakeQuiver, query: str, error: type[quiver.Error], code: str, message: str
) -> None:
    with quiver.connect(fake.uri) as conn:
        with pytest.raises(error, match=message) as info:
            conn.sql(query)
    assert info.value.code == code
    assert message in info.value.message
    assert not info.value.message.startswith("gRPC")
    assert info.value.__cause__ is not None


def test_closed_connection_refuses_queries(fake: FakeQuiver) -> None:
    conn = quiver.connect(fake.uri)
    conn.close()
    conn.close()
    assert conn.closed
    with pytest.raises(quiver.Error, match="closed"):
        conn.sql("SELECT 1")


def test_unreachable_server_is_unavailable() -> None:
    # Port 1 on loopback is never a Flight server; planning must fail fast.
    with quiver.connect("grpc://127.0.0.1:1") as conn:
        with pytest.raises(quiver.UnavailableError):
            conn.sql("SELECT 1")
