"""PEP 249 (DB-API) connections through the ADBC Flight SQL driver.

For tools that want a DB-API connection (SQLAlchemy-free reporting tools,
``polars.read_database``, ``pandas.read_sql``), :func:`connect` returns an
ADBC Flight SQL connection (a subclass of
``adbc_driver_manager.dbapi.Connection``) configured with the same URI,
credentials and TLS settings as :func:`quiver.connect`::

    import polars as pl
    import quiver.dbapi

    with quiver.dbapi.connect("grpc://127.0.0.1:8815") as conn:
        df = pl.read_database("SELECT * FROM demo.titles", conn)

Errors are quiver's: every exception the connection and its cursors raise
for the driver, the transport or the server is a :class:`quiver.Error`, and
this module's PEP 249 classes are quiver's own (``quiver.dbapi.Error`` is
``quiver.Error``; see :mod:`quiver.errors`). A server error is the quiver
class of its gRPC status, as for :func:`quiver.connect`:
:class:`~quiver.QueryError` (a ``ProgrammingError``) for bad SQL,
:class:`~quiver.NotFound` for an unknown table, :class:`~quiver.Unavailable`
(an ``OperationalError``) for unreachable servers or workers,
:class:`~quiver.Timeout` (an ``OperationalError`` and a ``TimeoutError``)
past the query timeout; ``INTERNAL`` is an ``InternalError``,
``UNIMPLEMENTED`` a ``NotSupportedError``, any other code a
``DatabaseError``. ``.code`` and ``.message`` are set as for the quiver
client. Errors the ADBC driver raises itself (a fetch before ``execute``) are
the PEP 249 class of the same name, with ``.code`` None; the ADBC or pyarrow
exception is kept in ``.transport_error``. :func:`connect` raises
:class:`InvalidArgument` (also a ``ValueError``) for arguments it refuses and
:class:`DriverMissing` (also an ``ImportError``) without the driver.

Needs ``pip install 'quiver[dbapi]'`` (the ADBC driver).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from .options import SERVER_KEYS, resolve

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._adbc import Connection as Connection
    from ._adbc import Cursor as Cursor
    from .options import ServerOptions

# Left out of __all__: Warning, which a star import would let hide the builtin
# Warning, and Connection and Cursor, which need the driver.
__all__ = [
    "DataError",
    "DatabaseError",
    "DriverMissing",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "InvalidArgument",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]

#: PEP 249 globals: DB-API 2.0; threads may share the module, not connections; ``?`` parameters.
apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"


class Warning(Exception):  # noqa: A001 - the name PEP 249 gives it.
    """Warning is PEP 249's warning class (not an :class:`~quiver.Error`); the driver raises none."""


class InvalidArgument(ProgrammingError, ValueError):
    """InvalidArgument means :func:`connect` refused its arguments (a bad URI, a password without a username)."""


class DriverMissing(InterfaceError, ImportError):
    """DriverMissing means the ADBC Flight SQL driver is not installed: ``pip install 'quiver[dbapi]'``."""


def connect(uri: str | None = None, *, autocommit: bool = True, **options: Unpack[ServerOptions]) -> Connection:
    """Open a DB-API connection to a Quiver server through ADBC Flight SQL.

    Arguments mean what they mean for :func:`quiver.connect`: the URI is
    ``host:port``, ``grpc://host:port`` or ``grpc+tls://host:port`` and
    defaults to ``$QUIVER_URI``, ``$QUIVER_SERVER``, then
    ``grpc://127.0.0.1:8815``; the token defaults to
    ``$QUIVER_TOKEN``; ``username``/``password`` log in with Basic auth;
    certificates are PEM data or paths; ``compression`` chooses the result
    compression (all of :class:`quiver.options.ServerOptions`).
    ``autocommit`` is on because Quiver is read-only and has no
    transactions.
    """
    try:
        settings = resolve(uri, options, accepted=SERVER_KEYS, caller="quiver.dbapi.connect")
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    try:
        from . import _adbc
    except ImportError:
        raise DriverMissing("quiver.dbapi needs the ADBC driver: pip install 'quiver[dbapi]'") from None
    return _adbc.connect(settings, autocommit=autocommit)


if not TYPE_CHECKING:

    def __getattr__(name: str) -> type:
        # Connection and Cursor subclass the driver's classes: imported when
        # named, so that this module imports without the driver.
        if name in ("Connection", "Cursor"):
            from . import _adbc

            return getattr(_adbc, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
