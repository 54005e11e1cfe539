"""quiver.dbapi without a server: its PEP 249 names, its argument errors and how driver errors are translated.

tests/e2e/test_e2e_dbapi.py checks the same against a real server.
"""

from __future__ import annotations

import sys

import adbc_driver_manager
import adbc_driver_manager.dbapi
import pyarrow as pa
import pytest

import quiver
import quiver.dbapi
from quiver import _adbc, errors

S = adbc_driver_manager.AdbcStatusCode


def test_pep249_names_are_quivers() -> None:
    assert quiver.dbapi.Error is quiver.Error
    for name in ("InterfaceError", "DatabaseError", "DataError", "OperationalError", "IntegrityError",
                 "InternalError", "ProgrammingError", "NotSupportedError"):
        assert getattr(quiver.dbapi, name) is getattr(errors, name)
        assert issubclass(getattr(quiver.dbapi, name), quiver.Error)
    assert not issubclass(quiver.dbapi.Warning, quiver.Error) and issubclass(quiver.dbapi.Warning, Exception)
    assert (quiver.dbapi.apilevel, quiver.dbapi.threadsafety, quiver.dbapi.paramstyle) == ("2.0", 1, "qmark")
    # Connection and Cursor subclass ADBC's, so pandas.read_sql takes its ADBC path.
    assert issubclass(quiver.dbapi.Connection, adbc_driver_manager.dbapi.Connection)
    assert issubclass(quiver.dbapi.Cursor, adbc_driver_manager.dbapi.Cursor)
    assert quiver.dbapi.Connection.ProgrammingError is errors.ProgrammingError


def test_star_import_keeps_the_builtin_warning() -> None:
    namespace: dict[str, object] = {}
    exec("from quiver.dbapi import *", namespace)
    assert "Warning" not in namespace and "ProgrammingError" in namespace


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uri": "nohost"}, "want host:port"),
        ({"uri": "127.0.0.1:1", "username": "bob"}, "username and password go together"),
        ({"uri": "127.0.0.1:1", "tls_root_certs": "/no/such/ca.pem"}, "cannot read PEM file"),
    ],
)
def test_refused_arguments_are_programming_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(quiver.dbapi.InvalidArgument, match=message) as info:
        quiver.dbapi.connect(**kwargs)  # type: ignore[arg-type]
    # Also what they were before: ValueErrors.
    assert isinstance(info.value, quiver.dbapi.ProgrammingError) and isinstance(info.value, ValueError)


def test_a_missing_driver_is_an_interface_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "quiver._adbc")
    monkeypatch.delattr(quiver, "_adbc")
    monkeypatch.setitem(sys.modules, "adbc_driver_flightsql", None)
    monkeypatch.setitem(sys.modules, "adbc_driver_flightsql.dbapi", None)
    with pytest.raises(quiver.dbapi.DriverMissing, match="pip install 'quiver\\[dbapi\\]'") as info:
        quiver.dbapi.connect("127.0.0.1:1")
    assert isinstance(info.value, quiver.dbapi.InterfaceError) and isinstance(info.value, ImportError)


def _adbc_error(cls: type[adbc_driver_manager.Error], text: str, status: S, vendor: int | None = None) -> Exception:
    if cls is adbc_driver_manager.NotSupportedError:  # its status is always NOT_IMPLEMENTED
        return cls(text, vendor_code=vendor)
    return cls(text, status_code=status, vendor_code=vendor)


