"""Quiver: run SQL on a Quiver server and get Apache Arrow back.

    >>> import quiver
    >>> with quiver.connect("grpc://127.0.0.1:8815") as conn:
    ...     df = conn.sql("SELECT device, count(*) FROM demo.plays GROUP BY device").to_pandas()

The client is a thin layer over ``pyarrow.flight``: :func:`connect` opens a
:class:`Connection`, :meth:`Connection.sql` plans a query and returns a
:class:`Result`, whose rows are streamed as record batches or materialized as
a ``pyarrow.Table`` or a ``pandas.DataFrame``. Transport errors are re-raised
as :class:`quiver.Error` subclasses carrying the server's message.
"""

from __future__ import annotations

from .connection import DEFAULT_URI, Connection, connect
from .errors import (
    AuthenticationError,
    CancelledError,
    Error,
    NotFoundError,
    PermissionError,
    QueryError,
    UnavailableError,
)
from .result import Result

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URI",
    "AuthenticationError",
    "CancelledError",
    "Connection",
    "Error",
    "NotFoundError",
    "PermissionError",
    "QueryError",
    "Result",
    "UnavailableError",
    "connect",
    "__version__",
]
