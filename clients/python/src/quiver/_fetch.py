"""Fetching the endpoints of one FlightInfo concurrently, in endpoint order.

A :class:`Stream` runs up to ``max_streams`` ``DoGet`` calls at once, each on
its own thread, and hands their record batches to the consuming thread
through one queue per endpoint. The consumer drains endpoint 0, then 1, and
so on, so batches come out in the order the server listed its endpoints
(which is the order a Flight server promises when ``FlightInfo.ordered`` is
set, and a stable order otherwise). Endpoints are started in order too, so
the endpoint being drained is always running: with bounded queues (for
streaming) a fetcher ahead of the consumer waits for room, and memory stays
bounded; with unbounded queues (for ``to_arrow``) every stream runs flat out.

The consumer waits on its queue with a short timeout, so a
``KeyboardInterrupt`` (the notebook's stop button) arrives at once even
while every byte is still in flight: the stream then cancels its ``DoGet``
calls, asks the server to cancel the query, and re-raises.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import pyarrow as pa
import pyarrow.flight as flight

from .errors import Cancelled, Error, translate_error
from .progress import ProgressBar

_WAIT = 0.1  # seconds between checks for interrupts and progress while waiting


class Transport(Protocol):
    """Transport opens the stream of one endpoint; the connection implements it."""

    def _do_get(self, endpoint: flight.FlightEndpoint) -> flight.FlightStreamReader: ...


@dataclass
class _Done:
    """End of one endpoint's stream."""


@dataclass
class _Failed:
    """One endpoint's stream failed with ``error``."""

    error: BaseException


_Item: TypeAlias = "pa.RecordBatch | _Done | _Failed"


class Stream:
    """Stream is one run of a FlightInfo's endpoints.

    Iterate :meth:`batches` once, from one thread. ``on_interrupt`` is called
    (before re-raising) when the consumer is interrupted, to cancel the query
    on the server.
    """

    def __init__(
        self,
        transport: Transport,
        endpoints: list[flight.FlightEndpoint],
        schema: pa.Schema | None,
        query: str,
        *,
        max_streams: int,
        buffer: int | None,
        progress: ProgressBar | None = None,
        on_interrupt: Callable[[], object] | None = None,
    ) -> None:
        self._transport = transport
        self._endpoints = endpoints
        self.schema = schema
        self._query = query
        self._workers = max(1, min(max_streams, len(endpoints)))
        self._queues: list[queue.Queue[_Item]] = [queue.Queue(maxsize=buffer or 0) for _ in endpoints]
        self._progress = progress
        self._on_interrupt = on_interrupt
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._readers: dict[int, flight.FlightStreamReader] = {}
        self._next = 0
        self._threads: list[threading.Thread] = []
        self.rows = 0
        self.endpoints_done = 0
        self.yielded = False
        self.started = False

    # --- consumer side ------------------------------------------------------

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield every batch of every endpoint, in endpoint order."""
        if self.started:
            raise Error("a stream can be iterated once")
        self.started = True
        for i in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"quiver-fetch-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()
        if self._progress is not None:
            self._progress.start()
        ok = False
        try:
            for index in range(len(self._endpoints)):
                while True:
                    item = self._take(index)
                    if isinstance(item, _Done):
                        self.endpoints_done += 1
                        break
                    if isinstance(item, _Failed):
                        raise translate_error(item.error, self._query) from None
                    batch = self._conform(item)
                    self.rows += batch.num_rows
                    self.yielded = True
                    if self._progress is not None:
                        self._progress.tick(self.rows, self.endpoints_done)
                    yield batch
            ok = True
        except KeyboardInterrupt:
            self.close()
            if self._on_interrupt is not None:
                self._on_interrupt()
            raise
        finally:
            # Also reached when the caller stops iterating early (GeneratorExit).
            if ok:
                self._join()
            else:
                # Fetchers still inside a DoGet that has not sent its first
                # message cannot be cancelled from here (pyarrow offers no
                # handle before the schema arrives); they end with the server's
                # cancellation or the query. Do not wait for them.
                self.close()
            if self._progress is not None:
                self._progress.close(self.rows, self.endpoints_done, ok)

    def _take(self, index: int) -> _Item:
        q = self._queues[index]
        while True:
            try:
                return q.get(timeout=_WAIT)
            except queue.Empty:
                if self._stop.is_set():
                    # close() from another thread (Result.cancel on a server without cancellation).
                    raise Cancelled("the query was cancelled by the client", "CANCELLED") from None
                if self._progress is not None:
                    self._progress.tick(self.rows, self.endpoints_done)

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.schema is None:
            self.schema = batch.schema
            return batch
        if batch.schema.equals(self.schema):
            return batch
        return conform(batch, self.schema)

    def close(self) -> None:
        """Stop every fetcher and cancel the DoGet calls still running. Idempotent."""
        self._stop.set()
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
        for reader in readers:
            cancel_quietly(reader)
        # Unblock fetchers waiting for room in a bounded queue.
        for q in self._queues:
            try:
                while True:
                    q.get_nowait()
            except queue.Empty:
                pass

    def _join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=5)

    # --- fetcher side -------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                index = self._next
                if index >= len(self._endpoints):
                    return
                self._next += 1
            self._fetch(index)

    def _fetch(self, index: int) -> None:
        try:
            reader = self._transport._do_get(self._endpoints[index])
            with self._lock:
                if self._stop.is_set():
                    cancel_quietly(reader)
                    return
                self._readers[index] = reader
            while not self._stop.is_set():
                try:
                    chunk = reader.read_chunk()
                except StopIteration:
                    break
                if chunk.data is not None and not self._put(index, chunk.data):
                    return
            self._put(index, _Done())
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it.
            if not self._stop.is_set():
                self._put(index, _Failed(exc))
        finally:
            with self._lock:
                self._readers.pop(index, None)

    def _put(self, index: int, item: _Item) -> bool:
        q = self._queues[index]
        while not self._stop.is_set():
            try:
                q.put(item, timeout=_WAIT)
                return True
            except queue.Full:
                continue
        return False


def conform(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """Give a batch of a later endpoint the result's schema (names must match)."""
    if batch.schema.names != target.names:
        raise Error(f"endpoint schema {batch.schema} differs from the result schema {target}")
    if [f.type for f in batch.schema] == list(target.types):
        # Only field metadata or nullability differ: relabel without copying.
        return pa.RecordBatch.from_arrays(batch.columns, schema=target)
    return batch.cast(target)


def cancel_quietly(reader: flight.FlightStreamReader) -> None:
    """Cancel a DoGet; cancelling a finished stream may fail harmlessly."""
    try:
        reader.cancel()
    except Exception:  # noqa: BLE001, S110 - best effort.
        pass
