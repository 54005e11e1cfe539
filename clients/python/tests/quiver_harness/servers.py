"""Real MinIO and Quiver processes, and the warehouses they serve.

A :class:`Warehouse` is a URI that ``quiver demo-data`` has filled, plus the
environment and flags a quiver process needs to read it (AWS credentials and
``--s3-endpoint`` for MinIO). Readiness is checked the way a user would: MinIO
answers its health endpoint, Quiver answers ``SELECT 1``.

A local warehouse may also hold the demo's Iceberg table (``quiver demo-data``
writes a SQL catalog under ``_iceberg/``); ``start_quiver`` then serves it as
catalog ``lake``, as ``make demo`` does. Only ``make_local_warehouse(...,
iceberg=True)`` asks for one: the end-to-end tests expect one catalog, and
their oracle would read ``_iceberg/`` as a table.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .flightraw import flight_fetch
from .processes import ManagedProcess, free_port, wait_until
from .tools import Tools

MINIO_USER = "quiveradmin"
MINIO_PASSWORD = "quiversecret-e2e"
MINIO_REGION = "us-east-1"

#: The catalog name the demo's Iceberg table is served under (``lake.billing.invoices``), as in ``make demo``.
ICEBERG_CATALOG = "lake"
#: The ``catalog_name`` of the rows of the SQL catalog ``quiver demo-data`` writes.
ICEBERG_SQL_CATALOG_NAME = "demo_lake"


@dataclass
class MinioServer:
    """MinioServer is a running MinIO with one bucket."""

    process: ManagedProcess
    port: int
    bucket: str
    access_key: str = MINIO_USER
    secret_key: str = MINIO_PASSWORD
    region: str = MINIO_REGION

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (``--s3-endpoint``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> str:
        """``127.0.0.1:PORT``, the form DuckDB's S3 secret wants."""
        return f"127.0.0.1:{self.port}"

    def aws_env(self) -> dict[str, str]:
        """Environment variables for the AWS default credential chain."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        """Stop MinIO."""
        self.process.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback only.
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_minio(tools: Tools, workdir: Path, bucket: str = "quiver", timeout: float = 60.0) -> MinioServer:
    """Start MinIO on a free loopback port with ``bucket`` already present.

    A directory created in the data dir before MinIO starts is a bucket, so
    no S3 client is needed to make one.
    """
    data = workdir / "data"
    (data / bucket).mkdir(parents=True, exist_ok=True)
    port, console = free_port(), free_port()
    env = {
        **os.environ,
        "MINIO_ROOT_USER": MINIO_USER,
        "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    proc = ManagedProcess(
        "minio",
        [
            str(tools.minio_bin),
            "server",
            str(data),
            "--address",
            f"127.0.0.1:{port}",
            "--console-address",
            f"127.0.0.1:{console}",
            "--quiet",
        ],
        workdir / "minio.log",
        env=env,
    )
    server = MinioServer(proc, port, bucket)
    health = f"{server.endpoint}/minio/health/live"
    if not wait_until(lambda: not proc.alive() or _healthy(health), timeout) or not proc.alive():
        description = proc.describe()
        proc.stop()
        raise RuntimeError(f"minio did not become healthy within {timeout}s: {description}")
    return server


@dataclass
class Warehouse:
    """Warehouse is a filled warehouse URI and what a process needs to read it."""

    kind: str
    uri: str
    scale: float
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    minio: MinioServer | None = None
    local_path: Path | None = None

    def table_glob(self, schema: str, table: str) -> str:
        """The read_parquet glob of one table, as the oracle defines it."""
        return f"{self.uri.rstrip('/')}/{schema}/{table}/**/*.parquet"

    def process_env(self) -> dict[str, str]:
        """The environment for a quiver process reading this warehouse."""
        return {**os.environ, **self.env}

    def iceberg_catalog(self) -> str | None:
        """The ``--iceberg-catalog`` value serving this local warehouse's Iceberg table, if it has one."""
        if self.local_path is None:
            return None
        root = self.local_path / "_iceberg"
        catalog = root / "catalog.db"
        if not catalog.is_file():
            return None
        warehouse = urllib.parse.quote(str(root / "tables"), safe="/")
        return f"{ICEBERG_CATALOG}=sqlite:{catalog}?warehouse={warehouse}&sql-catalog-name={ICEBERG_SQL_CATALOG_NAME}"


