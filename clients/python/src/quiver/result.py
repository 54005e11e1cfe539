"""The result of one query: checked when created, run when fetched.

:meth:`quiver.Connection.sql` asks the server for the query's schema
(``GetSchema``, or ``CreatePreparedStatement`` when there are parameters), so
bad SQL, unknown tables and refusals fail right there, and returns a
:class:`Result`. Nothing runs until one of the ``to_*`` methods is called:
then the query is planned (``GetFlightInfo``, which is also when the server
admits it) and every endpoint is fetched at once, concurrently, with the
batches handed back in endpoint order (see :mod:`quiver._fetch`). Planning at
fetch time means a result can wait any time before it is fetched: it holds no
server slot and no ticket that could expire.

``to_arrow()`` keeps the table it built, so ``to_arrow()``, ``to_pandas()``,
``to_polars()`` and the notebook display share one run. ``to_batches()``
streams, and runs the query again each time it is called.

The notebook display never fetches a whole result: it shows :meth:`Result.head`,
which reads one endpoint's stream until it has a page of rows (a batch or two),
then closes the stream and cancels the rest of the query on the server. The
page is kept for the next display, not for ``to_arrow()``, which runs the
query again, unless the page was the whole result (see ARCHITECTURE.md,
"Notebook previews read a page").
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from . import _html
from ._fetch import Stream
from .errors import Error, NotFound
from .options import Decimals, check_decimals
from .progress import ProgressBar, should_show

if TYPE_CHECKING:
    import pandas
    import polars

    from .connection import Connection, Prepared, Progress

# How many batches a streaming fetcher may run ahead of the consumer, per endpoint.
_STREAM_BUFFER = 8
# How many batches a preview's one fetcher may read ahead of the consumer.
_PREVIEW_BUFFER = 1


class Result:
    """Result is one planned query; fetch it with ``to_arrow()``, ``to_pandas()``, ``to_polars()``, ``to_batches()``.

    In a notebook a result displays itself (schema, first rows, row count and
    fetch time); before it is fetched the display reads only its first
    ``preview_rows`` rows (see :meth:`head`). Long fetches show a progress bar;
    interrupting one (the stop button, Ctrl-C) cancels the query on the
    server and raises ``KeyboardInterrupt`` at once.
    """

    def __init__(self, conn: Connection, query: str, params: list[object] | None) -> None:
        self._conn = conn
        self._query = query
        self._params = params
        self._table: pa.Table | None = None
        self._elapsed: float | None = None
        self._active: tuple[Stream, flight.FlightInfo] | None = None
        self._info: flight.FlightInfo | None = None
        self._prepared: Prepared | None = None
        # The first rows read by head(), and how long reading them took.
        self._head: pa.Table | None = None
        self._head_elapsed: float | None = None
        if params is None:
            self._schema: pa.Schema | None = conn._schema_of(query)
        else:
            self._prepared = conn._prepare(query)
            # Closed when the result is garbage collected (or with the connection).
            weakref.finalize(self, conn._close_prepared, self._prepared).atexit = False
            self._schema = self._prepared.dataset_schema

    def __repr__(self) -> str:
        state = f"{self._table.num_rows} rows" if self._table is not None else "not fetched"
        return f"<quiver.Result {state} query={self._query!r}>"

    # --- what the server said -----------------------------------------------

    @property
    def query(self) -> str:
        """The SQL text this result answers."""
        return self._query

    @property
    def params(self) -> list[object] | None:
        """The bound parameters, if any."""
        return None if self._params is None else list(self._params)

    @property
    def query_id(self) -> str | None:
        """The server's id of the latest run of this query (None before it ran)."""
        return _query_id(self._info) if self._info is not None else None

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the rows, as declared by the server when planning."""
        if self._schema is None:
            # The server declared no schema: the stream carries it.
            self._schema = self.to_arrow().schema
        return self._schema

    @property
    def num_endpoints(self) -> int | None:
        """How many streams the server split the latest run into (None before it ran)."""
        return None if self._info is None else len(self._info.endpoints)

    @property
    def total_records(self) -> int | None:
        """The row count the server announced for the latest run, or None."""
        n = None if self._info is None else self._info.total_records
        return None if n is None or n < 0 else int(n)

    @property
    def elapsed(self) -> float | None:
        """Seconds the last complete fetch took, or None before one finished."""
        return self._elapsed

    # --- fetching -----------------------------------------------------------

    def to_arrow(self, *, progress: Progress | None = None) -> pa.Table:
        """Fetch every endpoint and return the rows as one ``pyarrow.Table`` (kept for later calls).

        ``progress`` overrides the connection's setting: ``True`` shows a bar
        at once, ``"auto"`` once the fetch has run for half a second in a
        notebook or on a terminal, ``False`` never. The same holds for the
        other ``to_*`` methods.
        """
        if self._table is None:
            started = time.monotonic()
            batches = list(self._run(buffer=None, progress=progress))
            schema = self._schema if self._schema is not None else pa.schema([])
            self._table = pa.Table.from_batches(batches, schema=schema)
            self._elapsed = time.monotonic() - started
        return self._table

    def to_pandas(
        self, *, progress: Progress | None = None, decimals: Decimals | None = None, **kwargs: Any
    ) -> pandas.DataFrame:
        """Fetch the rows as a ``pandas.DataFrame``; other keyword arguments go to ``pyarrow.Table.to_pandas``.

        ``decimals`` overrides the connection's setting for DECIMAL columns:
        ``"decimal"`` keeps them exact, as ``decimal.Decimal`` objects (an
        ``object`` column, which ``DataFrame.plot()`` skips), ``"float"``
        makes them ``float64`` (about 15 significant digits), ready to plot.
        """
        try:
            import pandas  # noqa: F401 - only checks that it is installed.
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install 'quiver[pandas]'") from None
        choice = self._conn.decimals if decimals is None else decimals
        check_decimals(choice)
        table = self.to_arrow(progress=progress)
        if choice == "float":
            table = decimals_to_float(table)
        return table.to_pandas(**kwargs)

    def to_polars(self, *, progress: Progress | None = None) -> polars.DataFrame:
        """Fetch the rows as a ``polars.DataFrame`` (zero-copy from Arrow where polars allows)."""
        try:
            import polars
        except ImportError:
            raise ImportError("to_polars() needs polars: pip install 'quiver[polars]'") from None
        frame = polars.from_arrow(self.to_arrow(progress=progress))
        assert isinstance(frame, polars.DataFrame)
        return frame

    def to_batches(self, *, progress: Progress | None = None) -> pa.RecordBatchReader:
        """Stream the rows as a ``pyarrow.RecordBatchReader``, batch by batch.

        Endpoints are fetched concurrently, a few batches ahead of the reader,
        so memory stays bounded. Each call runs the query again (unless
        ``to_arrow()`` already holds the rows); closing the reader early
        cancels the remaining streams.
        """
        if self._table is not None:
            return pa.RecordBatchReader.from_batches(self._table.schema, self._table.to_batches())
        batches = self._run(buffer=_STREAM_BUFFER, progress=progress)
        schema = self._schema
        if schema is None:
            # Learn the schema from the first batch, then put it back in front.
            first = next(batches, None)
            if first is None:
                return pa.RecordBatchReader.from_batches(pa.schema([]), iter(()))
            schema = first.schema
            batches = _chain(first, batches)
        return pa.RecordBatchReader.from_batches(schema, batches)

    def fetch_batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the record batches one at a time (the iterator form of :meth:`to_batches`)."""
        if self._table is not None:
            yield from self._table.to_batches()
            return
        yield from self._run(buffer=_STREAM_BUFFER, progress=None)

    def head(self, n: int | None = None) -> pa.Table:
        """The first ``n`` rows (default: the connection's ``preview_rows``, 20), fetching little more.

        A fetched result is sliced. Otherwise the query runs and one
        endpoint at a time is read until ``n`` rows have arrived — one batch
        or a few, whatever the result's size — then the stream is closed and
        the rest of the query cancelled on the server, so it frees its
        workers and its admission slot. The rows are kept for the next
        ``head()`` of at most as many rows, and are not reused by
        ``to_arrow()``, which runs the query again from the start — unless
        the stream ended before ``n`` rows, when they are the whole result
        and ``to_arrow()`` returns them without running it again.

        The rows are the first the server sends: those of a query with
        ``ORDER BY`` in order, of any other query some rows.
        """
        n = self._conn.preview_rows if n is None else n
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"head() needs a row count of at least 0, got {n!r}")
        if self._table is not None:
            return self._table.slice(0, n)
        if self._head is not None and self._head.num_rows >= n:
            return self._head.slice(0, n)
        started = time.monotonic()
        info = self._plan()
        self._info = info
        declared = _declared_schema(info)
        if declared is not None:
            self._schema = declared
        stream = Stream(
            self._conn,
            list(info.endpoints),
            self._schema,
            self._query,
            # One endpoint at a time, at most a batch ahead: a page costs a batch or two, not a fetch.
            max_streams=1,
            buffer=_PREVIEW_BUFFER,
            on_interrupt=lambda: self._conn._cancel(info, _query_id(info)),
        )
        batches: list[pa.RecordBatch] = []
        rows = 0
        complete = False
        iterator = self._iterate(stream, info)
        try:
            if n > 0:
                for batch in iterator:
                    batches.append(batch)
                    rows += batch.num_rows
                    if rows >= n:
                        break
                else:
                    complete = True
        finally:
            # Closing the generator closes the stream, which cancels its DoGet calls.
            iterator.close()
        if not complete:
            # Endpoints nobody fetches would hold the query's admission slot until the idle timeout.
            self._conn._cancel(info, _query_id(info))
        schema = self._schema if self._schema is not None else (batches[0].schema if batches else pa.schema([]))
        table = pa.Table.from_batches(batches, schema=schema)
        if complete:
            self._table = table
            self._elapsed = time.monotonic() - started
            return table.slice(0, n)
        self._head = table.slice(0, n)
        self._head_elapsed = time.monotonic() - started
        return self._head

    def explain(self) -> Explain:
        """Ask the server how it would run this query: strategy, fragments, merge step, files read."""
        plan = self._conn.sql("EXPLAIN " + self._query, self._params).to_arrow(progress=False)
        return Explain([(str(r["step"]), str(r["detail"])) for r in plan.to_pylist()])

    def progress(self) -> dict[str, Any] | None:
        """The server's progress report of the latest run, or None when the server has none.

        Keys: ``query_id``, ``state`` (queued, running, finished, failed,
        cancelled), ``fragments_total``, ``fragments_done``, ``rows``,
        ``bytes``, ``elapsed_ms`` and, after a failure, ``error``.
        """
        query_id = self.query_id
        return self._conn._progress(query_id) if query_id else None

    def cancel(self) -> bool:
        """Cancel the fetch running in another thread; True when the server accepted.

        The thread fetching the result then raises :class:`quiver.Cancelled`.
        """
        active = self._active
        if active is None:
            return False
        stream, info = active
        accepted = self._conn._cancel(info, _query_id(info))
        if not accepted:
            # No server-side cancellation: stop the streams here.
            stream.close()
        return accepted

    def _plan(self) -> flight.FlightInfo:
        if self._prepared is None:
            return self._conn._plan(self._query)
        try:
            self._conn._bind(self._prepared, self._params or [], self._query)
        except NotFound:
            # The server forgets prepared statements after an hour: prepare again.
            self._prepared = self._conn._prepare(self._query)
            weakref.finalize(self, self._conn._close_prepared, self._prepared).atexit = False
            self._conn._bind(self._prepared, self._params or [], self._query)
        return self._conn._plan(self._query, self._prepared)

    def _run(self, *, buffer: int | None, progress: Progress | None) -> Iterator[pa.RecordBatch]:
        """Plan the query now and return the iterator of its batches."""
        info = self._plan()
        self._info = info
        declared = _declared_schema(info)
        if declared is not None:
            # The schema of this run (parameter values can refine the types).
            self._schema = declared
        return self._iterate(self._stream(info, buffer, progress), info)

    def _iterate(self, stream: Stream, info: flight.FlightInfo) -> Generator[pa.RecordBatch, None, None]:
        self._active = (stream, info)
        try:
            yield from stream.batches()
        finally:
            self._active = None

    def _stream(self, info: flight.FlightInfo, buffer: int | None, progress: Progress | None) -> Stream:
        endpoints = list(info.endpoints)
        query_id = _query_id(info)
        bar = None
        setting = self._conn.progress if progress is None else progress
        if endpoints and should_show(setting):
            poll = (lambda: self._conn._progress(query_id)) if query_id else None
            # progress=True asks for a bar now; "auto" waits so quick queries print nothing.
            delay = 0.0 if setting is True else self._conn.progress_delay
            bar = ProgressBar("quiver", len(endpoints), poll, delay=delay)
        return Stream(
            self._conn,
            endpoints,
            self._schema,
            self._query,
            max_streams=self._conn.max_streams,
            buffer=buffer,
            progress=bar,
            on_interrupt=lambda: self._conn._cancel(info, query_id),
        )

    # --- notebooks ----------------------------------------------------------

    def _repr_html_(self) -> str:
        limit = self._conn.preview_rows
        try:
            head = self.head(limit)
        except Error as err:
            return _html.error_html(type(err).__name__, str(err))
        if self._table is not None:
            # Fetched (by to_arrow() or by a preview that reached the end): the count is known.
            return _html.table_html(self._table, max_rows=limit, summary=self._summary(self._table))
        return _html.table_html(head, max_rows=limit, summary=self._summary(head, partial=True), more_unknown=True)

    def _summary(self, table: pa.Table, *, partial: bool = False) -> str:
        if partial:
            rows = f"first {table.num_rows:,} row{'s' if table.num_rows != 1 else ''}; more not fetched"
            elapsed = self._head_elapsed
        else:
            rows = f"{table.num_rows:,} row{'s' if table.num_rows != 1 else ''}"
            elapsed = self._elapsed
        cols = f"{table.num_columns} column{'s' if table.num_columns != 1 else ''}"
        took = f" · {elapsed:.2f} s" if elapsed is not None else ""
        n = self.num_endpoints or 0
        return f"{rows} · {cols}{took} · {n} endpoint{'s' if n != 1 else ''}"