@pytest.mark.parametrize(
    ("exc", "expected", "code", "message"),
    [
        (
            _adbc_error(
                adbc_driver_manager.ProgrammingError,
                'INVALID_ARGUMENT: [FlightSQL] invalid SQL: syntax error at or near "SELEC" (InvalidArgument; Prepare).'
                " Vendor code: 3",
                S.INVALID_ARGUMENT,
                3,
            ),
            quiver.QueryError,
            "INVALID_ARGUMENT",
            'invalid SQL: syntax error at or near "SELEC"',
        ),
        (
            _adbc_error(
                adbc_driver_manager.ProgrammingError,
                "NOT_FOUND: [FlightSQL] table demo.nope does not exist: table not found (NotFound; Prepare)."
                " Vendor code: 5",
                S.NOT_FOUND,
                5,
            ),
            quiver.NotFound,
            "NOT_FOUND",
            "table demo.nope does not exist: table not found",
        ),
        (
            _adbc_error(
                adbc_driver_manager.ProgrammingError,
                "UNAUTHORIZED: [FlightSQL] refused: read_parquet (PermissionDenied; Prepare). Vendor code: 7",
                S.UNAUTHORIZED,
                7,
            ),
            quiver.PermissionDenied,
            "PERMISSION_DENIED",
            "refused: read_parquet",
        ),
        (
            _adbc_error(
                adbc_driver_manager.OperationalError,
                "TIMEOUT: [FlightSQL] query timeout: the query ran longer than 2s (--query-timeout)"
                " (DeadlineExceeded; DoGet: endpoint 0: []). Vendor code: 4",
                S.TIMEOUT,
                4,
            ),
            quiver.Timeout,
            "DEADLINE_EXCEEDED",
            "query timeout: the query ran longer than 2s (--query-timeout)",
        ),
        (
            _adbc_error(
                adbc_driver_manager.OperationalError,
                'IO: [FlightSQL] connection error: desc = "dial tcp 127.0.0.1:1: connect: connection refused"'
                " (Unavailable; Prepare). Vendor code: 14",
                S.IO,
                14,
            ),
            quiver.Unavailable,
            "UNAVAILABLE",
            'connection error: desc = "dial tcp 127.0.0.1:1: connect: connection refused"',
        ),
        (
            _adbc_error(
                adbc_driver_manager.ProgrammingError,
                "UNAUTHENTICATED: [FlightSQL] no credentials (Unauthenticated; Prepare). Vendor code: 16",
                S.UNAUTHENTICATED,
                16,
            ),
            quiver.AuthenticationError,
            "UNAUTHENTICATED",
            "no credentials",
        ),
        (
            _adbc_error(
                adbc_driver_manager.InternalError,
                "INTERNAL: [FlightSQL] worker crashed (Internal; DoGet: endpoint 1: []). Vendor code: 13",
                S.INTERNAL,
                13,
            ),
            errors.InternalError,
            "INTERNAL",
            "worker crashed",
        ),
        (
            _adbc_error(
                adbc_driver_manager.NotSupportedError,
                "NOT_IMPLEMENTED: [FlightSQL] no transactions (Unimplemented; BeginTransaction). Vendor code: 12",
                S.NOT_IMPLEMENTED,
                12,
            ),
            errors.NotSupportedError,
            "UNIMPLEMENTED",
            "no transactions",
        ),
        (
            _adbc_error(
                adbc_driver_manager.DatabaseError,
                "INVALID_STATE: [FlightSQL] corrupt footer (FailedPrecondition; DoGet). Vendor code: 9",
                S.INVALID_STATE,
                9,
            ),
            errors.DatabaseError,
            "FAILED_PRECONDITION",
            "corrupt footer",
        ),
        # What a pyarrow reader of the driver's stream raises.
        (
            OSError("[FlightSQL] query timeout: the query ran longer than 2s (DeadlineExceeded; DoGet: endpoint 0)"),
            quiver.Timeout,
            "DEADLINE_EXCEEDED",
            "query timeout: the query ran longer than 2s",
        ),
        # Errors of the driver itself: the PEP 249 class of the same name, no code.
        (
            _adbc_error(adbc_driver_manager.ProgrammingError, "Cannot fetchone() before execute()", S.INVALID_STATE),
            errors.ProgrammingError,
            None,
            "Cannot fetchone() before execute()",
        ),
        (
            _adbc_error(adbc_driver_manager.OperationalError, "IO: [Driver Manager] could not load", S.IO),
            errors.OperationalError,
            None,
            "IO: [Driver Manager] could not load",
        ),
        (pa.ArrowTypeError("Expected bytes, got a 'list' object"), errors.InterfaceError, None, "Expected bytes"),
    ],
)
def test_translate(exc: Exception, expected: type[quiver.Error], code: str | None, message: str) -> None:
    err = _adbc.translate(exc)
    assert type(err) is expected
    assert isinstance(err, quiver.Error)
    assert err.code == code
    assert err.message.startswith(message) and err.message.rstrip() == err.message
    assert err.transport_error is exc


def test_translate_locates_a_syntax_error_in_the_query() -> None:
    exc = _adbc_error(
        adbc_driver_manager.ProgrammingError,
        'INVALID_ARGUMENT: [FlightSQL] invalid SQL: syntax error at or near "FORM" (InvalidArgument; Prepare).'
        " Vendor code: 3",
        S.INVALID_ARGUMENT,
        3,
    )
    err = _adbc.translate(exc, "SELECT 1\nFORM demo.titles")
    assert isinstance(err, quiver.QueryError)
    assert (err.near, err.line, err.column) == ("FORM", 2, 1)


def test_translate_leaves_other_exceptions() -> None:
    for exc in (TypeError("Cannot bind <class 'object'>"), KeyboardInterrupt(), ValueError("x")):
        assert _adbc.translate(exc) is exc
