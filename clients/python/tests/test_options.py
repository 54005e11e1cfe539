"""The connection options are declared once (quiver.options) and every entry point takes them from there."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

import quiver
import quiver.dbapi
from quiver import magics, options
from quiver.magics import QuiverMagics

FETCH_OPTIONS = {"progress", "max_streams", "preview_rows", "decimals"}


def test_the_declaration_lists_every_option() -> None:
    assert list(options.declared()) == [
        "token",
        "username",
        "password",
        "tls_root_certs",
        "cert_chain",
        "private_key",
        "compression",
        "progress",
        "max_streams",
        "preview_rows",
        "decimals",
    ]
    assert options.CONNECT_KEYS == set(options.declared())
    assert options.CONNECT_KEYS - options.SERVER_KEYS == FETCH_OPTIONS


@pytest.mark.parametrize(
    ("entry", "parameters"),
    [
        (quiver.connect, ["uri", "options"]),
        (quiver.Connection.__init__, ["self", "uri", "options"]),
        (quiver.dbapi.connect, ["uri", "autocommit", "options"]),
    ],
)
def test_entry_points_take_the_declared_options(entry: Callable[..., Any], parameters: list[str]) -> None:
    # No entry point spells the options out again: they arrive as **options.
    signature = inspect.signature(entry)
    assert list(signature.parameters) == parameters
    assert signature.parameters["options"].kind is inspect.Parameter.VAR_KEYWORD


def test_defaults_come_from_the_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    settings = options.resolve("127.0.0.1:1", {})
    assert settings.uri == "grpc://127.0.0.1:1"
    assert settings.options == {name: option.default for name, option in options.declared().items()}
    assert settings.options["progress"] == "auto" and settings.options["max_streams"] == 8
    assert settings.options["preview_rows"] == 20 and settings.options["decimals"] == "decimal"
    assert "s3cret" not in repr(options.resolve("127.0.0.1:1", {"token": "s3cret"}))


def test_pem_options_are_read(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nx\n")
    settings = options.resolve("127.0.0.1:1", {"tls_root_certs": str(ca), "cert_chain": b"c", "private_key": b"k"})
    assert dict(settings.pems) == {"tls_root_certs": ca.read_bytes(), "cert_chain": b"c", "private_key": b"k"}


def test_unknown_options_are_type_errors() -> None:
    with pytest.raises(TypeError, match="connect\\(\\) got an unexpected keyword argument 'max_stream'"):
        quiver.connect("127.0.0.1:1", max_stream=2)  # type: ignore[call-arg]
    # The fetch options are the quiver client's; ADBC fetches on its own.
    for name in FETCH_OPTIONS:
        with pytest.raises(TypeError, match=f"quiver.dbapi.connect\\(\\) got an unexpected keyword argument '{name}'"):
            quiver.dbapi.connect("127.0.0.1:1", **{name: 1})  # type: ignore[misc]


def test_the_magic_has_a_flag_for_every_option() -> None:
    parser = magics._connect_parser()
    dests = {action.dest for action in parser._actions} - {"uri"}
    assert dests == set(options.declared())
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {"--max-streams", "--tls-root-certs", "-u", "-p"} <= flags


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, dict[str, object]]]:
    calls: list[tuple[str | None, dict[str, object]]] = []

    def fake_connect(uri: str | None = None, **kwargs: object) -> object:
        calls.append((uri, kwargs))
        return object()

    monkeypatch.setattr(magics, "connect", fake_connect)
    return calls


def test_the_magic_passes_the_options_on(
    connected: list[tuple[str | None, dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = QuiverMagics(None)
    shell._connect(["h:1", "-u", "bob", "--password", "pw", "--max-streams", "3", "--progress", "false"])
    shell.connection = None
    shell._connect(["--compression", "zstd", "--tls-root-certs", "ca.pem"])
    shell.connection = None
    monkeypatch.setattr(magics.getpass, "getpass", lambda prompt: "asked")
    shell._connect(["-u", "bob"])
    assert connected == [
        ("h:1", {"username": "bob", "password": "pw", "max_streams": 3, "progress": False}),
        (None, {"compression": "zstd", "tls_root_certs": "ca.pem"}),
        (None, {"username": "bob", "password": "asked"}),
    ]


def test_the_magic_reports_bad_values_as_usage_errors() -> None:
    shell = QuiverMagics(None)
    with pytest.raises(UsageError, match="--max-streams: 'many'"):
        shell._connect(["--max-streams", "many"])
    with pytest.raises(UsageError, match="progress must be True, False or 'auto', got 'sometimes'"):
        shell._connect(["127.0.0.1:1", "--progress", "sometimes"])


ENV = {
    "QUIVER_TOKEN": "env-token",
    "QUIVER_USERNAME": "ann",
    "QUIVER_PASSWORD": "env-pw",
    "QUIVER_TLS_CA": "ca.pem",
    "QUIVER_TLS_CERT": "cert.pem",
    "QUIVER_TLS_KEY": "key.pem",
}


@pytest.fixture
def pem_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding ca.pem, cert.pem and key.pem (the names ENV points at)."""
    for name in ("ca", "cert", "key"):
        (tmp_path / f"{name}.pem").write_bytes(f"-----BEGIN {name}-----\n".encode())
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("env", "given", "want"),
    [
        pytest.param({"QUIVER_TOKEN": "env-token"}, {}, {"token": "env-token"}, id="token"),
        pytest.param(
            {"QUIVER_USERNAME": "ann", "QUIVER_PASSWORD": "env-pw"},
            {},
            {"username": "ann", "password": "env-pw"},
            id="username and password",
        ),
        pytest.param({"QUIVER_TOKEN": "env-token"}, {"token": "mine"}, {"token": "mine"}, id="explicit token wins"),
        # An explicit credential of either kind means the credential variables are not read...
        pytest.param(ENV, {"token": "mine"}, {"token": "mine"}, id="explicit token ignores env username"),
        pytest.param(
            ENV,
            {"username": "bob", "password": "pw"},
            {"username": "bob", "password": "pw"},
            id="explicit username ignores env token",
        ),
        # ...except the password of an explicit username, as psql reads $PGPASSWORD.
        pytest.param(ENV, {"username": "bob"}, {"username": "bob", "password": "env-pw"}, id="env password"),
        pytest.param({"QUIVER_TOKEN": "", "QUIVER_USERNAME": ""}, {}, {}, id="empty counts as unset"),
    ],
)
def test_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], given: dict[str, object], want: dict[str, object]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    opts = options.resolve("127.0.0.1:1", {**given, "tls_root_certs": b"-", "cert_chain": b"-", "private_key": b"-"})
    got = {name: opts.options[name] for name in ("token", "username", "password")}
    assert got == {"token": None, "username": None, "password": None, **want}


