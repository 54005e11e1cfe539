"""quiver.dbapi's connection and cursor: ADBC's, with every error made quiver's.

:class:`Connection` and :class:`Cursor` subclass the ADBC driver manager's
classes (so pandas and other tools still recognise an ADBC connection) and
wrap each public method and property of theirs: ADBC and pyarrow exceptions
become quiver exceptions (:func:`translate`), a cursor or connection ADBC
builds comes back as ours, and a ``RecordBatchReader`` translates the errors
of the stream it reads. The Flight SQL driver reports a server error as
``[FlightSQL] <message> (<gRPC code>; <call>)``, and pyarrow readers of its
streams raise the same text as an ``OSError``; the code picks the class.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import adbc_driver_manager.dbapi as adbc
import pyarrow as pa

from . import dbapi, errors
from .connection import COMPRESSION_HEADER
from .options import Settings

# adbc_driver_flightsql.DatabaseOptions: the PEM options by name, and the rest.
_PEM_OPTIONS = {
    "tls_root_certs": "adbc.flight.sql.client_option.tls_root_certs",
    "cert_chain": "adbc.flight.sql.client_option.mtls_cert_chain",
    "private_key": "adbc.flight.sql.client_option.mtls_private_key",
}
_AUTHORIZATION_HEADER = "adbc.flight.sql.authorization_header"
_CALL_HEADER = "adbc.flight.sql.rpc.call_header."

# "INVALID_ARGUMENT: [FlightSQL] <message> (InvalidArgument; Prepare). Vendor code: 3"
_ADBC_STATUS = re.compile(r"^[A-Z_]+: ")
_VENDOR_CODE = re.compile(r"\. Vendor code: -?\d+$")
_FLIGHT_SQL = "[FlightSQL] "
_GRPC_CALL = re.compile(r" \((?P<code>[A-Za-z]+); [^()]*\)$")

# gRPC codes as Go names them (codes.Code.String()), which the driver writes.
_GO_CODES = {
    "Canceled": "CANCELLED",
    "Unknown": "UNKNOWN",
    "InvalidArgument": "INVALID_ARGUMENT",
    "DeadlineExceeded": "DEADLINE_EXCEEDED",
    "NotFound": "NOT_FOUND",
    "AlreadyExists": "ALREADY_EXISTS",
    "PermissionDenied": "PERMISSION_DENIED",
    "ResourceExhausted": "RESOURCE_EXHAUSTED",
    "FailedPrecondition": "FAILED_PRECONDITION",
    "Aborted": "ABORTED",
    "OutOfRange": "OUT_OF_RANGE",
    "Unimplemented": "UNIMPLEMENTED",
    "Internal": "INTERNAL",
    "Unavailable": "UNAVAILABLE",
    "DataLoss": "DATA_LOSS",
    "Unauthenticated": "UNAUTHENTICATED",
}

# The PEP 249 classes of the codes quiver has no class of its own for.
_OTHER_CODES: dict[str, type[errors.Error]] = {
    "INTERNAL": errors.InternalError,
    "UNIMPLEMENTED": errors.NotSupportedError,
    "DATA_LOSS": errors.DataError,
}

# quiver's PEP 249 classes by name, for the errors ADBC raises itself.
_PEP249: dict[str, type[errors.Error]] = {
    cls.__name__: cls
    for cls in (
        errors.InterfaceError,
        errors.DataError,
        errors.OperationalError,
        errors.IntegrityError,
        errors.InternalError,
        errors.ProgrammingError,
        errors.NotSupportedError,
        errors.DatabaseError,
    )
}


def translate(exc: BaseException, query: str | None = None) -> BaseException:
    """The quiver exception for an exception of the ADBC driver or of pyarrow.

    Anything else (a ``TypeError`` for a bad argument, a
    ``KeyboardInterrupt``) is returned as it is.
    """
    if isinstance(exc, errors.Error):
        return exc
    if not isinstance(exc, (adbc_driver_manager.Error, pa.ArrowException, OSError)):
        return exc
    code, message = _split(str(exc))
    if code is not None:
        err = errors.error_for(code, message, query, other=_OTHER_CODES.get(code, errors.DatabaseError))
    elif isinstance(exc, adbc_driver_manager.Error):
        cls = next((_PEP249[c.__name__] for c in type(exc).__mro__ if c.__name__ in _PEP249), errors.DatabaseError)
        err = cls(message)
    else:
        # pyarrow failed in the client (converting parameters, reading a stream).
        err = errors.InterfaceError(message)
    err.transport_error = exc
    return err


def _split(text: str) -> tuple[str | None, str]:
    """The gRPC code and the server's message; no code (and the text as it is) when it is not a server's."""
    text = text.strip()
    server = _VENDOR_CODE.sub("", _ADBC_STATUS.sub("", text, count=1))
    if not server.startswith(_FLIGHT_SQL):
        return None, text
    text = server[len(_FLIGHT_SQL) :]
    call = _GRPC_CALL.search(text)
    if call is None or call.group("code") not in _GO_CODES:
        return "UNKNOWN", text
    return _GO_CODES[call.group("code")], text[: call.start()]


# The methods whose first argument is the SQL, which locates a syntax error.
_QUERY_METHODS = frozenset({"execute", "executemany", "executescript", "adbc_execute_schema", "adbc_prepare"})


def _call(fn: Callable[..., Any], *args: Any, query: str | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, its errors translated and its result made ours (:func:`_ours`)."""
    try:
        return _ours(fn(*args, **kwargs))
    except Exception as exc:
        err = translate(exc, query)
        if err is exc:
            raise
    # Raised out of the except block and forgotten: this frame, which the
    # traceback keeps, must not hold the error in a cycle that only the
    # garbage collector breaks (the cursor in it would outlive its connection).
    try:
        raise err from None
    finally:
        del err


