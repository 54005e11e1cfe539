"""Exceptions raised by the Quiver client: one class per meaning.

Every error that crosses the wire is re-raised as one of these classes, so
callers never import ``pyarrow.flight`` to handle a failed query:

========================  ======================================  =====================
class                     meaning                                 gRPC status
========================  ======================================  =====================
:class:`QueryError`       the SQL is wrong (syntax, types,        INVALID_ARGUMENT,
                          unsupported statement); carries the     OUT_OF_RANGE
                          position when the server names one
:class:`NotFound`         a table (or prepared statement,         NOT_FOUND
                          ticket) does not exist
:class:`AuthenticationError`  missing, expired or invalid         UNAUTHENTICATED
                          credentials
:class:`PermissionDenied` the principal may not do this           PERMISSION_DENIED
:class:`Unavailable`      server, workers or storage are          UNAVAILABLE
                          unreachable or busy; retrying helps
:class:`Cancelled`        the query was cancelled                 CANCELLED
:class:`Timeout`          the query ran past its deadline         DEADLINE_EXCEEDED
:class:`ResourceExhausted`  a result or memory limit was hit      RESOURCE_EXHAUSTED
:class:`Error`            anything else (internal errors, …)      other codes
========================  ======================================  =====================

The server's own message is kept (without pyarrow's "Flight returned ..."
wrapper) in ``message`` and the status name in ``code``. The pyarrow exception
is kept in ``transport_error`` but not chained, so a failed query shows one
short traceback instead of a gRPC one.

The classes also take their place in the PEP 249 (DB-API) hierarchy, so
:mod:`quiver.dbapi` raises these same classes and ``except
quiver.errors.OperationalError`` means the same for both clients:

==========================  =============================================
PEP 249 class               quiver classes under it
==========================  =============================================
:class:`ProgrammingError`   :class:`QueryError` (so :class:`NotFound`),
                            :class:`PermissionDenied`
:class:`OperationalError`   :class:`AuthenticationError`,
                            :class:`Unavailable`, :class:`Cancelled` (so
                            :class:`Timeout`), :class:`ResourceExhausted`
==========================  =============================================

:class:`InterfaceError`, :class:`DatabaseError`, :class:`DataError`,
:class:`IntegrityError`, :class:`InternalError` and
:class:`NotSupportedError` complete the hierarchy; all are :class:`Error`.
:class:`Timeout` is also the builtin ``TimeoutError``.

Of the names of the first client release, ``NotFoundError`` and
``UnavailableError`` remain as aliases. ``PermissionError`` and
``CancelledError`` still work but warn (``DeprecationWarning``) and are not
exported by ``from quiver import *``: they hid the builtin ``PermissionError``
and asyncio's ``CancelledError``.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.flight as flight

__all__ = [
    "Error",
    "QueryError",
    "NotFound",
    "AuthenticationError",
    "PermissionDenied",
    "Unavailable",
    "Cancelled",
    "Timeout",
    "ResourceExhausted",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "NotFoundError",
    "UnavailableError",
    "error_for",
    "translate_error",
]


class Error(Exception):
    """Error is the base class of every exception raised by the client.

    ``code`` is the gRPC status name reported by the server (for example
    ``"NOT_FOUND"``), or ``None`` when the error happened in the client.
    ``retriable`` says whether running the same request again may succeed.
    """

    retriable = False

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.transport_error: BaseException | None = None


# The PEP 249 hierarchy (https://peps.python.org/pep-0249/#exceptions), under Error.


class InterfaceError(Error):
    """InterfaceError means the client or its driver failed, not the database (PEP 249)."""


class DatabaseError(Error):
    """DatabaseError is the base of the errors the database reports (PEP 249)."""


class DataError(DatabaseError):
    """DataError means the data could not be processed (PEP 249)."""


class OperationalError(DatabaseError):
    """OperationalError means the database could not do its work, not that the request was wrong (PEP 249)."""


class IntegrityError(DatabaseError):
    """IntegrityError means a constraint was violated (PEP 249; Quiver is read-only and has none)."""


class InternalError(DatabaseError):
    """InternalError means the database failed internally (PEP 249)."""


class ProgrammingError(DatabaseError):
    """ProgrammingError means the request was wrong: the SQL, the table, the permission (PEP 249)."""


class NotSupportedError(DatabaseError):
    """NotSupportedError means the database does not support the operation (PEP 249)."""


class QueryError(ProgrammingError):
    """QueryError means the server rejected the SQL: syntax, types, unsupported statements.

    When the server's message points at a token (``syntax error at or near
    "x"``, or DuckDB's ``LINE 1: …`` with a caret) and that token is found in
    the query, ``position`` is its 0-based offset in :attr:`query` and
    ``line``/``column`` its 1-based line and column; ``near`` is the token.
    """

    def __init__(self, message: str, code: str | None = None, query: str | None = None) -> None:
        super().__init__(message, code)
        self.query = query
        self.near: str | None = None
        self.position: int | None = None
        self.line: int | None = None
        self.column: int | None = None
        if query is not None:
            self._locate(query)

    def _locate(self, query: str) -> None:
        found = _locate(self.message, query)
        if found is None:
            return
        self.near, self.position = found
        before = query[: self.position]
        self.line = before.count("\n") + 1
        self.column = self.position - (before.rfind("\n") + 1) + 1

    def __str__(self) -> str:
        if self.query is None or self.position is None or self.line is None or self.column is None:
            return self.message
        # The server's "LINE 1: …" context shows the statement as it rewrote
        # it; the user's own line is clearer.
        message = _CARET_CONTEXT.sub("", self.message).rstrip()
        lines = self.query.splitlines() or [""]
        text = lines[min(self.line, len(lines)) - 1]
        caret = " " * (self.column - 1) + "^"
        return f"{message}\n\nat line {self.line}, column {self.column} of the query:\n  {text}\n  {caret}"


class NotFound(QueryError):
    """NotFound means the query names a table, or uses a handle, that does not exist."""


class AuthenticationError(OperationalError):
    """AuthenticationError means the credentials are missing, expired or invalid."""


class PermissionDenied(ProgrammingError):
    """PermissionDenied means the principal may not run this query or read this table."""


class Unavailable(OperationalError):
    """Unavailable means the server, its workers or its storage are unreachable or busy; retry later."""

    retriable = True


class Cancelled(OperationalError):
    """Cancelled means the query was cancelled (by the user, or the server stopping)."""


class Timeout(Cancelled, TimeoutError):
    """Timeout means the query ran past its deadline and was stopped.

    It is also the builtin ``TimeoutError``, so ``except TimeoutError`` catches
    it (and, as for every ``TimeoutError``, so does ``except OSError``).
    """


class ResourceExhausted(OperationalError):
    """ResourceExhausted means the query hit a limit: result size, memory, partial results."""


# Names of the first release.
NotFoundError = NotFound
UnavailableError = Unavailable

# Names of the first release that hid another class of the same name where
# they were imported: reached through the module __getattr__, with a warning.
_DEPRECATED: dict[str, tuple[type[Error], str]] = {
    "PermissionError": (PermissionDenied, "the builtin PermissionError"),
    "CancelledError": (Cancelled, "asyncio.CancelledError"),
}


def _deprecated_alias(module: str, name: str) -> type[Error]:
    """The class a deprecated name of ``module`` stands for, with a DeprecationWarning.

    The module ``__getattr__`` (PEP 562) of ``quiver`` and of ``quiver.errors``
    answers with it; any other name is an AttributeError.
    """
    if name not in _DEPRECATED:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    cls, hidden = _DEPRECATED[name]
    warnings.warn(
        f"{module}.{name} is deprecated, use {module}.{cls.__name__} ({name} hides {hidden})",
        DeprecationWarning,
        # Past this function and the module __getattr__: the line that named it.
        stacklevel=3,
    )
    return cls


if TYPE_CHECKING:
    # Type checkers see the old names as the aliases they are; at run time they warn.
    PermissionError = PermissionDenied  # noqa: A001
    CancelledError = Cancelled
else:

    def __getattr__(name: str) -> type[Error]:
        return _deprecated_alias(__name__, name)


# pyarrow prefixes the server's message with a description of the status code
# ("gRPC returned not found error, with message: " or "Flight returned
# unavailable error, with message: ") and may append the code again
# ("... Detail: NotFound") and a client debug context; all noise for a user.
_GRPC_PREFIX = re.compile(r"^(?:gRPC|Flight) returned ([a-z -]+?) error, with message: ", re.IGNORECASE)
_DETAIL_SUFFIX = re.compile(r"\. Detail: ([A-Za-z]+)$")
_CLIENT_CONTEXT_SUFFIX = re.compile(r"\. gRPC client debug context: .*$", re.DOTALL)

# The status descriptions pyarrow writes in that prefix.
_DESCRIPTIONS = {
    "invalid argument": "INVALID_ARGUMENT",
    "not found": "NOT_FOUND",
    "resource exhausted": "RESOURCE_EXHAUSTED",
    "precondition failed": "FAILED_PRECONDITION",
    "failed precondition": "FAILED_PRECONDITION",
    "out-of-range": "OUT_OF_RANGE",
    "out of range": "OUT_OF_RANGE",
    "already exists": "ALREADY_EXISTS",
    "aborted": "ABORTED",
    "unknown": "UNKNOWN",
    "unimplemented": "UNIMPLEMENTED",
    "not implemented": "UNIMPLEMENTED",
    "internal": "INTERNAL",
    "unavailable": "UNAVAILABLE",
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
    "timed out": "DEADLINE_EXCEEDED",
    "deadline exceeded": "DEADLINE_EXCEEDED",
    "unauthenticated": "UNAUTHENTICATED",
    "unauthorized": "PERMISSION_DENIED",
    "permission denied": "PERMISSION_DENIED",
    "data loss": "DATA_LOSS",
}

_CLASSES: dict[str, type[Error]] = {
    "INVALID_ARGUMENT": QueryError,
    "OUT_OF_RANGE": QueryError,
    "NOT_FOUND": NotFound,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAVAILABLE": Unavailable,
    "CANCELLED": Cancelled,
    "DEADLINE_EXCEEDED": Timeout,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
}

# Codes of the pyarrow classes, checked in order (Flight classes subclass ArrowException).
_TYPE_CODES: list[tuple[type[BaseException], str]] = [
    (flight.FlightUnauthenticatedError, "UNAUTHENTICATED"),
    (flight.FlightUnauthorizedError, "PERMISSION_DENIED"),
    (flight.FlightUnavailableError, "UNAVAILABLE"),
    (flight.FlightTimedOutError, "DEADLINE_EXCEEDED"),
    (flight.FlightCancelledError, "CANCELLED"),
    (flight.FlightInternalError, "INTERNAL"),
    (flight.FlightServerError, "UNKNOWN"),
    # gRPC NOT_FOUND arrives as Arrow's KeyError, INVALID_ARGUMENT (and
    # FAILED_PRECONDITION, OUT_OF_RANGE, RESOURCE_EXHAUSTED) as ArrowInvalid;
    # the prefix tells them apart.
    (pa.ArrowKeyError, "NOT_FOUND"),
    (pa.ArrowInvalid, "INVALID_ARGUMENT"),
    (pa.ArrowNotImplementedError, "UNIMPLEMENTED"),
    (flight.FlightError, "UNKNOWN"),
    (pa.ArrowException, "UNKNOWN"),
]


# Arrow's FlightStatusDetail codes, which pyarrow appends as "Detail: <code>".
_DETAILS = {
    "Unauthenticated": "UNAUTHENTICATED",
    "Unauthorized": "PERMISSION_DENIED",
    "Unavailable": "UNAVAILABLE",
    "TimedOut": "DEADLINE_EXCEEDED",
    "Cancelled": "CANCELLED",
    "Internal": "INTERNAL",
    "Failed": "UNKNOWN",
}


def _split(exc: BaseException) -> tuple[str | None, str]:
    """The status code named in pyarrow's prefix or detail suffix (if any) and the server's message."""
    text = _CLIENT_CONTEXT_SUFFIX.sub("", str(exc).strip())
    code = None
    match = _GRPC_PREFIX.match(text)
    if match:
        code = _DESCRIPTIONS.get(match.group(1).lower())
        text = text[match.end() :]
    while True:
        detail = _DETAIL_SUFFIX.search(text)
        if detail is None:
            break
        code = code or _DETAILS.get(detail.group(1))
        text = text[: detail.start()]
    return code, text


def status_code(exc: BaseException) -> str | None:
    """The gRPC status name of a pyarrow exception, or None if it is not one."""
    if isinstance(exc, Error):
        return exc.code
    named, _ = _split(exc)
    for source, code in _TYPE_CODES:
        if isinstance(exc, source):
            # The prefix is more precise than the class (ArrowInvalid covers four codes).
            return named or code
    if isinstance(exc, OSError) and named is not None:
        # pyarrow's FlightClient.get_schema raises plain OSErrors for Flight
        # statuses (PERMISSION_DENIED, UNAUTHENTICATED, ...); the text says which.
        return named
    return None


def translate_error(exc: BaseException, query: str | None = None) -> BaseException:
    """Return the quiver exception for an error raised by pyarrow.flight.

    ``query`` is the SQL the request ran, used to locate a syntax error.
    Exceptions that do not come from the transport (for example a
    ``KeyboardInterrupt``) are returned unchanged so the caller can re-raise
    them as they are.
    """
    if isinstance(exc, Error):
        return exc
    code = status_code(exc)
    if code is None:
        return exc
    _, message = _split(exc)
    err = error_for(code, message, query)
    err.transport_error = exc
    return err


def error_for(code: str, message: str, query: str | None = None, other: type[Error] = Error) -> Error:
    """The quiver exception for a gRPC status ``code`` (a name, ``"NOT_FOUND"``) and the server's message.

    ``query`` locates a syntax error; ``other`` is the class of the codes
    that have none of their own (:class:`Error` itself by default).
    """
    cls = _CLASSES.get(code, other)
    return cls(message, code, query) if issubclass(cls, QueryError) else cls(message, code)


# Where the server's message points at a token.
_AT_POSITION = re.compile(r"\(at position (\d+)\)")
_NEAR = re.compile(r'at or near "((?:[^"]|"")*)"')
_END_OF_INPUT = re.compile(r"at end of input")
_CARET_CONTEXT = re.compile(r"^LINE (?P<line>\d+): (.*)\n( *)\^", re.MULTILINE)
_TOKEN = re.compile(r"\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|\w+|\S")


def _locate(message: str, query: str) -> tuple[str, int] | None:
    """Find what the message points at in the query: (token, 0-based offset)."""
    match = _AT_POSITION.search(message)
    if match:
        pos = int(match.group(1))
        if 0 <= pos <= len(query):
            token = _TOKEN.match(query, pos)
            return (token.group(0) if token else "", pos)
    match = _NEAR.search(message)
    if match:
        return _find_token(match.group(1).replace('""', '"'), query)
    if _END_OF_INPUT.search(message):
        return ("", len(query.rstrip()))
    match = _CARET_CONTEXT.search(message)
    if match:
        context, caret = match.group(2), len(match.group(3)) - _prefix_len(match)
        quoted = _quoted_position(query, int(match.group("line")), context, caret)
        if quoted is not None:
            token = _TOKEN.match(query, quoted)
            return (token.group(0) if token else "", quoted)
        # An older server shows the statement it rewrote, not the user's text:
        # take the token under the caret and find it in the user's query.
        token = _TOKEN.match(context, max(caret, 0))
        if token:
            return _find_token(token.group(0).strip('"'), query)
    return None


def _prefix_len(match: re.Match[str]) -> int:
    # "LINE 12: " is longer than "LINE 1: ": the caret is indented by the real prefix.
    return match.start(2) - match.start(0)


def _quoted_position(query: str, line: int, context: str, caret: int) -> int | None:
    """The offset in ``query`` of the caret when the context line quotes the query's own line ``line``.

    The server quotes the line as the user wrote it, cut with "..." at either
    end when it is long; the caret is then exact, even under a word that occurs
    twice.
    """
    lines = query.split("\n")
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1].rstrip("\r")
    core, shift = context, 0
    if core.startswith("..."):
        core, shift = core[3:], 3
    if core != text and core.endswith("..."):
        core = core[:-3]
    if not core:
        return None
    start = text.find(core) if shift or core != text else 0
    if start < 0 or (not shift and not text.startswith(core)):
        return None
    column = caret - shift
    if not 0 <= column <= len(core):
        return None
    return sum(len(earlier) + 1 for earlier in lines[: line - 1]) + start + column


def _find_token(token: str, query: str) -> tuple[str, int] | None:
    if not token:
        return None
    if re.fullmatch(r"\w+", token):
        pattern = re.compile(r"(?<!\w)" + re.escape(token) + r"(?!\w)", re.IGNORECASE)
    else:
        pattern = re.compile(re.escape(token), re.IGNORECASE)
    match = pattern.search(query)
    if match is None:
        return None
    return (token, match.start())