def run_demo_data(
    tools: Tools, warehouse: Warehouse, log_path: Path, timeout: float = 900.0, extra_args: list[str] | None = None
) -> float:
    """Run ``quiver demo-data`` into the warehouse and return how long it took.

    Raises RuntimeError with the command's output when it fails.
    """
    argv = [str(tools.quiver_bin), "demo-data", "--warehouse", warehouse.uri, "--scale", str(warehouse.scale)]
    argv += warehouse.args + (extra_args or [])
    started = time.monotonic()
    with open(log_path, "wb") as log:
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=warehouse.process_env(),
                timeout=timeout,
                start_new_session=True,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{' '.join(argv)} took more than {timeout}s; log {log_path}") from exc
    if result.returncode != 0:
        output = log_path.read_text(errors="replace")[-8000:]
        raise RuntimeError(f"{' '.join(argv)} exited with {result.returncode}:\n{output}")
    return time.monotonic() - started


def make_local_warehouse(
    tools: Tools, directory: Path, scale: float, log_dir: Path, iceberg: bool = False
) -> Warehouse:
    """Create a local-directory warehouse with the demo dataset, and with ``iceberg`` its Iceberg table."""
    directory.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse("local", str(directory), scale, local_path=directory)
    log = log_dir / f"demo-data-{directory.name}.log"
    run_demo_data(tools, warehouse, log, extra_args=[] if iceberg else ["--iceberg=false"])
    return warehouse


def make_s3_warehouse(tools: Tools, minio: MinioServer, prefix: str, scale: float, log_dir: Path) -> Warehouse:
    """Create an ``s3://bucket/prefix`` warehouse on MinIO with the demo dataset."""
    warehouse = Warehouse(
        "s3",
        f"s3://{minio.bucket}/{prefix}",
        scale,
        env=minio.aws_env(),
        args=["--s3-endpoint", minio.endpoint],
        minio=minio,
    )
    run_demo_data(tools, warehouse, log_dir / "demo-data-s3.log")
    return warehouse


@dataclass
class QuiverServer:
    """QuiverServer is a running ``quiver serve`` coordinator."""

    process: ManagedProcess
    port: int
    warehouse: Warehouse

    @property
    def uri(self) -> str:
        """The Flight URI clients connect to."""
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The coordinator's process id (its workers are its children)."""
        return self.process.pid

    def stop(self) -> int | None:
        """Stop the coordinator and its workers; return its exit code."""
        return self.process.stop()


def start_quiver(
    tools: Tools,
    warehouse: Warehouse,
    log_dir: Path,
    local_workers: int = 2,
    extra_args: list[str] | None = None,
    timeout: float = 90.0,
    token: str | None = None,
) -> QuiverServer:
    """Start ``quiver serve`` on a free port and wait until ``SELECT 1`` works.

    A local warehouse with the demo's Iceberg table is served with it (``Warehouse.iceberg_catalog``).
    ``token`` is the bearer token the readiness check sends to a server with authentication.
    """
    port = free_port()
    iceberg = warehouse.iceberg_catalog()
    argv = [
        str(tools.quiver_bin),
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--warehouse",
        warehouse.uri,
        "--local-workers",
        str(local_workers),
        "--extension-dir",
        str(tools.extension_dir),
        "--log-format",
        "text",
        *warehouse.args,
        *(["--iceberg-catalog", iceberg] if iceberg else []),
        *(extra_args or []),
    ]
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(
        f"quiver-{warehouse.kind}", argv, log_dir / f"quiver-{warehouse.kind}-{port}.log", env=warehouse.process_env()
    )
    server = QuiverServer(proc, port, warehouse)
    last_error: list[BaseException] = []

    def ready() -> bool:
        if not proc.alive():
            return True
        try:
            flight_fetch(server.uri, "SELECT 1", timeout=10, token=token)
        except Exception as exc:  # noqa: BLE001 - remembered for the failure message.
            last_error[:] = [exc]
            return False
        return True

    ok = wait_until(ready, timeout, interval=0.2)
    if not ok or not proc.alive():
        description = proc.describe()
        proc.stop()
        reason = f"last error: {last_error[0]!r}" if last_error else "no answer"
        raise RuntimeError(f"quiver serve did not answer SELECT 1 within {timeout}s ({reason}): {description}")
    return server
