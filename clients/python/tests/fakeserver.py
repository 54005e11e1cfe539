"""An in-process Flight server that stands in for Quiver in unit tests.

It answers any SQL-text descriptor with a fixed table split over several
endpoints (one without locations, one pointing back at itself), turns a few
magic queries into the errors the real server sends, and speaks Quiver's
progress and cancellation actions, and accepts PII detections
(``quiver.detect.accept``: any column of ``crm.people``; ``crm.secret`` is
refused as for a caller who is not an admin):

* ``SELECT slow`` streams one batch every 50 ms for up to 20 s per endpoint,
  until the query is cancelled (then the streams end with CANCELLED);
* ``SELECT skewed`` delays endpoint 0 so later endpoints finish first.

Every FlightInfo carries ``{"query_id": …}`` as app_metadata, like Quiver.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.flight as flight

from quiver import _proto

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
    "SELECT deadline": flight.FlightTimedOutError("query timeout: the query ran longer than 1s (--query-timeout)"),
}

PROGRESS = "quiver.progress"
ACCEPT = "quiver.detect.accept"
CANCEL_FLIGHT_INFO = "CancelFlightInfo"


@dataclass
class Seen:
    """Seen records what the fake received, for assertions."""

    authorization: list[str | None] = field(default_factory=list)
    compression: list[str | None] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    schema_queries: list[str] = field(default_factory=list)
    tickets: list[bytes] = field(default_factory=list)
    progress_polls: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    stopped_streams: list[bytes] = field(default_factory=list)
    accepted: list[dict[str, str]] = field(default_factory=list)
    concurrent: int = 0
    max_concurrent: int = 0
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
        if info.method in (flight.FlightMethod.GET_FLIGHT_INFO, flight.FlightMethod.GET_SCHEMA):
            compression = headers.get("x-quiver-ipc-compression")
            with self._seen.lock:
                self._seen.authorization.append(value)
                self._seen.compression.append(compression[0] if compression else None)
        if self._token is not None and value != f"Bearer {self._token}":
            raise flight.FlightUnauthenticatedError("invalid bearer token")
        return _HeaderMiddleware(value)


class FakeQuiver(flight.FlightServerBase):  # type: ignore[misc]
    """FakeQuiver serves TABLE in ``parts`` endpoints for any SQL text."""

    def __init__(self, parts: int = 3, token: str | None = None, actions: bool = True) -> None:
        self.seen = Seen()
        super().__init__(
            "grpc://127.0.0.1:0",
            middleware={"auth": _HeaderFactory(self.seen, token)},
        )
        self.uri = f"grpc://127.0.0.1:{self.port}"
        self._parts = parts
        self._actions = actions
        self._next_id = 0
        self._done: dict[str, int] = {}
        self._cancel_events: dict[str, threading.Event] = {}

    def get_schema(self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor) -> flight.SchemaResult:
        query = descriptor.command.decode("utf-8")
        with self.seen.lock:
            self.seen.schema_queries.append(query)
        # pyarrow's server turns exceptions raised here into UNKNOWN, so the
        # magic queries fail in GetFlightInfo, when the result is fetched.
        return flight.SchemaResult(TABLE.schema)

    def get_flight_info(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        query = descriptor.command.decode("utf-8")
        with self.seen.lock:
            self.seen.queries.append(query)
            self._next_id += 1
            qid = f"q{self._next_id}"
            self._done[qid] = 0
            self._cancel_events[qid] = threading.Event()
        if query in ERRORS:
            raise ERRORS[query]
        endpoints = []
        for i in range(self._parts):
            # Even endpoints come back here implicitly, odd ones name this server.
            locations = [self.uri] if i % 2 else []
            endpoints.append(flight.FlightEndpoint(f"{query}|{i}|{qid}".encode(), locations))
        meta = json.dumps({"query_id": qid}).encode()
        rows = TABLE.num_rows
        return flight.FlightInfo(TABLE.schema, descriptor, endpoints, rows, -1, ordered=True, app_metadata=meta)

    def do_get(self, context: flight.ServerCallContext, ticket: flight.Ticket) -> flight.RecordBatchStream:
        with self.seen.lock:
            self.seen.tickets.append(ticket.ticket)
        query, part, qid = ticket.ticket.decode().rsplit("|", 2)
        return flight.GeneratorStream(TABLE.schema, self._slices(context, query, int(part), qid, ticket.ticket))

    def _slices(
        self, context: flight.ServerCallContext, query: str, part: int, qid: str, ticket: bytes
    ) -> Iterator[pa.RecordBatch]:
        with self.seen.lock:
            self.seen.concurrent += 1
            self.seen.max_concurrent = max(self.seen.max_concurrent, self.seen.concurrent)
        try:
            if query == "SELECT slow":
                yield from self._slow(context, part, qid, ticket)
                return
            if query == "SELECT skewed" and part == 0:
                time.sleep(0.4)
            # Part i gets rows i, i+parts, ...; every row is served exactly once.
            for row in range(part, TABLE.num_rows, self._parts):
                if query == "SELECT skewed":
                    time.sleep(0.05)
                yield TABLE.slice(row, 1).to_batches()[0]
            with self.seen.lock:
                self._done[qid] += 1
        finally:
            with self.seen.lock:
                self.seen.concurrent -= 1

    def _slow(self, context: flight.ServerCallContext, part: int, qid: str, ticket: bytes) -> Iterator[pa.RecordBatch]:
        cancelled = self._cancel_events[qid]
        deadline = time.monotonic() + 20
        ran_out = False
        try:
            while not (context.is_cancelled() or cancelled.is_set()):
                if time.monotonic() > deadline:
                    ran_out = True
                    return
                yield TABLE.slice(part, 1).to_batches()[0]
                time.sleep(0.05)
            if cancelled.is_set():
                raise flight.FlightCancelledError(f"query {qid} was cancelled")
        finally:
            # Also reached when the server drops the generator because the
            # client went away (it is closed at its pending yield).
            if not ran_out:
                with self.seen.lock:
                    self.seen.stopped_streams.append(ticket)

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        if not self._actions:
            return []
        return [(PROGRESS, "progress of a query"), (CANCEL_FLIGHT_INFO, "cancel a query")]

    def do_action(self, context: flight.ServerCallContext, action: flight.Action) -> Iterator[bytes]:
        body = action.body.to_pybytes()
        if not self._actions:
            raise flight.FlightServerError(f"unknown action {action.type}")
        if action.type == PROGRESS:
            qid = body.decode()
            with self.seen.lock:
                self.seen.progress_polls.append(qid)
                done = self._done.get(qid)
            if done is None:
                raise KeyError(f"query {qid} not found")
            report = {
                "query_id": qid,
                "state": "finished" if done == self._parts else "running",
                "fragments_total": self._parts,
                "fragments_done": done,
                "rows": 0,
                "bytes": 0,
                "elapsed_ms": 1,
            }
            return iter([json.dumps(report).encode()])
        if action.type == CANCEL_FLIGHT_INFO:
            # CancelFlightInfoRequest { FlightInfo info = 1; }
            info = flight.FlightInfo.deserialize(_proto.bytes_fields(body)[1])
            qid = json.loads(info.app_metadata)["query_id"]
            with self.seen.lock:
                self.seen.cancelled.append(qid)
                event = self._cancel_events.get(qid)
            if event is not None:
                event.set()
            return iter([b"\x08\x01"])  # CancelFlightInfoResult{status: CANCELLED}
        if action.type == ACCEPT:
            request = json.loads(body)
            with self.seen.lock:
                self.seen.accepted.append(request)
            schema, _, table = request["table"].partition(".")
            if (schema, table) == ("crm", "secret"):
                raise flight.FlightUnauthorizedError(
                    "accepting detections is for admins: the caller is not in --admin-role"
                )
            if (schema, table) != ("crm", "people"):
                raise KeyError(f"no such detection: nothing was detected in quiver.{request['table']}")
            acceptance = {
                "catalog": "quiver",
                "schema": schema,
                "table": table,
                "column": request["column"].lower(),
                "kind": request.get("kind", "email"),
                "accepted_by": "fake",
                "accepted_at": "2026-01-02T03:04:05Z",
            }
            return iter([json.dumps(acceptance).encode()])
        raise flight.FlightServerError(f"unknown action {action.type}")