class Explain:
    """Explain is the server's plan of a query, one ``(step, detail)`` row per step.

    Steps are ``strategy``, ``fragment N`` (the worker group, file count and
    SQL of each fragment), ``merge`` (the SQL that combines them) and
    ``table T`` (files read and pruned).
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self.rows = rows

    @property
    def strategy(self) -> str:
        """How the query is distributed (for example ``single`` or ``partial aggregate``)."""
        return next((d for s, d in self.rows if s == "strategy"), "")

    @property
    def fragments(self) -> list[str]:
        """The detail of every fragment, in order."""
        return [d for s, d in self.rows if s.startswith("fragment")]

    def to_arrow(self) -> pa.Table:
        """The plan as a table with columns ``step`` and ``detail``."""
        return pa.table({"step": [s for s, _ in self.rows], "detail": [d for _, d in self.rows]})

    def __str__(self) -> str:
        width = max((len(s) for s, _ in self.rows), default=0)
        return "\n".join(f"{s.ljust(width)}  {d}" for s, d in self.rows)

    def __repr__(self) -> str:
        return f"<quiver.Explain {len(self.fragments)} fragments, strategy {self.strategy!r}>"

    def _repr_html_(self) -> str:
        summary = f"{len(self.fragments)} fragment{'s' if len(self.fragments) != 1 else ''} · {self.strategy}"
        return _html.table_html(self.to_arrow(), max_rows=len(self.rows), summary=summary)


def decimals_to_float(table: pa.Table) -> pa.Table:
    """``table`` with every top-level DECIMAL column as ``float64`` (nested ones are left alone).

    Each value becomes the float nearest to it, ``float(Decimal)``. Arrow's
    own decimal → float64 cast is not correctly rounded (one value in seven
    of a DECIMAL(18,2) column is an ulp off), so it is not used.
    """
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            column = pa.chunked_array([_decimal_to_float(c) for c in table.column(i).chunks], pa.float64())
            table = table.set_column(i, pa.field(field.name, pa.float64(), field.nullable, field.metadata), column)
    return table


def _decimal_to_float(chunk: pa.Array) -> pa.Array:
    import numpy as np

    kind = chunk.type
    if pa.types.is_decimal128(kind) and 0 <= kind.scale <= 22 and len(chunk) > 0:
        # Unscaled values below 2**53 and powers of ten up to 1e22 are exact
        # doubles, so one IEEE division gives the correctly rounded float.
        words = np.frombuffer(chunk.buffers()[1], dtype="<i8")[2 * chunk.offset : 2 * (chunk.offset + len(chunk))]
        low, high = words[0::2], words[1::2]
        valid = ~np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        fits = (high == (low >> 63)) & (np.abs(low) < 2**53)
        if bool(np.all(fits | ~valid)):
            values = low.astype(np.float64) / (10.0**kind.scale)
            return pa.array(values, pa.float64(), mask=None if chunk.null_count == 0 else ~valid)
    # Large values (and decimal256): through the text, which Arrow parses correctly rounded.
    return chunk.cast(pa.string()).cast(pa.float64())


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _query_id(info: flight.FlightInfo) -> str | None:
    """The query id the server puts in ``FlightInfo.app_metadata`` (JSON ``{"query_id": …}``)."""
    try:
        raw = info.app_metadata
    except AttributeError:
        return None
    if not raw:
        return None
    try:
        meta = json.loads(bytes(raw))
    except ValueError:
        return None
    value = meta.get("query_id") if isinstance(meta, dict) else None
    return str(value) if value else None


def _declared_schema(info: flight.FlightInfo) -> pa.Schema | None:
    try:
        schema = info.schema
    except Exception:  # noqa: BLE001 - an undecodable schema is treated as absent.
        return None
    if schema is None:
        return None
    if len(schema) == 0 and info.endpoints:
        # Some servers send an empty schema and let the stream describe itself.
        return None
    return schema
