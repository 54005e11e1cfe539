"""Exceptions raised by the Quiver client.

Every error that crosses the wire is re-raised as one of these classes, so
callers never need to import ``pyarrow.flight`` to handle a failed query. The
server's own message is kept (without pyarrow's "gRPC returned ..." wrapper) in
``message``, the gRPC status name in ``code``, and the original pyarrow
exception is chained as ``__cause__``.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.flight as flight

__all__ = [
    "Error",
    "QueryError",
    "NotFoundError",
    "PermissionError",
    "AuthenticationError",
    "UnavailableError",
    "CancelledError",
    "translate_error",
]


class Error(Exception):
    """Error is the base class of every exception raised by the client.

    ``code`` is the gRPC status name reported by the server (for example
    ``"NOT_FOUND"``), or ``None`` when the error happened on the client side.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class QueryError(Error):
    """QueryError means the server rejected the query (syntax, types, limits)."""


class NotFoundError(QueryError):
    """NotFoundError means the query names a table or column that does not exist."""


class PermissionError(Error):  # noqa: A001 - deliberately mirrors the builtin name inside quiver.
    """PermissionError means the principal may not run this query."""


class AuthenticationError(PermissionError):
    """AuthenticationError means the token is missing, expired or invalid."""


class UnavailableError(Error):
    """UnavailableError means the server or its storage is unreachable; retrying may help."""


class CancelledError(Error):
    """CancelledError means the query was cancelled or ran past its deadline."""


# pyarrow prefixes the server's message with a description of the status code
# ("gRPC returned not found error, with message: " or "Flight returned
# unavailable error, with message: ") and may append the code again
# ("... Detail: NotFound"); both are noise for a user.
_GRPC_PREFIX = re.compile(r"^(?:gRPC|Flight) returned [a-z ]+ error, with message: ", re.IGNORECASE)
_DETAIL_SUFFIX = re.compile(r"\. Detail: [A-Za-z]+$")
_CLIENT_CONTEXT_SUFFIX = re.compile(r"\. gRPC client debug context: .*$", re.DOTALL)


def _server_message(exc: BaseException) -> str:
    text = str(exc).strip()
    text = _CLIENT_CONTEXT_SUFFIX.sub("", text)
    text = _GRPC_PREFIX.sub("", text)
    text = _DETAIL_SUFFIX.sub("", text)
    return text


def translate_error(exc: BaseException) -> BaseException:
    """Return the quiver exception for an error raised by pyarrow.flight.

    Exceptions that do not come from the transport (for example a
    ``KeyboardInterrupt``) are returned unchanged so the caller can re-raise
    them as they are.
    """
    if isinstance(exc, Error):
        return exc
    message = _server_message(exc)
    # The order matters: the Flight classes are subclasses of ArrowException.
    mapping: list[tuple[type[BaseException], type[Error], str]] = [
        (flight.FlightUnauthenticatedError, AuthenticationError, "UNAUTHENTICATED"),
        (flight.FlightUnauthorizedError, PermissionError, "PERMISSION_DENIED"),
        (flight.FlightUnavailableError, UnavailableError, "UNAVAILABLE"),
        (flight.FlightTimedOutError, CancelledError, "DEADLINE_EXCEEDED"),
        (flight.FlightCancelledError, CancelledError, "CANCELLED"),
        (flight.FlightInternalError, Error, "INTERNAL"),
        (flight.FlightServerError, Error, "UNKNOWN"),
        # gRPC NOT_FOUND arrives as Arrow's KeyError, INVALID_ARGUMENT (and
        # FAILED_PRECONDITION, OUT_OF_RANGE, RESOURCE_EXHAUSTED) as ArrowInvalid.
        (pa.ArrowKeyError, NotFoundError, "NOT_FOUND"),
        (pa.ArrowInvalid, QueryError, "INVALID_ARGUMENT"),
        (pa.ArrowNotImplementedError, QueryError, "UNIMPLEMENTED"),
        (flight.FlightError, Error, "UNKNOWN"),
        (pa.ArrowException, Error, "UNKNOWN"),
    ]
    for source, target, code in mapping:
        if isinstance(exc, source):
            err = target(message, code)
            err.__cause__ = exc
            return err
    return exc
