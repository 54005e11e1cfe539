"""The connection options, declared once for every way of connecting.

:class:`ServerOptions` says where and as whom to connect (credentials, TLS,
result compression): :func:`quiver.dbapi.connect` takes those.
:class:`ConnectOptions` adds how the quiver client fetches (progress bars,
parallel streams): :func:`quiver.connect` and :class:`quiver.Connection`
take those, and ``%quiver connect`` turns each into a flag
(``max_streams`` → ``--max-streams``). Each key carries its default and a
line of help in its ``Annotated`` :class:`Option`; :func:`resolve` checks a
set of options and fills in the defaults, the environment and the
certificate files. A new option is one key here plus the code that uses it.

The URI is the positional argument of every entry point and is resolved here
too (:func:`resolve_uri`).
"""

from __future__ import annotations

import functools
import os
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, TypedDict
from urllib.parse import urlsplit

__all__ = [
    "COMPRESSIONS",
    "DECIMALS",
    "DEFAULT_URI",
    "ENVIRONMENT",
    "URI_FORMS",
    "URI_SCHEMES",
    "Certificate",
    "Compression",
    "ConnectOptions",
    "Decimals",
    "Option",
    "Progress",
    "SERVER_KEYS",
    "CONNECT_KEYS",
    "ServerOptions",
    "Settings",
    "declared",
    "resolve",
    "resolve_uri",
]

DEFAULT_URI = "grpc://127.0.0.1:8815"

# The variables an option not given is read from: the names the command line
# reads for its --token, --username, --password, --tls-ca, --tls-cert and
# --tls-key (cmd/quiver/connflags.go), so one environment points every client
# at a server. An empty variable counts as unset.
ENVIRONMENT: Mapping[str, str] = {
    "token": "QUIVER_TOKEN",
    "username": "QUIVER_USERNAME",
    "password": "QUIVER_PASSWORD",
    "tls_root_certs": "QUIVER_TLS_CA",
    "cert_chain": "QUIVER_TLS_CERT",
    "private_key": "QUIVER_TLS_KEY",
}

# The URI forms the client accepts, the same as ``quiver query --server``;
# bare ``host:port`` means ``grpc://host:port``.
URI_SCHEMES: tuple[str, ...] = ("grpc", "grpc+tcp", "grpc+tls")
URI_FORMS = "host:port, grpc://host:port or grpc+tls://host:port"

Progress = bool | Literal["auto"]
"""Whether to show a progress bar: ``True``, ``False`` or ``"auto"`` (in a notebook or on a TTY)."""

Certificate = str | bytes | os.PathLike[str]
"""PEM data as ``bytes`` or ``str``, or the path of a PEM file."""

Decimals = Literal["decimal", "float"]
"""What ``to_pandas()`` makes of DECIMAL columns: exact ``decimal.Decimal`` objects, or ``float64``."""
DECIMALS: tuple[str, ...] = ("decimal", "float")

Compression = Literal["auto", "off", "zstd", "lz4"]
"""How the server compresses result batches; see :func:`quiver.connect`."""
COMPRESSIONS: tuple[str, ...] = ("auto", "off", "zstd", "lz4")


class Option(NamedTuple):
    """Option describes one connection option, in the ``Annotated`` metadata of its key."""

    #: One line for ``%quiver connect --help``.
    help: str
    #: The value when the option is not given.
    default: object = None
    #: Other spellings of its ``%quiver connect`` flag than ``--the-name``.
    flags: tuple[str, ...] = ()
    #: Turns the flag's text into the value (the text is the value when None).
    parse: Callable[[str], object] | None = None
    #: PEM data or the path of a PEM file, read by :func:`resolve`.
    pem: bool = False


def _progress_text(text: str) -> object:
    # resolve() refuses anything else, with the message the keyword gets.
    return {"true": True, "false": False}.get(text.lower(), text)


