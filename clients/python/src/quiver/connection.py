"""A connection to a Quiver server over Arrow Flight.

The client speaks two forms of Quiver's protocol through ``pyarrow.flight``:

* a ``FlightDescriptor`` whose command is the UTF-8 SQL text, for queries
  without parameters (one ``GetFlightInfo``), and
* Flight SQL prepared statements for queries with parameters
  (``CreatePreparedStatement``, a ``DoPut`` of one parameter row, then
  ``GetFlightInfo``), so values are bound by the server and never formatted
  into the SQL.

``GetFlightInfo`` plans the query and returns one or more endpoints; each
endpoint's ticket is fetched with ``DoGet``, concurrently (see
:mod:`quiver._fetch`). An endpoint without locations is served by the server
that planned the query; an endpoint with locations is fetched from the first
one, through a client created once per location and kept until the
connection closes. One :class:`Connection` holds one gRPC channel and reuses it
for every query; it may be shared between threads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from . import _proto
from .errors import Error, translate_error
from .options import (
    COMPRESSIONS,
    DEFAULT_URI,
    URI_FORMS,
    URI_SCHEMES,
    Certificate,
    Compression,
    Decimals,
    Progress,
    resolve,
)

if TYPE_CHECKING:
    import pandas
    from typing_extensions import Unpack

    from .catalog import Table
    from .options import ConnectOptions
    from .result import Result

# Declared in quiver.options; still importable from here.
__all__ = [
    "COMPRESSIONS",
    "COMPRESSION_HEADER",
    "DEFAULT_URI",
    "URI_SCHEMES",
    "Certificate",
    "Compression",
    "Connection",
    "Progress",
    "connect",
    "params_batch",
]

# Arrow's well-known URI meaning "fetch from the server that sent this endpoint".
_REUSE_CONNECTION = "arrow-flight-reuse-connection://?"

# Quiver's own Flight actions (see README, "Progress and cancellation").
PROGRESS_ACTION = "quiver.progress"
CANCEL_ACTION = "quiver.cancel"
SEARCH_ACTION = "quiver.search"
DETECT_ACTION = "quiver.detect.run"
ACCEPT_ACTION = "quiver.detect.accept"
CANCEL_FLIGHT_INFO = "CancelFlightInfo"

COMPRESSION_HEADER = "x-quiver-ipc-compression"

# What tables() lists (as a pyarrow.Table without pandas).
# The Parquet warehouse's catalog; Iceberg catalogs have names of their own.
_WAREHOUSE_CATALOG = "quiver"

_TABLES_SCHEMA = pa.schema([("schema", pa.string()), ("table", pa.string()), ("columns", pa.list_(pa.string()))])

# What search() returns (as a pyarrow.Table without pandas).
_SEARCH_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("name", pa.string()),
        ("type", pa.string()),
        ("description", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("score", pa.float64()),
        ("matched", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class Prepared:
    """Prepared is an open Flight SQL prepared statement."""

    handle: bytes
    dataset_schema: pa.Schema | None
    parameter_schema: pa.Schema | None


class Connection:
    """Connection runs SQL on one Quiver server.

    Create it with :func:`quiver.connect`. It is a context manager; leaving
    the ``with`` block closes it. One connection holds one gRPC channel that
    every query reuses, and may be shared between threads.
    """

    def __init__(self, uri: str | None = None, **options: Unpack[ConnectOptions]) -> None:
        settings = resolve(uri, options)
        opts = settings.options
        self._uri = settings.uri
        self.progress: Progress = opts["progress"]
        #: Seconds a fetch runs before its progress bar appears.
        self.progress_delay = 0.5
        self.max_streams = opts["max_streams"]
        #: Rows a result's notebook display fetches; see :meth:`quiver.Result.head`.
        self.preview_rows = opts["preview_rows"]
        #: What ``to_pandas()`` makes of DECIMAL columns: ``"decimal"`` or ``"float"``.
        self.decimals: Decimals = opts["decimals"]
        # The PEM options are named as FlightClient's arguments.
        self._client_kwargs: dict[str, Any] = dict(settings.pems)
        self._lock = threading.Lock()
        self._closed = False
        self._actions: frozenset[str] | None = None
        # Clients for endpoint locations other than the planning server, by URI.
        self._peers: dict[str, flight.FlightClient] = {}
        try:
            self._client = flight.FlightClient(self._uri, **self._client_kwargs)
        except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
            raise ValueError(f"uri {self._uri!r}: want {URI_FORMS} ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc) from None
        self._headers: list[tuple[bytes, bytes]] = []
        compression, token = opts["compression"], opts["token"]
        username, password = opts["username"], opts["password"]
        if compression is not None:
            self._headers.append((COMPRESSION_HEADER.encode(), compression.encode()))
        if token:
            self._headers.append((b"authorization", f"Bearer {token}".encode()))
        elif username is not None and password is not None:
            try:
                # Basic credentials on the handshake; the server answers with a bearer token.
                key, value = self._client.authenticate_basic_token(username, password)
            except Exception as exc:  # noqa: BLE001 - translated and re-raised.
                self._client.close()
                raise _translated(exc) from None
            self._headers.append((_as_bytes(key), _as_bytes(value)))

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

    def sql(self, query: str, params: Sequence[object] | None = None) -> Result:
        """Check ``query`` with the server and return its lazy :class:`~quiver.Result`.

        ``params`` are positional parameters for ``?`` or ``$1, $2, …``
        placeholders; they are bound by the server through a Flight SQL
        prepared statement, never formatted into the SQL. Python ``None``,
        ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``Decimal``,
        ``date`` and ``datetime`` values are sent as the matching Arrow types.

        The server checks the query and types its result here, so bad SQL,
        unknown tables and refusals are raised at once; the query runs when
        the result is consumed with ``to_arrow()``, ``to_pandas()``,
        ``to_polars()`` or ``to_batches()``.
        """
        from .result import Result

        self._check_open()
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if params is not None and (isinstance(params, Mapping) or isinstance(params, (str, bytes))):
            raise TypeError("params must be a sequence of positional values (for ? or $1, $2, …)")
        return Result(self, query, list(params) if params is not None else None)

    def tables(self, schema: str | None = None) -> pandas.DataFrame | pa.Table:
        """List the tables, with columns ``schema``, ``table``, ``columns``.

        ``columns`` holds each table's column names in order. An Iceberg
        table's ``schema`` is its catalog and namespace (``lake.sales``), so
        ``schema + "." + table`` is always its name in SQL. ``schema``
        restricts the listing to one schema (``"lake.sales"`` to a
        namespace); ``tables("system")`` lists the
        server's system tables (``system.queries``, …), which are otherwise
        left out. The listing is a pandas DataFrame when pandas is installed
        and otherwise a ``pyarrow.Table`` with the same columns (``columns``
        a list of strings), as the ``%%quiver`` magic shows a result without
        pandas.
        """
        rows = [(s, t, list(sch.names)) for s, t, sch in self._table_listing(schema)]
        try:
            import pandas
        except ImportError:
            columns = {"schema": [r[0] for r in rows], "table": [r[1] for r in rows], "columns": [r[2] for r in rows]}
            return pa.table(columns, schema=_TABLES_SCHEMA)
        return pandas.DataFrame(rows, columns=_TABLES_SCHEMA.names)

    def search(self, text: str, limit: int = 20) -> pandas.DataFrame | pa.Table:
        """Find the tables and columns you may see by name, description and tags, best first.

        Typos are forgiven (``"revnue"`` finds ``revenue``) and a word may be
        the start of a name (``"invo"`` finds ``invoices``). Columns:
        ``kind`` (``table`` or ``column``), ``name`` (``schema.table`` or
        ``schema.table.column``, with the catalog for Iceberg tables, as SQL
        names them), ``type``, ``description``, ``tags``, ``score`` and
        ``matched`` (where the words matched: ``name``, ``tags``, ``table``,
        ``description``). A pandas DataFrame when pandas is installed,
        otherwise a ``pyarrow.Table``.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"search(limit): want an int from 1 to 1000, got {limit!r}")
        self._check_open()
        action = flight.Action(SEARCH_ACTION, json.dumps({"text": text, "limit": limit}).encode())
        try:
            results = list(self._client.do_action(action, self._options()))
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc) from None
        hits = json.loads(results[0].body.to_pybytes())["hits"] if results else []
        rows = [
            {
                "kind": h["kind"],
                "name": _hit_name(h),
                "type": h.get("type"),
                "description": h.get("description"),
                "tags": h.get("tags") or [],
                "score": float(h["score"]),
                "matched": h.get("matched") or [],
            }
            for h in hits
        ]
        table = pa.Table.from_pylist(rows, schema=_SEARCH_SCHEMA)
        try:
            import pandas  # noqa: F401 - to_pandas needs it
        except ImportError:
            return table
        return table.to_pandas()

    def lineage(self, column: str | None = None, *, query_id: str | None = None) -> pandas.DataFrame | pa.Table:
        """Who read what: the rows of ``system.lineage`` for a source column or a query.

        ``column`` is ``"schema.table.column"`` (``"catalog.schema.table.column"``
        for an Iceberg table); ``query_id`` narrows to one query (the id
        ``system.queries`` shows). Each row is one source column of a
        query's result: ``output_column`` (NULL for columns that only
        filter, join, group or sort), ``kind`` (``identity``,
        ``expression``, ``aggregate``, ``filter``, ``join``, ``group_by``,
        ``sort``, ``window``), ``policy`` (reached through your policy's
        mask or read by its row filter), with the query's ``principal``
        and, for report runs, the ``report``, ``run_id`` and the
        ``output_dataset`` it published. Admins see every query's lineage,
        others their own. A pandas DataFrame when pandas is installed,
        otherwise a ``pyarrow.Table``.
        """
        where: list[str] = []
        params: list[object] = []
        if column is not None:
            parts = column.split(".")
            if len(parts) == 3:
                parts = [_WAREHOUSE_CATALOG, *parts]
            if len(parts) != 4 or not all(parts):
                raise ValueError(
                    f"lineage(column): want 'schema.table.column' or 'catalog.schema.table.column', got {column!r}"
                )
            for field, value in zip(("catalog", "schema", "table", "column"), parts, strict=True):
                where.append(f"lower(source_{field}) = lower(?)")
                params.append(value)
        if query_id is not None:
            where.append("query_id = ?")
            params.append(query_id)
        sql = "SELECT * FROM system.lineage"
        if where:
            sql += " WHERE " + " AND ".join(where)
        result = self.sql(sql + " ORDER BY submitted, query_id, output_column NULLS LAST", params or None)
        try:
            import pandas  # noqa: F401 - to_pandas needs it
        except ImportError:
            return result.to_arrow()
        return result.to_pandas()

    def detections(self) -> pandas.DataFrame | pa.Table:
        """The latest PII detection run's findings: the rows of ``system.detections``.

        One row per column found to hold personal data, among the tables
        and columns you may see: ``kind`` (``email``, ``phone``,
        ``payment_card``, ``iban``, ``national_id``, ``ip_address``,
        ``person_name``, ``birth_date``, ``address``), ``confidence``,
        ``method`` (``values``, ``name`` or both), ``rows_sampled``,
        ``rows_matched``, ``status`` (``suggested`` until the catalog
        tags the column with ``tag``, then ``accepted``) and
        ``detected_at``. Never a sampled value. A pandas DataFrame when
        pandas is installed, otherwise a ``pyarrow.Table``.
        """
        result = self.sql("SELECT * FROM system.detections ORDER BY catalog_name, schema_name, table_name, column_name")
        try:
            import pandas  # noqa: F401 - to_pandas needs it
        except ImportError:
            return result.to_arrow()
        return result.to_pandas()

    def detect(self) -> dict[str, Any]:
        """Run the PII detection job now (admins only) and return its summary.

        The server samples every table and replaces ``system.detections``;
        the summary has ``tables``, ``columns``, ``findings``, ``seconds``
        and ``failed`` (tables that could not be sampled, with why).
        """
        self._check_open()
        try:
            results = list(self._client.do_action(flight.Action(DETECT_ACTION, b""), self._options()))
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc) from None
        summary: dict[str, Any] = json.loads(results[0].body.to_pybytes()) if results else {}
        return summary

    def accept_detection(self, table: str, column: str, kind: str | None = None) -> dict[str, Any]:
        """Accept a detection (admins only): tag its column ``pii:<kind>`` and return the acceptance.

        ``table`` is ``"schema.table"`` (``"catalog.namespace.table"`` for an
        Iceberg table) and ``column`` a column the latest run found
        personal data in (see :meth:`detections`); names match in any
        case. ``kind`` replaces the finding's kind (``email``, ``phone``,
        …) when the detector guessed wrong. From the next query on, the
        policy's tag masks (``mask_tags: {"pii:*": …}``) apply to the
        column as to one tagged in the catalog file, and
        ``system.detections`` shows it ``accepted``. The acceptance has
        ``catalog``, ``schema``, ``table``, ``column``, ``kind``,
        ``accepted_by`` and ``accepted_at`` (RFC 3339, UTC). Raises
        :class:`quiver.PermissionDenied` for a caller who is not an admin,
        :class:`quiver.NotFound` when nothing was detected in the column,
        and :class:`quiver.QueryError` for a table name of one part or a
        kind the detector does not know.
        """
        request = {"table": table, "column": column}
        if kind is not None:
            request["kind"] = kind
        for field, value in request.items():
            if not isinstance(value, str):
                raise TypeError(f"accept_detection({field}): want a str, got {type(value).__name__}")
            if not value.strip():
                raise ValueError(f"accept_detection({field}): want a name, got {value!r}")
        self._check_open()
        action = flight.Action(ACCEPT_ACTION, json.dumps(request).encode())
        try:
            results = list(self._client.do_action(action, self._options()))
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc) from None
        accepted: dict[str, Any] = json.loads(results[0].body.to_pybytes()) if results else {}
        return accepted

    def violations(self) -> pandas.DataFrame | pa.Table:
        """Personal data some principal reads unmasked: the rows of ``system.violations``.

        One row per PII column (tagged ``pii:<kind>`` in the catalog file
        or by :meth:`accept_detection`, or a detection still suggested)
        that a principal the policy can name reads unmasked, and per
        report column that published one: ``violation``
        (``readable_unmasked`` or ``published``), ``catalog_name``,
        ``schema_name``, ``table_name``, ``column_name``, ``pii`` (the
        kinds), ``evidence`` (``tag`` or ``detection_suggested``),
        ``principal`` (a role, a subject or ``anyone``, for
        ``readable_unmasked``), and for ``published`` the ``report`` and
        the output column it was ``published_as``. Admins see every row,
        others none. A pandas DataFrame when pandas is installed,
        otherwise a ``pyarrow.Table``.
        """
        result = self.sql(
            "SELECT * FROM system.violations ORDER BY violation, catalog_name, schema_name, table_name, column_name,"
            " principal NULLS LAST, report NULLS LAST, published_as NULLS LAST"
        )
        try:
            import pandas  # noqa: F401 - to_pandas needs it
        except ImportError:
            return result.to_arrow()
        return result.to_pandas()

    def table(self, name: str) -> Table:
        """Return the :class:`~quiver.Table` ``name`` (``"demo.plays"`` or ``"quiver.demo.plays"``).

        Raises :class:`quiver.NotFound` when it does not exist.
        """
        from .catalog import Table

        self._check_open()
        return Table(self, name)

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

    # --- used by Result, Table and the fetcher -------------------------------

    def _options(self, timeout: float | None = None) -> flight.FlightCallOptions:
        return flight.FlightCallOptions(headers=self._headers, timeout=timeout)

    def _plan(self, query: str, prepared: Prepared | None = None) -> flight.FlightInfo:
        """GetFlightInfo for SQL text, or for an open prepared statement."""
        self._check_open()
        if prepared is None:
            descriptor = flight.FlightDescriptor.for_command(query.encode("utf-8"))
        else:
            descriptor = flight.FlightDescriptor.for_command(_proto.prepared_query(prepared.handle))
        try:
            return self._client.get_flight_info(descriptor, self._options())
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc, query) from None

    def _schema_of(self, query: str) -> pa.Schema:
        """The result schema of ``query`` without running it (GetSchema)."""
        self._check_open()
        descriptor = flight.FlightDescriptor.for_command(query.encode("utf-8"))
        try:
            return self._client.get_schema(descriptor, self._options()).schema
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc, query) from None

    def _prepare(self, query: str) -> Prepared:
        """CreatePreparedStatement; the caller closes the handle with :meth:`_close_prepared`."""
        self._check_open()
        action = flight.Action("CreatePreparedStatement", _proto.create_prepared_request(query))
        try:
            results = list(self._client.do_action(action, self._options()))
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc, query) from None
        if len(results) != 1:
            raise Error(f"CreatePreparedStatement returned {len(results)} results, want 1")
        try:
            body = _proto.unpack_any(results[0].body.to_pybytes(), _proto.CREATE_PREPARED_RESULT)
            parts = _proto.bytes_fields(body)
        except ValueError as exc:
            raise Error(f"undecodable CreatePreparedStatement result: {exc}") from None
        return Prepared(parts.get(1, b""), _read_schema(parts.get(2)), _read_schema(parts.get(3)))

    def _bind(self, prepared: Prepared, params: Sequence[object], query: str) -> None:
        """DoPut one row of parameters to a prepared statement."""
        batch = params_batch(params)
        descriptor = flight.FlightDescriptor.for_command(_proto.prepared_query(prepared.handle))
        try:
            writer, reader = self._client.do_put(descriptor, batch.schema, self._options())
            try:
                writer.write_batch(batch)
                writer.done_writing()
                reader.read()  # the server's DoPutPreparedStatementResult; the handle stays the same
            finally:
                writer.close()
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc, query) from None

    def _close_prepared(self, prepared: Prepared) -> None:
        """ClosePreparedStatement, best effort (the server forgets handles after an hour anyway)."""
        if self._closed:
            return
        action = flight.Action("ClosePreparedStatement", _proto.close_prepared_request(prepared.handle))
        try:
            list(self._client.do_action(action, self._options(timeout=10)))
        except Exception:  # noqa: BLE001, S110 - closing is best effort.
            pass

    def _do_get(self, endpoint: flight.FlightEndpoint) -> flight.FlightStreamReader:
        self._check_open()
        client = self._client_for(endpoint)
        return client.do_get(endpoint.ticket, self._options())

    def _client_for(self, endpoint: flight.FlightEndpoint) -> flight.FlightClient:
        locations = [_location_uri(loc) for loc in endpoint.locations]
        locations = [uri for uri in locations if uri and uri != _REUSE_CONNECTION]
        if not locations:
            return self._client
        uri = locations[0]
        with self._lock:
            client = self._peers.get(uri)
            if client is None:
                client = flight.FlightClient(uri, **self._client_kwargs)
                self._peers[uri] = client
            return client

    def _supports(self, action: str) -> bool:
        """Whether the server lists ``action`` (ListActions, asked once per connection)."""
        if self._actions is None:
            try:
                listed = frozenset(a.type for a in self._client.list_actions(self._options(timeout=10)))
            except Exception:  # noqa: BLE001 - a server that cannot list supports nothing extra.
                listed = frozenset()
            self._actions = listed
        return action in self._actions

    def _progress(self, query_id: str) -> dict[str, Any] | None:
        """The server's progress report of a query, or None when it has none."""
        if not query_id or not self._supports(PROGRESS_ACTION):
            return None
        action = flight.Action(PROGRESS_ACTION, query_id.encode())
        try:
            results = list(self._client.do_action(action, self._options(timeout=10)))
        except Exception:  # noqa: BLE001 - progress is advisory.
            return None
        if not results:
            return None
        try:
            report = json.loads(results[0].body.to_pybytes())
        except ValueError:
            return None
        return report if isinstance(report, dict) else None

    def _cancel(self, info: flight.FlightInfo, query_id: str | None) -> bool:
        """Ask the server to cancel a query; True when it accepted."""
        if self._closed:
            return False
        if self._supports(CANCEL_FLIGHT_INFO):
            body = _proto.cancel_flight_info_request(info.serialize())
            try:
                action = flight.Action(CANCEL_FLIGHT_INFO, body)
                results = list(self._client.do_action(action, self._options(timeout=5)))
                # CancelStatus: 1 CANCELLED, 2 CANCELLING, 3 NOT_CANCELLABLE.
                if results and _proto.cancel_status(results[0].body.to_pybytes()) in (1, 2):
                    return True
            except Exception:  # noqa: BLE001, S110 - fall back to quiver.cancel.
                pass
        if query_id and self._supports(CANCEL_ACTION):
            try:
                action = flight.Action(CANCEL_ACTION, query_id.encode())
                results = list(self._client.do_action(action, self._options(timeout=5)))
                if results:
                    status = json.loads(results[0].body.to_pybytes()).get("status")
                    return status in ("cancelled", "cancelling")
            except Exception:  # noqa: BLE001, S110 - the streams are cancelled anyway.
                pass
        return False

    def _table_listing(self, schema: str | None = None) -> list[tuple[str, str, pa.Schema]]:
        """Flight SQL GetTables with schemas: (schema, table, Arrow schema) sorted by name."""
        self._check_open()
        # Without a schema, only the warehouse: its tables are of type TABLE,
        # the system tables of type SYSTEM TABLE.
        types = ["TABLE"] if schema is None else None
        catalog = None
        if schema is not None and "." in schema:
            # An Iceberg catalog's namespace: "lake.sales".
            catalog, schema = schema.split(".", 1)
        descriptor = flight.FlightDescriptor.for_command(
            _proto.get_tables(schema_pattern=_like_escape(schema), table_types=types, catalog=catalog)
        )
        try:
            info = self._client.get_flight_info(descriptor, self._options())
            tables = [self._do_get(ep).read_all() for ep in info.endpoints]
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise _translated(exc) from None
        out: list[tuple[str, str, pa.Schema]] = []
        for table in tables:
            for row in table.to_pylist():
                # An Iceberg table's schema is its catalog and namespace, as
                # SQL names it: lake.sales.orders.
                schema_name = row["db_schema_name"]
                if row.get("catalog_name") not in (None, "", _WAREHOUSE_CATALOG):
                    schema_name = f"{row['catalog_name']}.{schema_name}"
                out.append((schema_name, row["table_name"], _read_schema(row.get("table_schema"))))
        return sorted(out, key=lambda r: (r[0], r[1]))

    def _check_open(self) -> None:
        if self._closed:
            raise Error("connection is closed")


