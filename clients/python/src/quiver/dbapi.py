"""PEP 249 (DB-API) connections through the ADBC Flight SQL driver.

For tools that want a DB-API connection (SQLAlchemy-free reporting tools,
``polars.read_database``, ``pandas.read_sql``), :func:`connect` returns an
``adbc_driver_flightsql.dbapi.Connection`` configured with the same URI,
credentials and TLS settings as :func:`quiver.connect`::

    import polars as pl
    import quiver.dbapi

    with quiver.dbapi.connect("grpc://127.0.0.1:8815") as conn:
        df = pl.read_database("SELECT * FROM demo.titles", conn)

Needs ``pip install 'quiver[dbapi]'`` (the ADBC driver).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .connection import COMPRESSION_HEADER
from .options import SERVER_KEYS, resolve

if TYPE_CHECKING:
    import adbc_driver_flightsql.dbapi
    from typing_extensions import Unpack

    from .options import ServerOptions

__all__ = ["connect"]

# adbc_driver_flightsql.DatabaseOptions values, spelled out so importing this
# module does not need the driver.
_AUTHORIZATION_HEADER = "adbc.flight.sql.authorization_header"
# The PEM options by name.
_PEM_OPTIONS = {
    "tls_root_certs": "adbc.flight.sql.client_option.tls_root_certs",
    "cert_chain": "adbc.flight.sql.client_option.mtls_cert_chain",
    "private_key": "adbc.flight.sql.client_option.mtls_private_key",
}
_CALL_HEADER = "adbc.flight.sql.rpc.call_header."


def connect(
    uri: str | None = None, *, autocommit: bool = True, **options: Unpack[ServerOptions]
) -> adbc_driver_flightsql.dbapi.Connection:
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
        import adbc_driver_flightsql.dbapi as flightsql
    except ImportError:
        raise ImportError("quiver.dbapi needs the ADBC driver: pip install 'quiver[dbapi]'") from None
    settings = resolve(uri, options, accepted=SERVER_KEYS, caller="quiver.dbapi.connect")
    opts = settings.options
    db_kwargs: dict[str, str] = {}
    if opts["token"]:
        db_kwargs[_AUTHORIZATION_HEADER] = f"Bearer {opts['token']}"
    if opts["username"] is not None and opts["password"] is not None:
        db_kwargs["username"] = opts["username"]
        db_kwargs["password"] = opts["password"]
    for name, pem in settings.pems.items():
        db_kwargs[_PEM_OPTIONS[name]] = pem.decode()
    if opts["compression"] is not None:
        db_kwargs[_CALL_HEADER + COMPRESSION_HEADER] = opts["compression"]
    return flightsql.connect(settings.uri, db_kwargs=db_kwargs, autocommit=autocommit)
