"""A connection to a Quiver server over Arrow Flight.

The client speaks the plain-Flight form of Quiver's protocol: a
``FlightDescriptor`` whose command is the UTF-8 SQL text. ``GetFlightInfo``
plans the query and returns one or more endpoints; each endpoint's ticket is
fetched with ``DoGet``. An endpoint without locations is served by the server
that planned the query; an endpoint with locations is fetched from the first
one, through a client that is created once per location and kept until the
connection closes. This keeps the door open for workers that serve their
fragments directly.
"""

from __future__ import annotations

import threading
from types import TracebackType

import pyarrow.flight as flight

from .errors import Error, translate_error
from .result import Result

DEFAULT_URI = "grpc://127.0.0.1:8815"

# Arrow's well-known URI meaning "fetch from the server that sent this endpoint".
_REUSE_CONNECTION = "arrow-flight-reuse-connection://?"


class Connection:
    """Connection runs SQL on one Quiver server.

    Create it with :func:`quiver.connect`. It is a context manager; leaving
    the ``with`` block closes it. A connection may be shared between threads.
    """

    def __init__(self, uri: str = DEFAULT_URI, token: str | None = None) -> None:
        self._uri = uri
        headers: list[tuple[bytes, bytes]] = []
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        self._options = flight.FlightCallOptions(headers=headers)
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._client = flight.FlightClient(uri)
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise translate_error(exc) from exc
        # Clients for endpoint locations other than the planning server, by URI.
        self._peers: dict[str, flight.FlightClient] = {}

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<quiver.Connection {self._uri} {state}>"

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def uri(self) -> str:
        """The server URI this connection was opened with."""
        return self._uri

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def sql(self, query: str) -> Result:
        """Plan ``query`` on the server and return its :class:`Result`.

        Planning errors (unknown table, bad syntax, permissions) are raised
        here; the rows are fetched when the result is consumed.
        """
        self._check_open()
        descriptor = flight.FlightDescriptor.for_command(query.encode("utf-8"))
        try:
            info = self._client.get_flight_info(descriptor, self._options)
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise translate_error(exc) from exc
        return Result(self, query, info)

    def close(self) -> None:
        """Close the connection and every client it opened. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            clients = [self._client, *self._peers.values()]
            self._peers.clear()
        for client in clients:
            try:
                client.close()
            except Exception:  # noqa: BLE001, S110 - closing is best effort.
                pass

    def _do_get(self, endpoint: flight.FlightEndpoint) -> flight.FlightStreamReader:
        self._check_open()
        client = self._client_for(endpoint)
        return client.do_get(endpoint.ticket, self._options)

    def _client_for(self, endpoint: flight.FlightEndpoint) -> flight.FlightClient:
        locations = [_location_uri(loc) for loc in endpoint.locations]
        locations = [uri for uri in locations if uri and uri != _REUSE_CONNECTION]
        if not locations:
            return self._client
        uri = locations[0]
        with self._lock:
            client = self._peers.get(uri)
            if client is None:
                client = flight.FlightClient(uri)
                self._peers[uri] = client
            return client

    def _check_open(self) -> None:
        if self._closed:
            raise Error("connection is closed")


def _location_uri(location: flight.Location | str | bytes) -> str:
    uri = getattr(location, "uri", location)
    if isinstance(uri, bytes):
        return uri.decode("utf-8")
    return str(uri)


def connect(uri: str = DEFAULT_URI, token: str | None = None) -> Connection:
    """Open a :class:`Connection` to the Quiver server at ``uri``.

    ``uri`` is a Flight URI such as ``grpc://127.0.0.1:8815`` (or
    ``grpc+tls://host:port``). ``token`` is sent as ``authorization: Bearer
    <token>`` with every call.
    """
    return Connection(uri, token=token)