def test_tls_files_from_the_environment(monkeypatch: pytest.MonkeyPatch, pem_dir: Path) -> None:
    for name in ("QUIVER_TLS_CA", "QUIVER_TLS_CERT", "QUIVER_TLS_KEY"):
        monkeypatch.setenv(name, ENV[name])
    settings = options.resolve("grpc+tls://127.0.0.1:1", {})
    assert dict(settings.pems) == {
        "tls_root_certs": b"-----BEGIN ca-----\n",
        "cert_chain": b"-----BEGIN cert-----\n",
        "private_key": b"-----BEGIN key-----\n",
    }
    # What is passed wins, one option at a time.
    settings = options.resolve("grpc+tls://127.0.0.1:1", {"tls_root_certs": b"given"})
    assert settings.pems["tls_root_certs"] == b"given" and settings.pems["cert_chain"] == b"-----BEGIN cert-----\n"


def test_environment_mistakes_name_the_variable(monkeypatch: pytest.MonkeyPatch, pem_dir: Path) -> None:
    monkeypatch.setenv("QUIVER_TLS_CA", str(pem_dir / "missing.pem"))
    with pytest.raises(ValueError, match=r"tls_root_certs \(\$QUIVER_TLS_CA\): cannot read PEM file .*missing.pem"):
        options.resolve("127.0.0.1:1", {})
    monkeypatch.delenv("QUIVER_TLS_CA")
    monkeypatch.setenv("QUIVER_TOKEN", "t")
    monkeypatch.setenv("QUIVER_USERNAME", "ann")
    with pytest.raises(ValueError, match=r"\$QUIVER_TOKEN and \$QUIVER_USERNAME are both set"):
        options.resolve("127.0.0.1:1", {})
    monkeypatch.delenv("QUIVER_TOKEN")
    with pytest.raises(ValueError, match="username and password go together"):
        options.resolve("127.0.0.1:1", {})
    monkeypatch.setenv("QUIVER_TLS_CERT", "cert.pem")
    with pytest.raises(ValueError, match="cert_chain and private_key go together"):
        options.resolve("127.0.0.1:1", {"token": "t"})


def test_the_magic_does_not_ask_for_a_password_in_the_environment(
    connected: list[tuple[str | None, dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIVER_PASSWORD", "env-pw")

    def no_prompt(prompt: str) -> str:
        raise AssertionError("asked for a password")

    monkeypatch.setattr(magics.getpass, "getpass", no_prompt)
    QuiverMagics(None)._connect(["-u", "bob"])
    assert connected == [(None, {"username": "bob"})]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"decimals": "double"}, "decimals must be one of 'decimal', 'float', got 'double'"),
        ({"preview_rows": 0}, "preview_rows must be at least 1, got 0"),
    ],
)
def test_bad_fetch_options(given: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        options.resolve("127.0.0.1:1", given)
