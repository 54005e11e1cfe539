"""The client against an in-process fake Flight server (see fakeserver.py)."""

from __future__ import annotations

import _thread
import sys
import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest
from fakeserver import TABLE, FakeQuiver

import quiver
from quiver.progress import ProgressBar


@pytest.fixture
def fake() -> Iterator[FakeQuiver]:
    server = FakeQuiver(parts=3)
    try:
        yield server
    finally:
        server.shutdown()


def in_endpoint_order(parts: int) -> pa.Table:
    """TABLE as the fake serves it: endpoint i holds rows i, i+parts, …"""
    order = [row for part in range(parts) for row in range(part, TABLE.num_rows, parts)]
    return TABLE.take(order)


def test_to_arrow_concatenates_every_endpoint_in_order(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT * FROM demo.titles")
        # Checked and typed, not run: no GetFlightInfo yet.
        assert result.schema == TABLE.schema
        assert (result.num_endpoints, result.query_id) == (None, None)
        assert fake.seen.schema_queries == ["SELECT * FROM demo.titles"] and fake.seen.queries == []
        table = result.to_arrow()
        assert (result.num_endpoints, result.query_id) == (3, "q1")
    assert table.equals(in_endpoint_order(3))
    assert fake.seen.queries == ["SELECT * FROM demo.titles"]
    assert sorted(fake.seen.tickets) == [f"SELECT * FROM demo.titles|{i}|q1".encode() for i in range(3)]


def test_endpoints_are_fetched_concurrently_and_kept_in_order(fake: FakeQuiver) -> None:
    # Endpoint 0 starts 0.4 s late, so endpoints 1 and 2 finish first; the
    # result must still be endpoint 0's rows, then 1's, then 2's.
    with quiver.connect(fake.uri) as conn:
        started = time.monotonic()
        table = conn.sql("SELECT skewed").to_arrow()
        took = time.monotonic() - started
    assert table.equals(in_endpoint_order(3))
    assert fake.seen.max_concurrent == 3
    # One after another it would take 0.4 + 10 × 0.05 s.
    assert took < 0.85, took


def test_to_batches_streams_in_order(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        reader = conn.sql("SELECT skewed").to_batches()
        assert isinstance(reader, pa.RecordBatchReader)
        assert reader.schema == TABLE.schema
        ids = [v for batch in reader for v in batch.column("id").to_pylist()]
    assert ids == in_endpoint_order(3).column("id").to_pylist()


def test_max_streams_one_fetches_one_endpoint_at_a_time() -> None:
    server = FakeQuiver(parts=4)
    try:
        with quiver.connect(server.uri, max_streams=1) as conn:
            table = conn.sql("SELECT skewed").to_arrow()
        assert table.equals(in_endpoint_order(4))
        assert server.seen.max_concurrent == 1
    finally:
        server.shutdown()


def test_to_arrow_twice_returns_the_same_table(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT 1")
        first = result.to_arrow()
        assert result.to_arrow() is first
        assert result.to_batches().read_all().equals(first)
        assert result.elapsed is not None and result.elapsed >= 0
    assert len(fake.seen.tickets) == 3


def test_to_batches_twice_runs_the_query_twice(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT 1")
        first = result.to_batches().read_all()
        second = result.to_batches().read_all()
    assert first.equals(second)
    # Each run is planned when it starts: tickets are single-use.
    assert fake.seen.queries == ["SELECT 1", "SELECT 1"]
    assert len(fake.seen.tickets) == 6


def test_to_pandas_and_polars(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT 1")
        df = result.to_pandas()
        pl = result.to_polars()
    assert df["id"].tolist() == in_endpoint_order(3).column("id").to_pylist()
    assert list(df.columns) == ["id", "name", "score"]
    assert pl.columns == ["id", "name", "score"]
    assert pl["id"].to_list() == df["id"].tolist()
    assert pl["score"].null_count() == TABLE.column("score").null_count


def test_leaving_a_stream_early_cancels_it_and_keeps_the_connection(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        for batch in conn.sql("SELECT slow").fetch_batches():
            assert batch.num_rows == 1
            break
        assert conn.sql("SELECT 2").to_arrow().num_rows == TABLE.num_rows
        # Every stream that was opened is stopped (one not started yet is never opened).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            opened = [t for t in fake.seen.tickets if t.startswith(b"SELECT slow|")]
            if opened and sorted(fake.seen.stopped_streams) == sorted(opened):
                break
            time.sleep(0.05)
        assert opened and sorted(fake.seen.stopped_streams) == sorted(opened)


def test_keyboard_interrupt_cancels_on_the_server(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri, progress=False) as conn:
        result = conn.sql("SELECT slow")
        timer = threading.Timer(0.5, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            result.to_arrow()
        assert time.monotonic() - started < 2.0
        assert fake.seen.cancelled == [result.query_id]
        # The connection still works.
        assert conn.sql("SELECT 2").to_arrow().num_rows == TABLE.num_rows
    deadline = time.monotonic() + 5
    while len(fake.seen.stopped_streams) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.seen.stopped_streams) == 3


def test_cancel_from_another_thread_raises_cancelled(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        result = conn.sql("SELECT slow")
        accepted: list[bool] = []
        timer = threading.Timer(0.5, lambda: accepted.append(result.cancel()))
        timer.start()
        with pytest.raises(quiver.Cancelled, match="was cancelled") as info:
            result.to_arrow()
        timer.join()
    assert accepted == [True]
    assert info.value.code == "CANCELLED"


def test_cancel_without_server_support_stops_the_streams() -> None:
    server = FakeQuiver(parts=2, actions=False)
    try:
        with quiver.connect(server.uri) as conn:
            result = conn.sql("SELECT slow")
            timer = threading.Timer(0.3, result.cancel)
            timer.start()
            with pytest.raises(quiver.Cancelled, match="cancelled by the client"):
                result.to_arrow()
            timer.join()
            assert conn.sql("SELECT 1").to_arrow().num_rows == TABLE.num_rows
        assert server.seen.cancelled == []
    finally:
        server.shutdown()


def test_progress_bar_follows_the_server(fake: FakeQuiver, capsys: pytest.CaptureFixture[str]) -> None:
    with quiver.connect(fake.uri, progress=True) as conn:
        conn.progress_delay = 0
        table = conn.sql("SELECT skewed").to_arrow()
    assert table.num_rows == TABLE.num_rows
    err = capsys.readouterr().err
    # tqdm's last frame: every fragment done and every row received.
    assert "3/3" in err and f"rows={TABLE.num_rows}" in err, err
    assert fake.seen.progress_polls and set(fake.seen.progress_polls) == {"q1"}


def test_progress_bar_without_server_support_counts_endpoints(capsys: pytest.CaptureFixture[str]) -> None:
    server = FakeQuiver(parts=2, actions=False)
    try:
        with quiver.connect(server.uri, progress=True) as conn:
            conn.progress_delay = 0
            conn.sql("SELECT skewed").to_arrow()
        err = capsys.readouterr().err
        assert "2/2" in err and f"rows={TABLE.num_rows}" in err, err
        assert server.seen.progress_polls == []
    finally:
        server.shutdown()


def test_no_progress_bar_when_disabled_or_not_interactive(
    fake: FakeQuiver, capsys: pytest.CaptureFixture[str]
) -> None:
    with quiver.connect(fake.uri, progress=False) as conn:
        conn.progress_delay = 0
        conn.sql("SELECT skewed").to_arrow()
    # "auto" under pytest: no notebook, and stderr is not a terminal.
    with quiver.connect(fake.uri) as conn:
        conn.progress_delay = 0
        conn.sql("SELECT skewed").to_arrow()
    assert "fragment" not in capsys.readouterr().err


def test_progress_bar_waits_for_its_delay(capsys: pytest.CaptureFixture[str]) -> None:
    polls: list[int] = []
    bar = ProgressBar("q", 3, lambda: polls.append(1) or None, delay=30)
    bar.start()
    bar.tick(5, 1, force=True)
    bar.close(10, 3, ok=True)
    assert not bar.shown
    assert "fragment" not in capsys.readouterr().err
    shown = ProgressBar("q", 3, None, delay=0)
    shown.tick(5, 1, force=True)
    assert shown.shown
    shown.close(10, 3, ok=True)
    assert "3/3" in capsys.readouterr().err


def test_progress_true_shows_the_bar_at_once(fake: FakeQuiver, capsys: pytest.CaptureFixture[str]) -> None:
    with quiver.connect(fake.uri, progress=False) as conn:
        conn.sql("SELECT 1").to_arrow(progress=True)
    assert "3/3" in capsys.readouterr().err


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
    finally:
        server.shutdown()


def test_token_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeQuiver(parts=1, token="from-env")
    try:
        monkeypatch.setenv("QUIVER_TOKEN", "from-env")
        monkeypatch.setenv("QUIVER_URI", server.uri)
        with quiver.connect() as conn:
            assert conn.uri == server.uri
            conn.sql("SELECT 1")
        assert server.seen.authorization == ["Bearer from-env"]
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("form", "scheme"),
    [("{host}:{port}", "grpc"), ("grpc://{host}:{port}", "grpc"), ("grpc+tcp://{host}:{port}", "grpc+tcp")],
)
def test_uri_forms(fake: FakeQuiver, form: str, scheme: str) -> None:
    # The forms `quiver query --server` accepts; bare host:port is grpc://.
    uri = form.format(host="127.0.0.1", port=fake.port)
    with quiver.connect(uri) as conn:
        assert conn.uri == f"{scheme}://127.0.0.1:{fake.port}"
        assert conn.sql("SELECT 1").to_arrow().num_rows == TABLE.num_rows


def test_uri_forms_resolve_the_same_for_dbapi() -> None:
    # quiver.dbapi.connect hands ADBC the URI quiver.options resolved.
    from quiver.options import resolve_uri as uri

    assert uri("db.example.com:8815") == "grpc://db.example.com:8815"
    assert uri("[::1]:8815") == "grpc://[::1]:8815"
    assert uri("grpc+tls://db.example.com:443") == "grpc+tls://db.example.com:443"
    with pytest.raises(ValueError, match="want host:port"):
        uri("db.example.com")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"QUIVER_URI": "grpc://{addr}"}, "grpc://{addr}"),
        ({"QUIVER_SERVER": "{addr}"}, "grpc://{addr}"),
        ({"QUIVER_URI": "{addr}", "QUIVER_SERVER": "127.0.0.1:1"}, "grpc://{addr}"),
        ({"QUIVER_URI": "", "QUIVER_SERVER": "grpc://{addr}"}, "grpc://{addr}"),
    ],
    ids=["QUIVER_URI", "QUIVER_SERVER alias", "QUIVER_URI wins", "empty QUIVER_URI is unset"],
)
def test_uri_environment(
    fake: FakeQuiver, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    # QUIVER_URI is the canonical name, read by the command line too; the
    # command line's old QUIVER_SERVER is an alias.
    monkeypatch.delenv("QUIVER_URI", raising=False)
    monkeypatch.delenv("QUIVER_SERVER", raising=False)
    addr = f"127.0.0.1:{fake.port}"
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(addr=addr))
    with quiver.connect() as conn:
        assert conn.uri == expected.format(addr=addr)
        conn.sql("SELECT 1")


def test_compression_is_sent_as_a_header(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri, compression="zstd") as conn:
        assert conn.sql("SELECT 1").to_arrow().num_rows == TABLE.num_rows
    with quiver.connect(fake.uri) as conn:
        conn.sql("SELECT 1")
    assert fake.seen.compression[0] == "zstd"
    assert fake.seen.compression[-1] is None, "no header unless asked"
    with pytest.raises(ValueError, match="compression must be one of auto, off, zstd, lz4 or None, got 'gzip'"):
        quiver.connect(fake.uri, compression="gzip")  # type: ignore[arg-type]


def test_no_token_sends_no_header(fake: FakeQuiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    with quiver.connect(fake.uri) as conn:
        conn.sql("SELECT 1")
    assert fake.seen.authorization == [None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "t", "username": "u", "password": "p"}, "either token or username"),
        ({"username": "u"}, "username and password go together"),
        ({"cert_chain": b"x"}, "cert_chain and private_key go together"),
        ({"max_streams": 0}, "max_streams"),
        ({"tls_root_certs": "/no/such/ca.pem"}, "cannot read PEM file /no/such/ca.pem"),
        ({"progress": "sometimes"}, "progress must be True, False or 'auto'"),
        ({"uri": "127.0.0.1"}, "want host:port, grpc://host:port or grpc\\+tls://host:port"),
        ({"uri": "127.0.0.1:"}, "want host:port"),
        ({"uri": ":8815"}, "want host:port"),
        ({"uri": "grpc://127.0.0.1"}, "want host:port"),
        ({"uri": "grpc://:8815"}, "want host:port"),
        ({"uri": "http://127.0.0.1:8815"}, "unsupported scheme 'http'; want host:port"),
    ],
)
def test_bad_connect_arguments(kwargs: dict[str, object], message: str) -> None:
    kwargs = {"uri": "grpc://127.0.0.1:1", **kwargs}
    with pytest.raises(ValueError, match=message):
        quiver.connect(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "error", "code", "message"),
    [
        ("SELECT * FROM demo.nope", quiver.NotFound, "NOT_FOUND", "demo.nope"),
        ("SELEC 1", quiver.QueryError, "INVALID_ARGUMENT", 'syntax error at or near "SELEC"'),
        ("SELECT secret", quiver.PermissionDenied, "PERMISSION_DENIED", "access to table secret denied"),
        ("SELECT s3", quiver.Unavailable, "UNAVAILABLE", "http://127.0.0.1:1"),
    ],
)
def test_errors_are_translated(
    fake: FakeQuiver, query: str, error: type[quiver.Error], code: str, message: str
) -> None:
    with quiver.connect(fake.uri) as conn:
        with pytest.raises(error, match=message) as info:
            conn.sql(query).to_arrow()
    assert info.value.code == code
    assert message in info.value.message
    assert not info.value.message.startswith(("gRPC", "Flight"))
    assert info.value.transport_error is not None
    # No chained gRPC traceback.
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_except_timeout_error_catches_a_deadline(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        try:
            conn.sql("SELECT deadline").to_arrow()
        except TimeoutError as exc:
            caught: BaseException = exc
        else:
            pytest.fail("DEADLINE_EXCEEDED was not raised as a TimeoutError")
    assert isinstance(caught, quiver.Timeout) and caught.code == "DEADLINE_EXCEEDED"
    assert "--query-timeout" in str(caught)


# What Connection._table_listing returns, as GetTables gives it: (schema, table, Arrow schema).
LISTING = [
    ("demo", "plays", pa.schema([("play_id", pa.int64()), ("day", pa.date32())])),
    ("demo", "titles", pa.schema([("title_id", pa.int64())])),
]


def test_tables_is_a_dataframe_with_pandas(fake: FakeQuiver, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas

    with quiver.connect(fake.uri) as conn:
        monkeypatch.setattr(conn, "_table_listing", lambda schema=None: LISTING)
        frame = conn.tables()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["schema", "table", "columns"]
    assert frame.to_dict("records")[0] == {"schema": "demo", "table": "plays", "columns": ["play_id", "day"]}


def test_tables_without_pandas_is_a_pyarrow_table(fake: FakeQuiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with quiver.connect(fake.uri) as conn:
        monkeypatch.setattr(conn, "_table_listing", lambda schema=None: LISTING)
        table = conn.tables()
    assert isinstance(table, pa.Table)
    want = pa.schema([("schema", pa.string()), ("table", pa.string()), ("columns", pa.list_(pa.string()))])
    assert table.schema == want
    assert table.to_pylist() == [
        {"schema": "demo", "table": "plays", "columns": ["play_id", "day"]},
        {"schema": "demo", "table": "titles", "columns": ["title_id"]},
    ]


def test_accept_detection_sends_the_table_column_and_kind(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        accepted = conn.accept_detection("crm.people", "EMAIL")
        relabelled = conn.accept_detection("crm.people", "notes", kind="national_id")
    assert fake.seen.accepted == [
        {"table": "crm.people", "column": "EMAIL"},
        {"table": "crm.people", "column": "notes", "kind": "national_id"},
    ], "no kind means the finding's: the key is left out"
    assert accepted == {
        "catalog": "quiver",
        "schema": "crm",
        "table": "people",
        "column": "email",
        "kind": "email",
        "accepted_by": "fake",
        "accepted_at": "2026-01-02T03:04:05Z",
    }
    assert relabelled["kind"] == "national_id"


def test_accept_detection_errors(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        with pytest.raises(quiver.PermissionDenied, match="not in --admin-role"):
            conn.accept_detection("crm.secret", "email")
        with pytest.raises(quiver.NotFound, match="nothing was detected in quiver.crm.nope"):
            conn.accept_detection("crm.nope", "email")
        for args, field in [
            (("", "email"), "table"),
            (("crm.people", " "), "column"),
            (("crm.people", "x", ""), "kind"),
        ]:
            with pytest.raises(ValueError, match=rf"accept_detection\({field}\)"):
                conn.accept_detection(*args)
        with pytest.raises(TypeError, match="want a str"):
            conn.accept_detection("crm.people", 3)  # type: ignore[arg-type]
    assert [r["table"] for r in fake.seen.accepted] == ["crm.secret", "crm.nope"], "nothing obviously wrong is sent"
    with pytest.raises(quiver.Error, match="closed"):  # by the with block
        conn.accept_detection("crm.people", "email")


def test_violations_reads_system_violations(fake: FakeQuiver, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas

    with quiver.connect(fake.uri) as conn:
        frame = conn.violations()
        monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
        table = conn.violations()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == TABLE.num_rows
    assert isinstance(table, pa.Table) and table.sort_by("id").equals(TABLE)
    assert len(fake.seen.queries) == 2 and fake.seen.queries[0] == fake.seen.queries[1]
    assert fake.seen.queries[0].startswith("SELECT * FROM system.violations ORDER BY violation, catalog_name")


def test_syntax_error_position_in_the_query(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn, pytest.raises(quiver.QueryError) as info:
        conn.sql("SELEC 1").to_arrow()
    err = info.value
    assert (err.near, err.position, err.line, err.column) == ("SELEC", 0, 1, 1)
    assert "at line 1, column 1" in str(err)


def test_closed_connection_refuses_queries(fake: FakeQuiver) -> None:
    conn = quiver.connect(fake.uri)
    conn.close()
    conn.close()
    assert conn.closed
    with pytest.raises(quiver.Error, match="closed"):
        conn.sql("SELECT 1")


def test_params_must_be_a_sequence(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        with pytest.raises(TypeError, match="sequence of positional values"):
            conn.sql("SELECT $1", {"a": 1})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="sequence of positional values"):
            conn.sql("SELECT $1", "abc")


def test_unreachable_server_is_unavailable() -> None:
    # Port 1 on loopback is never a Flight server; planning must fail fast.
    with quiver.connect("grpc://127.0.0.1:1") as conn:
        with pytest.raises(quiver.Unavailable) as info:
            conn.sql("SELECT 1")
    assert info.value.retriable


def test_result_html_shows_schema_rows_count_and_time(fake: FakeQuiver) -> None:
    with quiver.connect(fake.uri) as conn:
        html = conn.sql("SELECT 1")._repr_html_()
    assert "10 rows · 3 columns ·" in html and " s · 3 endpoints" in html
    assert "<th>id<br><span class=\"q-type\">int64</span></th>" in html
    assert "<td>n0</td>" in html and "NULL" in html
