"""The result of one query: a FlightInfo whose endpoints are fetched on demand.

A :class:`Result` is created by :meth:`quiver.Connection.sql` after the server
has planned the query (so planning errors surface there), but no data moves
until one of the fetch methods is called. Endpoints are fetched one after
another, in the order the server listed them, and their batches are yielded as
they arrive: :meth:`Result.fetch_batches` never holds more than one batch.

Tickets are short-lived and may be single use, so a result can be streamed
once. :meth:`Result.to_arrow` keeps the table it built, so ``to_arrow()`` and
``to_pandas()`` can be called repeatedly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.flight as flight

from .errors import Error, translate_error

if TYPE_CHECKING:
    import pandas


class _Fetcher(Protocol):
    """_Fetcher opens the stream of one endpoint; the connection implements it."""

    def _do_get(self, endpoint: flight.FlightEndpoint) -> flight.FlightStreamReader: ...


class Result:
    """Result streams the rows of one query.

    Use :meth:`fetch_batches` to stream, :meth:`to_arrow` or
    :meth:`to_pandas` to materialize.
    """

    def __init__(self, fetcher: _Fetcher, query: str, info: flight.FlightInfo) -> None:
        self._fetcher = fetcher
        self._query = query
        self._info = info
        self._schema: pa.Schema | None = _declared_schema(info)
        self._consumed = False
        self._table: pa.Table | None = None

    def __repr__(self) -> str:
        return f"<quiver.Result endpoints={len(self._info.endpoints)} query={self._query!r}>"

    @property
    def query(self) -> str:
        """The SQL text this result answers."""
        return self._query

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the rows, as declared by the server."""
        if self._schema is None:
            # The server declared no schema: the first stream carries it.
            self._schema = self.to_arrow().schema
        return self._schema

    @property
    def num_endpoints(self) -> int:
        """How many streams the server split the result into."""
        return len(self._info.endpoints)

    @property
    def total_records(self) -> int | None:
        """The row count announced by the server, or None when it did not say."""
        n = self._info.total_records
        return None if n is None or n < 0 else n

    def fetch_batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the record batches of every endpoint, one at a time.

        Batches of later endpoints are cast to the schema of the first one if
        they differ only in ways a cast can fix (for example nullability).
        """
        if self._table is not None:
            yield from self._table.to_batches()
            return
        if self._consumed:
            raise Error("result already consumed: a Result can be streamed once; call to_arrow() to keep it")
        self._consumed = True
        target = self._schema
        for endpoint in self._info.endpoints:
            reader = self._open(endpoint)
            finished = False
            try:
                if target is None:
                    target = reader.schema
                    self._schema = target
                while True:
                    try:
                        chunk = reader.read_chunk()
                    except StopIteration:
                        finished = True
                        break
                    except Exception as exc:  # noqa: BLE001 - translated and re-raised.
                        raise translate_error(exc) from exc
                    batch = chunk.data
                    if batch is None:
                        continue
                    if not batch.schema.equals(target):
                        batch = _conform(batch, target)
                    yield batch
            finally:
                if not finished:
                    # The caller left early or the stream failed: stop the server side.
                    _cancel_quietly(reader)

    def to_arrow(self) -> pa.Table:
        """Fetch every endpoint and return the rows as one ``pyarrow.Table``."""
        if self._table is None:
            batches = list(self.fetch_batches())
            schema = self._schema
            if schema is None:
                # No endpoints and no declared schema: nothing to describe.
                schema = pa.schema([])
            self._table = pa.Table.from_batches(batches, schema=schema)
        return self._table

    def to_pandas(self, **kwargs: object) -> pandas.DataFrame:
        """Fetch every endpoint and return the rows as a ``pandas.DataFrame``.

        Keyword arguments are passed to ``pyarrow.Table.to_pandas``.
        """
        try:
            import pandas  # noqa: F401 - only checks that it is installed.
        except ImportError as exc:
            raise ImportError("to_pandas() needs pandas: pip install 'quiver[pandas]'") from exc
        return self.to_arrow().to_pandas(**kwargs)

    def _open(self, endpoint: flight.FlightEndpoint) -> flight.FlightStreamReader:
        try:
            return self._fetcher._do_get(endpoint)
        except Exception as exc:  # noqa: BLE001 - translated and re-raised.
            raise translate_error(exc) from exc


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


def _conform(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    if batch.schema.names != target.names:
        raise Error(f"endpoint schema {batch.schema} differs from the result schema {target}")
    if [f.type for f in batch.schema] == list(target.types):
        # Only field metadata or nullability differ: relabel without copying.
        return pa.RecordBatch.from_arrays(batch.columns, schema=target)
    return batch.cast(target)


def _cancel_quietly(reader: flight.FlightStreamReader) -> None:
    try:
        reader.cancel()
    except Exception:  # noqa: BLE001 - cancel after end of stream may fail harmlessly.
        pass
