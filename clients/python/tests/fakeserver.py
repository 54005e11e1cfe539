"""An in-process Flight server that stands in for Quiver in unit tests.

It answers any SQL-text descriptor with a fixed table split over several
endpoints (one without locations, one pointing back at itself), and turns a
few magic queries into the errors the real server sends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.flight as flight

TABLE = pa.table(
    {
        "id": pa.array(range(10), pa.int64()),
        "name": pa.array([f"n{i}" for i in range(10)], pa.string()),
        "score": pa.array([i / 4 if i % 3 else None for i in range(10)], pa.float64()),
    }
)

# Magic queries: SQL text → the exception the fake raises while planning.
ERRORS: dict[str, Exception] = {
    "SELECT * FROM demo.nope": KeyError("Catalog Error: Table with name demo.nope does not exist"),
    "SELEC 1": pa.ArrowInvalid('Parser Error: syntax error at or near "SELEC"'),
    "SELECT secret": flight.FlightUnauthorizedError("access to table secret denied"),
    "SELECT s3": flight.FlightUnavailableError("s3 endpoint http://127.0.0.1:1 unreachable"),
}


@dataclass
class Seen:
    """Seen records what the fake received, for assertions."""

    authorization: list[str | None] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    tickets: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _HeaderMiddleware(flight.ServerMiddleware):  # type: ignore[misc]
    def __init__(self, value: str | None) -> None:
        self.value = value


class _HeaderFactory(flight.ServerMiddlewareFactory):  # type: ignore[misc]
    def __init__(self, seen: Seen, token: str | None) -> None:
        self._seen = seen
        self._token = token

    def start_call(self, info: flight.CallInfo, headers: dict[str, list[str]]) -> _HeaderMiddleware:
        values = headers.get("authorization")
        value = values[0] if values else None
        with self._seen.lock:
            self._seen.authorization.append(value)
        if self._token is not None and value != f"Bearer {self._token}":
            raise flight.FlightUnauthenticatedError("invalid bearer token")
        return _HeaderMiddleware(value)


class FakeQuiver(flight.FlightServerBase):  # type: ignore[misc]
    """FakeQuiver serves TABLE in ``parts`` endpoints for any SQL text."""

    def __init__(self, parts: int = 3, token: str | None = None) -> None:
        self.seen = Seen()
        super().__init__(
            "grpc://127.0.0.1:0",
            middleware={"auth": _HeaderFactory(self.seen, token)},
        )
        self.uri = f"grpc://127.0.0.1:{self.port}"
        self._parts = parts

    def get_flight_info(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        query = descriptor.command.decode("utf-8")
        with self.seen.lock:
            self.seen.queries.append(query)
        if query in ERRORS:
            raise ERRORS[query]
        endpoints = []
        for i in range(self._parts):
            # Even endpoints come back here implicitly, odd ones name this server.
            locations = [self.uri] if i % 2 else []
            endpoints.append(flight.FlightEndpoint(f"{query}|{i}".encode(), locations))
        return flight.FlightInfo(TABLE.schema, descriptor, endpoints, TABLE.num_rows, -1)

    def do_get(self, context: flight.ServerCallContext, ticket: flight.Ticket) -> flight.RecordBatchStream:
        with self.seen.lock:
            self.seen.tickets.append(ticket.ticket)
        _, part = ticket.ticket.decode().rsplit("|", 1)
        return flight.GeneratorStream(TABLE.schema, self._slices(int(part)))

    def _slices(self, part: int) -> Iterator[pa.RecordBatch]:
        # Part i gets rows i, i+parts, ...; every row is served exactly once.
        rows = list(range(part, TABLE.num_rows, self._parts))
        for row in rows:
            yield TABLE.slice(row, 1).to_batches()[0]
