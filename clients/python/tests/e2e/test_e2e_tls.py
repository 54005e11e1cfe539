"""TLS and mTLS round trips with pyarrow.flight against a real ``quiver serve``.

Certificates are generated per test with the ``openssl`` command line; the
Go end-to-end tests cover the same with arrow-go.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow.flight as flight
import pytest

import quiver
import quiver.dbapi
from quiver_harness.processes import ManagedProcess, free_port, wait_until
from quiver_harness.servers import Tools, Warehouse

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make certificates")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _pki(dir: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (CN carol)."""
    p = {name: dir / name for name in ["ca.key", "ca.pem", "server.key", "server.pem", "client.key", "client.pem"]}
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(p["ca.key"]), "-out", str(p["ca.pem"]),
             "-days", "1", "-subj", "/CN=quiver-test-ca")
    for who, subj, ext in [("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
                           ("client", "/CN=carol", "extendedKeyUsage=clientAuth")]:
        csr = dir / f"{who}.csr"
        key = str(p[f"{who}.key"])
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", str(csr), "-subj", subj)
        extfile = dir / f"{who}.ext"
        extfile.write_text(ext + "\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(p["ca.pem"]), "-CAkey", str(p["ca.key"]),
                 "-CAcreateserial", "-out", str(p[f"{who}.pem"]), "-days", "1", "-extfile", str(extfile))
    return p


def _serve_tls(tools: Tools, warehouse: Warehouse, dir: Path, *extra: str) -> tuple[ManagedProcess, str]:
    port = free_port()
    argv = [str(tools.quiver_bin), "serve", "--listen", f"127.0.0.1:{port}", "--warehouse", warehouse.uri,
            "--local-workers", "1", "--extension-dir", str(tools.extension_dir), *warehouse.args, *extra]
    proc = ManagedProcess("quiver-tls", argv, dir / f"quiver-tls-{port}.log", env=warehouse.process_env())
    return proc, f"grpc+tls://127.0.0.1:{port}"


def _count(client: flight.FlightClient) -> int:
    info = client.get_flight_info(flight.FlightDescriptor.for_command(b"SELECT count(*) AS n FROM demo.titles"))
    total = 0
    for ep in info.endpoints:
        total += client.do_get(ep.ticket).read_all().column(0)[0].as_py()
    return total


def test_tls_round_trip(quiver_tools: Tools, local_warehouse: Warehouse, tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    tls = ["--tls-cert", str(pki["server.pem"]), "--tls-key", str(pki["server.key"])]
    proc, uri = _serve_tls(quiver_tools, local_warehouse, tmp_path, *tls, "--insecure-no-auth")
    try:
        client = flight.FlightClient(uri, tls_root_certs=pki["ca.pem"].read_bytes())
        assert wait_until(lambda: _try(lambda: _count(client)), 60), proc.describe()
        assert _count(client) > 0
        with pytest.raises(flight.FlightUnavailableError):
            # A client that does not trust the server's CA cannot connect.
            _count(flight.FlightClient(uri))
    finally:
        proc.stop()


def test_mtls_client_certificate_is_required(quiver_tools: Tools, local_warehouse: Warehouse, tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    proc, uri = _serve_tls(quiver_tools, local_warehouse, tmp_path, "--tls-cert", str(pki["server.pem"]),
                           "--tls-key", str(pki["server.key"]), "--tls-client-ca", str(pki["ca.pem"]))
    try:
        client = flight.FlightClient(uri, tls_root_certs=pki["ca.pem"].read_bytes(),
                                     cert_chain=pki["client.pem"].read_bytes(),
                                     private_key=pki["client.key"].read_bytes())
        assert wait_until(lambda: _try(lambda: _count(client)), 60), proc.describe()
        assert _count(client) > 0
        anonymous = flight.FlightClient(uri, tls_root_certs=pki["ca.pem"].read_bytes())
        with pytest.raises(flight.FlightError):
            _count(anonymous)
    finally:
        proc.stop()


def test_quiver_connect_over_tls_and_mtls(quiver_tools: Tools, local_warehouse: Warehouse, tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    proc, uri = _serve_tls(quiver_tools, local_warehouse, tmp_path, "--tls-cert", str(pki["server.pem"]),
                           "--tls-key", str(pki["server.key"]), "--tls-client-ca", str(pki["ca.pem"]))
    try:
        probe = flight.FlightClient(uri, tls_root_certs=pki["ca.pem"].read_bytes(),
                                    cert_chain=pki["client.pem"].read_bytes(),
                                    private_key=pki["client.key"].read_bytes())
        assert wait_until(lambda: _try(lambda: _count(probe)), 60), proc.describe()
        want = _count(probe)
        # Paths and PEM bytes both work.
        with quiver.connect(uri, tls_root_certs=pki["ca.pem"], cert_chain=str(pki["client.pem"]),
                            private_key=pki["client.key"].read_bytes()) as conn:
            assert conn.sql(COUNT).to_arrow().column(0)[0].as_py() == want
        with quiver.dbapi.connect(uri, tls_root_certs=pki["ca.pem"], cert_chain=pki["client.pem"],
                                  private_key=pki["client.key"]) as conn, conn.cursor() as cur:
            cur.execute(COUNT)
            assert cur.fetchall() == [(want,)]
        # Without the client certificate the server refuses the TLS handshake.
        with quiver.connect(uri, tls_root_certs=pki["ca.pem"]) as conn, pytest.raises(quiver.Unavailable):
            conn.sql(COUNT)
    finally:
        proc.stop()


COUNT = "SELECT count(*) AS n FROM demo.titles"


def _try(fn: object) -> bool:
    try:
        fn()  # type: ignore[operator]
    except Exception:  # noqa: BLE001 - not ready yet
        return False
    return True
