from __future__ import annotations

import types
import warnings

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import quiver
from quiver.errors import translate_error


@pytest.mark.parametrize(
    ("exc", "expected", "code", "message"),
    [
        (
            pa.ArrowKeyError(
                "gRPC returned not found error, with message: table demo.nope not found. Detail: NotFound"
            ),
            quiver.NotFound,
            "NOT_FOUND",
            "table demo.nope not found",
        ),
        (
            pa.ArrowInvalid("gRPC returned invalid argument error, with message: Parser Error: x"),
            quiver.QueryError,
            "INVALID_ARGUMENT",
            "Parser Error: x",
        ),
        (
            pa.ArrowInvalid("gRPC returned resource exhausted error, with message: partials exceed 1 KiB"),
            quiver.ResourceExhausted,
            "RESOURCE_EXHAUSTED",
            "partials exceed 1 KiB",
        ),
        (
            pa.ArrowInvalid("Flight returned precondition failed error, with message: corrupt footer"),
            quiver.Error,
            "FAILED_PRECONDITION",
            "corrupt footer",
        ),
        (flight.FlightUnavailableError("down"), quiver.Unavailable, "UNAVAILABLE", "down"),
        (
            flight.FlightUnavailableError(
                "Flight returned unavailable error, with message: list s3://b/p at http://h:1"
            ),
            quiver.Unavailable,
            "UNAVAILABLE",
            "list s3://b/p at http://h:1",
        ),
        (flight.FlightUnauthorizedError("no"), quiver.PermissionDenied, "PERMISSION_DENIED", "no"),
        (flight.FlightUnauthenticatedError("who"), quiver.AuthenticationError, "UNAUTHENTICATED", "who"),
        (flight.FlightTimedOutError("slow"), quiver.Timeout, "DEADLINE_EXCEEDED", "slow"),
        (flight.FlightCancelledError("stop"), quiver.Cancelled, "CANCELLED", "stop"),
        (flight.FlightInternalError("bug"), quiver.Error, "INTERNAL", "bug"),
        # What pyarrow's get_schema raises: plain OSErrors that name the status.
        (
            OSError(
                "Flight returned unauthorized error, with message: refused: read_parquet. Detail: Unauthorized"
            ),
            quiver.PermissionDenied,
            "PERMISSION_DENIED",
            "refused: read_parquet",
        ),
        (
            OSError("invalid bearer token. Detail: Unauthenticated. Detail: Unauthenticated"),
            quiver.AuthenticationError,
            "UNAUTHENTICATED",
            "invalid bearer token",
        ),
    ],
)
def test_translate_error(exc: Exception, expected: type[quiver.Error], code: str, message: str) -> None:
    err = translate_error(exc)
    assert type(err) is expected
    assert isinstance(err, quiver.Error)
    assert err.code == code
    assert err.message == message
    assert err.transport_error is exc


def test_translate_error_leaves_other_exceptions() -> None:
    exc = KeyboardInterrupt()
    assert translate_error(exc) is exc
    value = ValueError("x")
    assert translate_error(value) is value
    local = FileNotFoundError("no such file: ca.pem")
    assert translate_error(local) is local


def test_hierarchy_and_old_names() -> None:
    assert issubclass(quiver.NotFound, quiver.QueryError)
    assert issubclass(quiver.Timeout, quiver.Cancelled)
    assert quiver.NotFoundError is quiver.NotFound
    assert quiver.UnavailableError is quiver.Unavailable
    assert not issubclass(quiver.AuthenticationError, quiver.PermissionDenied)
    assert quiver.Unavailable.retriable and not quiver.QueryError.retriable


@pytest.mark.parametrize(
    ("module", "name", "cls"),
    [
        (quiver, "PermissionError", quiver.PermissionDenied),
        (quiver.errors, "PermissionError", quiver.PermissionDenied),
        (quiver, "CancelledError", quiver.Cancelled),
        (quiver.errors, "CancelledError", quiver.Cancelled),
    ],
)
def test_deprecated_names_warn(module: types.ModuleType, name: str, cls: type[quiver.Error]) -> None:
    with pytest.warns(DeprecationWarning, match=f"{module.__name__}.{name} is deprecated, use") as warned:
        assert getattr(module, name) is cls
    # The warning names the line that used the old name.
    assert warned[0].filename == __file__


def test_deprecated_names_import_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="PermissionError is deprecated"):
        from quiver import PermissionError as OldName
    assert OldName is quiver.PermissionDenied


