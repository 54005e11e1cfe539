"""Quiver: run SQL on a Quiver server from Python and get Apache Arrow back.

    >>> import quiver
    >>> conn = quiver.connect("grpc://127.0.0.1:8815")
    >>> conn.sql("SELECT device, count(*) AS plays FROM demo.plays GROUP BY device").to_pandas()

:func:`connect` opens a :class:`Connection`; :meth:`Connection.sql` plans a
query (with parameters bound by the server, if any) and returns a lazy
:class:`Result` that fetches the server's endpoints concurrently into a
``pyarrow.Table``, a pandas or polars DataFrame, or a streaming
``RecordBatchReader``. :meth:`Connection.tables` and
:meth:`Connection.table` browse the warehouse. Failures are
:class:`quiver.Error` subclasses that carry the server's message.

In Jupyter, ``%load_ext quiver`` adds the ``%quiver`` and ``%%quiver`` magics;
long queries show a progress bar, and the stop button cancels them on the
server. :mod:`quiver.dbapi` gives a PEP 249 connection through ADBC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import Table
from .connection import DEFAULT_URI, Connection, connect
from .errors import (
    AuthenticationError,
    Cancelled,
    Error,
    NotFound,
    NotFoundError,
    PermissionDenied,
    QueryError,
    ResourceExhausted,
    Timeout,
    Unavailable,
    UnavailableError,
    _deprecated_alias,
)
from .result import Explain, Result

__version__ = "0.2.0"

__all__ = [
    "DEFAULT_URI",
    "AuthenticationError",
    "Cancelled",
    "Connection",
    "Error",
    "Explain",
    "NotFound",
    "NotFoundError",
    "PermissionDenied",
    "QueryError",
    "ResourceExhausted",
    "Result",
    "Table",
    "Timeout",
    "Unavailable",
    "UnavailableError",
    "connect",
    "load_ipython_extension",
    "__version__",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext quiver``: register the ``%quiver`` and ``%%quiver`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


if TYPE_CHECKING:
    # Type checkers see the deprecated names as the aliases they are.
    from .errors import CancelledError as CancelledError
    from .errors import PermissionError as PermissionError
else:

    def __getattr__(name: str) -> type[Error]:
        # PEP 562: the deprecated names of the first release (see quiver.errors).
        return _deprecated_alias(__name__, name)
