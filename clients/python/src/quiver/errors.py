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

The names of the first client release (``NotFoundError``, ``PermissionError``,
``UnavailableError``, ``CancelledError``) remain as aliases.
"""

from __future__ import annotations

import re

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
    "NotFoundError",
    "PermissionError",
    "UnavailableError",
    "CancelledError",
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


class QueryError(Error):
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


class AuthenticationError(Error):
    """AuthenticationError means the credentials are missing, expired or invalid."""


class PermissionDenied(Error):
    """PermissionDenied means the principal may not run this query or read this table."""


class Unavailable(Error):
    """Unavailable means the server, its workers or its storage are unreachable or busy; retry later."""

    retriable = True


class Cancelled(Error):
    """Cancelled means the query was cancelled (by the user, or the server stopping)."""


class Timeout(Cancelled):
    """Timeout means the query ran past its deadline and was stopped."""


class ResourceExhausted(Error):
    """ResourceExhausted means the query hit a limit: result size, memory, partial results."""


# Names of the first release.
NotFoundError = NotFound
PermissionError = PermissionDenied  # noqa: A001 - deliberately mirrors the builtin name inside quiver.
UnavailableError = Unavailable
CancelledError = Cancelled

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
    cls = _CLASSES.get(code, Error)
    err: Error = cls(message, code, query) if issubclass(cls, QueryError) else cls(message, code)
    err.transport_error = exc
    return err


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
    return sum(len(l) + 1 for l in lines[: line - 1]) + start + column


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
