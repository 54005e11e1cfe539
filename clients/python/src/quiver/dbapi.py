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

from .connection import COMPRESSION_HEADER, Certificate, Compression, _settings

if TYPE_CHECKING:
    import adbc_driver_flightsql.dbapi

__all__ = ["connect"]

# adbc_driver_flightsql.DatabaseOptions values, spelled out so importing this
# module does not need the driver.
_AUTHORIZATION_HEADER = "adbc.flight.sql.authorization_header"
_TLS_ROOT_CERTS = "adbc.flight.sql.client_option.tls_root_certs"
_MTLS_CERT_CHAIN = "adbc.flight.sql.client_option.mtls_cert_chain"
_MTLS_PRIVATE_KEY = "adbc.flight.sql.client_option.mtls_private_key"
_CALL_HEADER = "adbc.flight.sql.rpc.call_header."


def connect(
    uri: str | None = None,
    *,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    tls_root_certs: Certificate | None = None,
    cert_chain: Certificate | None = None,
    private_key: Certificate | None = None,
    autocommit: bool = True,
    compression: Compression | None = None,
) -> adbc_driver_flightsql.dbapi.Connection:
    """Open a DB-API connection to a Quiver server through ADBC Flight SQL.

    Arguments mean what they mean for :func:`quiver.connect`: the URI is
    ``host:port``, ``grpc://host:port`` or ``grpc+tls://host:port`` and
    defaults to ``$QUIVER_URI``, ``$QUIVER_SERVER``, then
    ``grpc://127.0.0.1:8815``; the token defaults to
    ``$QUIVER_TOKEN``; ``username``/``password`` log in with Basic auth;
    certificates are PEM data or paths; ``compression`` chooses the result
    compression. ``autocommit`` is on because Quiver is read-only and has
    no transactions.
    """
    try:
        import adbc_driver_flightsql.dbapi as flightsql
    except ImportError:
        raise ImportError("quiver.dbapi needs the ADBC driver: pip install 'quiver[dbapi]'") from None
    settings = _settings(uri, token, username, password, tls_root_certs, cert_chain, private_key, compression)
    options: dict[str, str] = {}
    if settings.token:
        options[_AUTHORIZATION_HEADER] = f"Bearer {settings.token}"
    if settings.username is not None and settings.password is not None:
        options["username"] = settings.username
        options["password"] = settings.password
    if settings.tls_root_certs is not None:
        options[_TLS_ROOT_CERTS] = settings.tls_root_certs.decode()
    if settings.cert_chain is not None and settings.private_key is not None:
        options[_MTLS_CERT_CHAIN] = settings.cert_chain.decode()
        options[_MTLS_PRIVATE_KEY] = settings.private_key.decode()
    if settings.compression is not None:
        options[_CALL_HEADER + COMPRESSION_HEADER] = settings.compression
    return flightsql.connect(settings.uri, db_kwargs=options, autocommit=autocommit)