class ServerOptions(TypedDict, total=False):
    """ServerOptions are where and as whom to connect: the keyword arguments of :func:`quiver.dbapi.connect`."""

    token: Annotated[str | None, Option("bearer token sent with every call (default: $QUIVER_TOKEN)")]
    username: Annotated[
        str | None,
        Option(
            "log in with Basic auth, then use the bearer token the server answers (default: $QUIVER_USERNAME)",
            flags=("-u",),
        ),
    ]
    password: Annotated[str | None, Option("password of --username (default: $QUIVER_PASSWORD)", flags=("-p",))]
    tls_root_certs: Annotated[
        Certificate | None,
        Option("PEM CA bundle that signed the server (default: $QUIVER_TLS_CA, else the system's)", pem=True),
    ]
    cert_chain: Annotated[
        Certificate | None, Option("PEM client certificate, mutual TLS (default: $QUIVER_TLS_CERT)", pem=True)
    ]
    private_key: Annotated[Certificate | None, Option("PEM key of --cert-chain (default: $QUIVER_TLS_KEY)", pem=True)]
    compression: Annotated[
        Compression | None, Option("result compression: auto, off, zstd or lz4 (default: the server's choice)")
    ]


class ConnectOptions(ServerOptions, total=False):
    """ConnectOptions are :class:`ServerOptions` and how to fetch: the keyword arguments of :func:`quiver.connect`."""

    progress: Annotated[
        Progress,
        Option("progress bars: true, false or auto (in notebooks and terminals)", default="auto", parse=_progress_text),
    ]
    max_streams: Annotated[int, Option("endpoints of one result fetched at once", default=8, parse=int)]
    preview_rows: Annotated[
        int, Option("rows a result's notebook display fetches (the rest is not fetched)", default=20, parse=int)
    ]
    decimals: Annotated[
        Decimals,
        Option("DECIMAL columns in to_pandas(): decimal (exact Decimal objects) or float (float64)", default="decimal"),
    ]


@functools.cache
def declared() -> dict[str, Option]:
    """Every option of :class:`ConnectOptions` (those of :class:`ServerOptions` first) and its :class:`Option`."""
    hints = typing.get_type_hints(ConnectOptions, include_extras=True)
    return {name: hint.__metadata__[0] for name, hint in hints.items()}


SERVER_KEYS: frozenset[str] = ServerOptions.__optional_keys__
CONNECT_KEYS: frozenset[str] = ConnectOptions.__optional_keys__


@dataclass(frozen=True)
class Settings:
    """Settings are a set of options checked and completed by :func:`resolve`."""

    uri: str
    #: Every declared option: the value given, else its variable of :data:`ENVIRONMENT`, else its default.
    #: Both are kept out of the repr: they hold credentials and keys.
    options: ConnectOptions = field(repr=False)
    #: The PEM options given (``tls_root_certs``, ``cert_chain``, ``private_key``), read from their files.
    pems: Mapping[str, bytes] = field(repr=False)


