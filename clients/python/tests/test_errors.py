from __future__ import annotations

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
            quiver.NotFoundError,
            "NOT_FOUND",
            "table demo.nope not found",
        ),
        (
            pa.ArrowInvalid("gRPC returned invalid argument error, with message: Parser Error: x"),
            quiver.QueryError,
            "INVALID_ARGUMENT",
            "Parser Error: x",
        ),
        (flight.FlightUnavailableError("down"), quiver.UnavailableError, "UNAVAILABLE", "down"),
        (
            flight.FlightUnavailableError(
                "Flight returned unavailable error, with message: list s3://b/p at http://h:1"
            ),
            quiver.UnavailableError,
            "UNAVAILABLE",
            "list s3://b/p at http://h:1",
        ),
        (flight.FlightUnauthorizedError("no"), quiver.PermissionError, "PERMISSION_DENIED", "no"),
        (flight.FlightUnauthenticatedError("who"), quiver.AuthenticationError, "UNAUTHENTICATED", "who"),
        (flight.FlightTimedOutError("slow"), quiver.CancelledError, "DEADLINE_EXCEEDED", "slow"),
        (flight.FlightCancelledError("stop"), quiver.CancelledError, "CANCELLED", "stop"),
        (flight.FlightInternalError("bug"), quiver.Error, "INTERNAL", "bug"),
    ],
)
def test_translate_error(exc: Exception, expected: type[quiver.Error], code: str, message: str) -> None:
    err = translate_error(exc)
    assert type(err) is expected
    assert isinstance(err, quiver.Error)
    assert err.code == code
    assert err.message == message
    assert err.__cause__ is exc


def test_translate_error_leaves_other_exceptions() -> None:
    exc = KeyboardInterrupt()
    assert translate_error(exc) is exc


def test_not_found_is_a_query_error() -> None:
    assert issubclass(quiver.NotFoundError, quiver.QueryError)