def _translating(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        query = args[0] if name in _QUERY_METHODS and args and isinstance(args[0], str) else None
        return _call(method, self, *args, query=query, **kwargs)

    return call


def _ours(value: Any) -> Any:
    """ADBC's cursors and connections as ours; readers that translate their errors."""
    if type(value) is adbc.Cursor:
        # Ours add no state, only methods: the object is one of ours as it is.
        value.__class__ = Cursor
    elif type(value) is adbc.Connection:
        value.__class__ = Connection
    elif isinstance(value, pa.RecordBatchReader):
        return pa.RecordBatchReader.from_batches(value.schema, _translated_batches(value))
    return value


def _translated_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    except Exception as exc:
        err = translate(exc)
        if err is exc:
            raise
    else:
        return
    try:
        raise err from None
    finally:
        del err  # no cycle through this frame, as in _call


def _translate_members(cls: type, base: type) -> None:
    """Wrap every public method and property ``base`` defines (and ``__next__``) in ``cls``."""
    for name, member in vars(base).items():
        if (name.startswith("_") and name != "__next__") or name in vars(cls):
            continue
        if inspect.isfunction(member):
            setattr(cls, name, _translating(name, member))
        elif isinstance(member, property):
            accessors = (member.fget, member.fset, member.fdel)
            fget, fset, fdel = (None if f is None else _translating(name, f) for f in accessors)
            setattr(cls, name, property(fget, fset, fdel, member.__doc__))


class Cursor(adbc.Cursor):
    """Cursor is an ADBC Flight SQL cursor whose errors are quiver's (see :mod:`quiver.dbapi`)."""

    def __repr__(self) -> str:
        return f"<quiver.dbapi.Cursor (ADBC) at {id(self):#x}>"


class Connection(adbc.Connection):
    """Connection is an ADBC Flight SQL connection whose errors are quiver's (see :mod:`quiver.dbapi`).

    Its cursors are :class:`Cursor`; the PEP 249 exception classes on it (an
    optional extension: ``conn.ProgrammingError``) are quiver's, the ones it
    raises.
    """

    def __repr__(self) -> str:
        return f"<quiver.dbapi.Connection (ADBC Flight SQL) at {id(self):#x}>"


_translate_members(Cursor, adbc.Cursor)
_translate_members(Connection, adbc.Connection)
# Set here, not in the class body: type checkers hold ADBC's classes to be
# the only types these attributes may have.
for _cls in (dbapi.Warning, errors.Error, *_PEP249.values()):
    setattr(Connection, _cls.__name__, _cls)
# polars.read_database reads a connection through Arrow (keeping the types of
# the result) only when the top-level module of its class is an ADBC one
# (adbc_*); otherwise it fetches rows and guesses the types again. These are
# ADBC's classes with quiver's errors, so they say they come from ADBC.
Connection.__module__ = Cursor.__module__ = adbc.__name__


def connect(settings: Settings, *, autocommit: bool) -> Connection:
    """Open the ADBC Flight SQL connection ``settings`` describe."""
    opts = settings.options
    options: dict[str, str] = {}
    if opts["token"]:
        options[_AUTHORIZATION_HEADER] = f"Bearer {opts['token']}"
    if opts["username"] is not None and opts["password"] is not None:
        options["username"] = opts["username"]
        options["password"] = opts["password"]
    for name, pem in settings.pems.items():
        options[_PEM_OPTIONS[name]] = pem.decode()
    if opts["compression"] is not None:
        options[_CALL_HEADER + COMPRESSION_HEADER] = opts["compression"]
    conn: Connection = _call(flightsql.connect, settings.uri, db_kwargs=options, autocommit=autocommit)
    return conn