def resolve(
    uri: str | None, options: Mapping[str, object], *, accepted: Collection[str] = CONNECT_KEYS, caller: str = "connect"
) -> Settings:
    """Check the options of one entry point (``accepted`` are its keys) and fill in the defaults.

    An unknown option is a ``TypeError``, as for any keyword argument; a bad
    value or combination is a ``ValueError``.
    """
    for name in options:
        if name not in accepted:
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
    values = {name: options[name] if name in options else option.default for name, option in declared().items()}
    from_env = _from_environment(values)
    opts = typing.cast(ConnectOptions, values)
    username, password = opts["username"], opts["password"]
    if (username is None) != (password is None):
        raise ValueError("username and password go together: pass both or neither (or set $QUIVER_PASSWORD)")
    if opts["token"] is not None and username is not None:
        raise ValueError("pass either token or username/password, not both")
    if (opts["cert_chain"] is None) != (opts["private_key"] is None):
        raise ValueError("cert_chain and private_key go together: pass both or neither")
    compression = opts["compression"]
    if compression is not None and compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)} or None, got {compression!r}")
    progress = opts["progress"]
    if progress not in (True, False, "auto"):
        raise ValueError(f"progress must be True, False or 'auto', got {progress!r}")
    max_streams = opts["max_streams"]
    if isinstance(max_streams, bool) or not isinstance(max_streams, int) or max_streams < 1:
        raise ValueError(f"max_streams must be at least 1, got {max_streams!r}")
    preview_rows = opts["preview_rows"]
    if isinstance(preview_rows, bool) or not isinstance(preview_rows, int) or preview_rows < 1:
        raise ValueError(f"preview_rows must be at least 1, got {preview_rows!r}")
    check_decimals(opts["decimals"])
    pems: dict[str, bytes] = {}
    for name, option in declared().items():
        value = values[name]
        if option.pem and value is not None:
            label = f"{name} (${ENVIRONMENT[name]})" if name in from_env else name
            pems[name] = _pem(typing.cast(Certificate, value), label)
    return Settings(resolve_uri(uri), opts, pems)


def check_decimals(value: object) -> None:
    """Refuse a ``decimals`` value other than those of :data:`DECIMALS`."""
    if value not in DECIMALS:
        raise ValueError(f"decimals must be one of {', '.join(map(repr, DECIMALS))}, got {value!r}")


def _from_environment(values: dict[str, object]) -> set[str]:
    """Fill the options not given from :data:`ENVIRONMENT`; what was given always wins.

    Credentials come from one place: a token or username given explicitly
    means the credential variables are not read (except ``$QUIVER_PASSWORD``
    for an explicit username, as ``psql`` reads ``$PGPASSWORD``). From the
    environment alone, ``$QUIVER_TOKEN`` with ``$QUIVER_USERNAME`` is refused,
    as the command line refuses it.
    """
    env = {name: os.environ.get(var) or None for name, var in ENVIRONMENT.items()}
    given = {name for name in ENVIRONMENT if values[name] is not None}
    if values["token"] is None and values["username"] is None:
        if env["token"] is not None and env["username"] is not None:
            raise ValueError(
                "$QUIVER_TOKEN and $QUIVER_USERNAME are both set: unset one, or pass token or username explicitly"
            )
        values["token"] = env["token"]
        values["username"] = env["username"]
    if values["username"] is not None and values["password"] is None:
        values["password"] = env["password"]
    for name in ("tls_root_certs", "cert_chain", "private_key"):
        if values[name] is None:
            values[name] = env[name]
    return {name for name in ENVIRONMENT if values[name] is not None} - given


def resolve_uri(uri: str | None) -> str:
    """The URI to dial: ``uri``, else ``$QUIVER_URI``, else ``$QUIVER_SERVER``
    (the command line's old name; an empty variable counts as unset), else
    :data:`DEFAULT_URI`. Bare ``host:port`` becomes ``grpc://host:port``;
    any other form than those in :data:`URI_SCHEMES` with a host and a port
    is a ``ValueError``, as ``quiver query --server`` refuses it."""
    given = uri or os.environ.get("QUIVER_URI") or os.environ.get("QUIVER_SERVER") or DEFAULT_URI
    scheme, sep, rest = given.partition("://")
    if not sep:
        scheme, rest = "grpc", given
    if scheme not in URI_SCHEMES:
        raise ValueError(f"uri {given!r}: unsupported scheme {scheme!r}; want {URI_FORMS}")
    netloc = urlsplit("//" + rest)
    try:
        port = netloc.port
    except ValueError:
        port = None
    if not netloc.hostname or port is None:
        raise ValueError(f"uri {given!r}: want {URI_FORMS}")
    return f"{scheme}://{rest}"


def _pem(value: Certificate, name: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.encode()
    path = Path(value)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{name}: cannot read PEM file {path}: {exc.strerror}") from None