def test_star_import_keeps_the_builtins() -> None:
    for module in ("quiver", "quiver.errors"):
        namespace: dict[str, object] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(f"from {module} import *", namespace)
        assert "PermissionError" not in namespace and "CancelledError" not in namespace
        assert "PermissionDenied" in namespace and "QueryError" in namespace
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        quiver.Nope  # noqa: B018


def test_timeout_is_a_builtin_timeout_error() -> None:
    err = translate_error(flight.FlightTimedOutError("query timeout: the query ran longer than 3s"))
    try:
        raise err
    except TimeoutError as caught:
        assert caught is err
    assert isinstance(err, quiver.Timeout) and isinstance(err, quiver.Cancelled)
    assert str(err) == "query timeout: the query ran longer than 3s" and err.code == "DEADLINE_EXCEEDED"


@pytest.mark.parametrize(
    ("cls", "pep249"),
    [
        (quiver.QueryError, quiver.errors.ProgrammingError),
        (quiver.NotFound, quiver.errors.ProgrammingError),
        (quiver.PermissionDenied, quiver.errors.ProgrammingError),
        (quiver.AuthenticationError, quiver.errors.OperationalError),
        (quiver.Unavailable, quiver.errors.OperationalError),
        (quiver.Cancelled, quiver.errors.OperationalError),
        (quiver.Timeout, quiver.errors.OperationalError),
        (quiver.ResourceExhausted, quiver.errors.OperationalError),
        (quiver.errors.InternalError, quiver.errors.DatabaseError),
        (quiver.errors.NotSupportedError, quiver.errors.DatabaseError),
        (quiver.errors.DatabaseError, quiver.Error),
        (quiver.errors.InterfaceError, quiver.Error),
    ],
)
def test_pep249_hierarchy(cls: type[quiver.Error], pep249: type[quiver.Error]) -> None:
    assert issubclass(cls, pep249)


BINDER = (
    'type query: Binder Error: Referenced column "nope" not found in FROM clause!\n'
    'Candidate bindings: "name", "runtime_minutes"\n\n'
    'LINE 1: SELECT "name", nope FROM demo.titles LIMIT 0\n'
    "                       ^"
)


@pytest.mark.parametrize(
    ("message", "query", "near", "line", "column"),
    [
        ('invalid SQL: syntax error at or near "x"', "SELECT * FROM demo.titles WHER x", "x", 1, 32),
        ("invalid SQL: syntax error at end of input", "SELECT 1 +", "", 1, 11),
        ("invalid SQL: bad token (at position 7)", "SELECT §", "§", 1, 8),
        # The server quotes a rewritten statement; the token is found in the user's own text.
        (BINDER, "SELECT name,\n       nope\nFROM demo.titles", "nope", 2, 8),
        # A whole word: "x" inside "max" does not count.
        ('syntax error at or near "x"', "SELECT max(a)\nFROM t x y", "x", 2, 8),
    ],
)
def test_query_error_position(message: str, query: str, near: str, line: int, column: int) -> None:
    err = quiver.QueryError(message, "INVALID_ARGUMENT", query)
    assert (err.near, err.line, err.column) == (near, line, column)
    assert err.position is not None and query[err.position :].startswith(near)
    text = str(err)
    assert f"at line {line}, column {column} of the query" in text
    # The caret sits under the token in the user's line.
    shown, caret = text.splitlines()[-2:]
    assert caret.index("^") == shown.index(near) if near else caret.index("^") == len(shown.rstrip())
    assert "LIMIT 0" not in text


@pytest.mark.parametrize(
    ("context", "query", "line", "column"),
    [
        # The server quotes the user's own line: its caret is exact, even
        # under a token that occurs earlier in the query or the line.
        ("LINE 2:  WHERE id = nme\n" + " " * 19 + "^", "SELECT nme\n WHERE id = nme", 2, 12),
        ("LINE 1: SELECT t.id FROM t WHERE t.nme = 1\n" + " " * 33 + "^", "SELECT t.id FROM t WHERE t.nme = 1", 1, 26),
        # ... also when it cut a long line.
        ("LINE 1: ...id = nme\n" + " " * 16 + "^", "SELECT nme FROM t WHERE id = nme", 1, 30),
    ],
)
def test_query_error_position_quoted_by_the_server(context: str, query: str, line: int, column: int) -> None:
    err = quiver.QueryError("Binder Error: x\n\n" + context, "INVALID_ARGUMENT", query)
    assert (err.line, err.column) == (line, column)
    assert err.position is not None and err.near is not None
    assert query[err.position :].startswith(err.near)


def test_query_error_without_position() -> None:
    err = quiver.QueryError("Catalog Error: something", "INVALID_ARGUMENT", "SELECT 1")
    assert err.position is None and err.line is None
    assert str(err) == "Catalog Error: something"