def _hit_name(hit: Mapping[str, Any]) -> str:
    """A search hit's name as SQL spells it: the warehouse's catalog left out."""
    catalog = None if hit["catalog"] == _WAREHOUSE_CATALOG else hit["catalog"]
    return ".".join(p for p in (catalog, hit["schema"], hit["table"], hit.get("column")) if p)


def _translated(exc: BaseException, query: str | None = None) -> BaseException:
    return translate_error(exc, query)


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _read_schema(data: bytes | None) -> pa.Schema | None:
    if not data:
        return None
    return pa.ipc.read_schema(pa.py_buffer(data))


def _like_escape(text: str | None) -> str | None:
    # GetTables filters are SQL LIKE patterns; a name is matched literally.
    if text is None:
        return None
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _location_uri(location: flight.Location | str | bytes) -> str:
    uri = getattr(location, "uri", location)
    if isinstance(uri, bytes):
        return uri.decode("utf-8")
    return str(uri)


def params_batch(params: Sequence[object]) -> pa.RecordBatch:
    """One row of parameters as a record batch with columns ``$1, $2, …``."""
    arrays = []
    for i, value in enumerate(params, start=1):
        try:
            arrays.append(pa.array([value], type=pa.null() if value is None else None))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise TypeError(f"parameter {i} ({value!r}) has no Arrow type: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, names=[f"${i}" for i in range(1, len(arrays) + 1)])


def connect(uri: str | None = None, **options: Unpack[ConnectOptions]) -> Connection:
    """Open a :class:`Connection` to the Quiver server at ``uri``.

    ``uri`` is ``host:port`` (plaintext, the same as ``grpc://host:port``),
    ``grpc://host:port`` or ``grpc+tls://host:port`` — the forms ``quiver
    query --server`` accepts. It defaults to ``$QUIVER_URI``, then
    ``$QUIVER_SERVER`` (the command line's old name), then
    ``grpc://127.0.0.1:8815``.

    Authentication: ``token`` is sent as ``authorization: Bearer <token>``
    with every call and defaults to ``$QUIVER_TOKEN``; or ``username`` and
    ``password`` (default ``$QUIVER_USERNAME``, ``$QUIVER_PASSWORD``) log in
    once (Basic auth on the Flight handshake) and the bearer token the
    server returns is used from then on. A token or username passed here
    means the credential variables are not read (except
    ``$QUIVER_PASSWORD`` for a username passed without a password).

    TLS: ``tls_root_certs`` is the CA bundle that signs the server's
    certificate (default: ``$QUIVER_TLS_CA``, else the system's);
    ``cert_chain`` and ``private_key`` are the client certificate for
    mutual TLS (default: ``$QUIVER_TLS_CERT``, ``$QUIVER_TLS_KEY``). Each is
    PEM data or a path. The variables are those ``quiver query`` reads.

    ``progress`` chooses when fetches show a ``tqdm`` progress bar:
    ``"auto"`` (in a notebook or on a terminal, for fetches that take longer
    than ``progress_delay``, half a second), ``True`` (always) or ``False``;
    ``max_streams`` bounds how many endpoints of one result are fetched at
    once. ``preview_rows`` (20) is how many rows a result's notebook
    display reads (see :meth:`quiver.Result.head`); ``decimals`` is what
    ``to_pandas()`` makes of DECIMAL columns: ``"decimal"`` (exact
    ``decimal.Decimal`` objects, the default) or ``"float"`` (``float64``,
    for plotting).

    ``compression`` chooses how the server compresses result batches (the
    ``x-quiver-ipc-compression`` header): ``"zstd"`` or ``"lz4"`` trade
    server and client CPU for fewer bytes on a slow link, ``"off"`` sends
    them as they are, ``"auto"`` or ``None`` leave it to the server (by
    default Zstd for clients on another machine, none on the same one).
    pyarrow decompresses on its own.

    The keyword arguments are declared once, in
    :class:`quiver.options.ConnectOptions`, for every way of connecting.
    """
    return Connection(uri, **options)
