"""Fetching a query with nothing but pyarrow.flight (not the quiver package).

This is what any third-party Flight client does with Quiver's plain-Flight
form: a descriptor whose command is the SQL text, then DoGet on every
endpoint's ticket — on the same server when the endpoint lists no location.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.flight as flight

_REUSE = "arrow-flight-reuse-connection://?"


@dataclass
class FlightFetch:
    """FlightFetch is a fetched result plus what the FlightInfo declared."""

    declared_schema: pa.Schema | None
    table: pa.Table
    num_endpoints: int


@dataclass
class RawFlight:
    """RawFlight is a FlightClient plus the clients of the endpoint locations it met."""

    uri: str
    timeout: float | None = None
    token: str | None = None
    client: flight.FlightClient = field(init=False)
    peers: dict[str, flight.FlightClient] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.client = flight.FlightClient(self.uri)

    def close(self) -> None:
        """Close every client."""
        for c in [self.client, *self.peers.values()]:
            c.close()
        self.peers.clear()

    def plan(self, sql: str) -> flight.FlightInfo:
        """GetFlightInfo for a SQL-text descriptor."""
        descriptor = flight.FlightDescriptor.for_command(sql.encode("utf-8"))
        return self.client.get_flight_info(descriptor, self._options())

    def open(self, endpoint: flight.FlightEndpoint) -> flight.FlightStreamReader:
        """DoGet one endpoint's ticket from the right server."""
        locations = [loc for loc in (_location(x) for x in endpoint.locations) if loc]
        target = self.client
        if locations:
            target = self.peers.get(locations[0]) or flight.FlightClient(locations[0])
            self.peers[locations[0]] = target
        return target.do_get(endpoint.ticket, self._options())

    def batches(self, info: flight.FlightInfo) -> Iterator[pa.RecordBatch]:
        """Yield every batch of every endpoint of ``info`` in endpoint order."""
        for endpoint in info.endpoints:
            for chunk in self.open(endpoint):
                if chunk.data is not None:
                    yield chunk.data

    def _options(self) -> flight.FlightCallOptions:
        headers = [(b"authorization", f"Bearer {self.token}".encode())] if self.token else []
        return flight.FlightCallOptions(timeout=self.timeout, headers=headers)


def _location(location: flight.Location) -> str | None:
    uri = location.uri
    text = uri.decode() if isinstance(uri, bytes) else str(uri)
    return None if text in ("", _REUSE) else text


def flight_fetch(uri: str, sql: str, timeout: float | None = None, token: str | None = None) -> FlightFetch:
    """Run ``sql`` through a SQL-text descriptor and concatenate every endpoint (as ``token``'s bearer)."""
    raw = RawFlight(uri, timeout, token)
    try:
        info = raw.plan(sql)
        try:
            declared: pa.Schema | None = info.schema
        except Exception:  # noqa: BLE001 - reported as "no declared schema".
            declared = None
        tables = [raw.open(endpoint).read_all() for endpoint in info.endpoints]
    finally:
        raw.close()
    if not tables:
        if declared is None:
            raise AssertionError(f"query {sql!r}: FlightInfo has no endpoints and no schema")
        return FlightFetch(declared, declared.empty_table(), 0)
    first = tables[0].schema
    for i, t in enumerate(tables[1:], start=1):
        if not t.schema.equals(first):
            raise AssertionError(f"query {sql!r}: endpoint {i} schema {t.schema} differs from endpoint 0 {first}")
    return FlightFetch(declared, pa.concat_tables(tables), len(tables))
