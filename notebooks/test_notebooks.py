"""Every notebook here runs top to bottom against a live server over the demo data in MinIO.

The notebooks are committed with their outputs (``make notebooks`` runs ``refresh.py`` against
``make demo``'s server); here they are executed again and the stored outputs checked for volatile ids.

The server is the session's S3 deployment (``quiver serve`` over
``s3://quiver/warehouse`` on a MinIO started by the harness). The kernel gets
``QUIVER_URI`` and, for the report notebook, the MinIO endpoint and
credentials, so the report is written to and read back from the same MinIO.
The lakehouse notebook reads the demo's Iceberg table, which only a local
warehouse has: it runs against a server of its own over one, served as
``make demo`` serves it (catalog ``lake``). The governance notebook runs
against a governed server of its own (``quiver_harness.governance``: JWT
roles, a tag policy, a catalog file, ``crm.people`` beside the demo data, in
a warehouse its acceptances may write to); the kernel gets a token per role
in ``refresh.TOKENS``' variables, as ``refresh.py`` hands them over.
A notebook passes when no cell fails and it drew its chart (an image/png
output).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from quiver_harness import QuiverServer, Tools, make_local_warehouse, start_quiver
from quiver_harness.governance import GovernedServer, make_governed_warehouse, start_governed
from quiver_harness.plugin import e2e_scale
from refresh import GOVERNED, TOKENS, WIDGET, volatile

NOTEBOOKS = sorted(Path(__file__).resolve().parent.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_distributed_analytics.ipynb",
    "03_report_to_s3.ipynb",
    "04_lakehouse.ipynb",
    "05_governance.ipynb",
]
#: The notebooks that read the demo's Iceberg table (lake.billing.invoices).
LAKEHOUSE = {"04_lakehouse.ipynb"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def lake_quiver(quiver_tools: Tools, harness_dir: Path) -> Iterator[QuiverServer]:
    """``quiver serve`` over a local demo warehouse with its Iceberg table, as catalog ``lake``."""
    warehouse = make_local_warehouse(quiver_tools, harness_dir / "lake-warehouse", e2e_scale(), harness_dir, iceberg=True)
    assert warehouse.iceberg_catalog(), "quiver demo-data wrote no Iceberg catalog"
    server = start_quiver(quiver_tools, warehouse, harness_dir / "logs", local_workers=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def governed_quiver(quiver_tools: Tools, harness_dir: Path) -> Iterator[GovernedServer]:
    """A governed ``quiver serve`` over a warehouse of its own: the demo data and ``crm.people``."""
    warehouse = make_governed_warehouse(quiver_tools, harness_dir / "governed-warehouse", harness_dir, e2e_scale())
    server = start_governed(quiver_tools, warehouse, harness_dir / "governed")
    try:
        yield server
    finally:
        server.stop()


def _kernel_manager(tmp_path: Path) -> KernelManager:
    # A kernelspec for this very interpreter, so the notebook imports the quiver
    # package installed next to pytest and not whatever "python3" means elsewhere.
    spec_dir = tmp_path / "kernels" / "quiver-test"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "quiver test",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="quiver-test", kernel_spec_manager=ksm)


def _outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def test_the_notebooks_are_all_here() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_with_clean_outputs(path: Path) -> None:
    """The committed notebook shows a reader its results (refresh.py wrote them), and nothing volatile."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{path.name}: run notebooks/refresh.py"
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"], f"{path.name} was stored with an error"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} was stored without its chart"
    assert "widgets" not in nb.metadata
    for cell in code:
        assert "execution" not in cell.metadata, f"{path.name}: timings stored"
        for out in cell.outputs:
            assert WIDGET not in out.get("data", {}), f"{path.name}: a widget id stored"
            texts = [out.get("text", "")] + [v for v in out.get("data", {}).values() if isinstance(v, str)]
            found = [v for text in texts for v in volatile(text)]
            assert not found, f"{path.name}: volatile output {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_draws_its_chart(
    path: Path, s3_quiver: QuiverServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    minio = s3_quiver.warehouse.minio
    assert minio is not None
    server: QuiverServer = request.getfixturevalue("lake_quiver") if path.name in LAKEHOUSE else s3_quiver
    # The kernel inherits this environment.
    monkeypatch.delenv("QUIVER_TOKEN", raising=False)
    if path.name in GOVERNED:
        governed: GovernedServer = request.getfixturevalue("governed_quiver")
        server = governed.server
        for role, variable in TOKENS.items():
            monkeypatch.setenv(variable, governed.tokens[role])
    monkeypatch.setenv("QUIVER_URI", server.uri)
    monkeypatch.setenv("QUIVER_S3_ENDPOINT", minio.endpoint)
    prefix = f"{minio.bucket}/notebook-reports/{uuid.uuid4().hex}"
    monkeypatch.setenv("QUIVER_REPORT_PREFIX", prefix)
    for key, value in minio.aws_env().items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=_kernel_manager(tmp_path),
        timeout=180,
        allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    # Raises CellExecutionError, with the failing cell and its traceback, on any error.
    client.execute()
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o.data["image/png"] for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert images, f"{path.name} drew no chart"
    assert all(base64.b64decode(img).startswith(PNG_MAGIC) for img in images)
    if path.name == "02_distributed_analytics.ipynb":
        # The tqdm.auto progress bar is a Jupyter widget in a kernel.
        widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert widgets, "02 showed no progress bar"
    if path.name == "04_lakehouse.ipynb":
        # Time travel read the snapshots before the correction: January's premium
        # invoices cost less now than as billed (the other plans are unchanged),
        # and right after February's run they were still at 19.99.
        texts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs]
        assert any(re.search(r"premium\s+\S+\s+\S+\s+-\d", t) for t in texts), "04: no premium correction"
        assert any(re.search(r"basic\s+(\S+)\s+\1\s+0\.00", t) for t in texts), "04: basic changed"
        assert any(re.search(r"2025-01-01\s+\d+\s+\S+\s+19\.99", t) for t in texts), "04: no 19.99 January"
    if path.name == "05_governance.ipynb":
        # The accepted detections masked email and phone for the analyst, not for the privacy officer,
        # and left two violations of four.
        texts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs]
        assert any("violations: 4 before, 2 after" in t for t in texts), "05: violations did not shrink"
        assert any(re.search(r"0\s+NaN\s+\*\*\*\s+\*\*\*\s+Ann\s+10\.0\.0\.1", t) for t in texts), "05: not masked"
        assert any(re.search(r"0\s+0\s+user0@example\.com\s+\+14155550000\s+Ann", t) for t in texts), "05: privacy"
        assert any("PermissionDenied: " in t for t in texts), "05: the analyst accepted a detection"
    if path.name == "03_report_to_s3.ipynb":
        # The report really went to MinIO, and holds the query's rows.
        s3 = pafs.S3FileSystem(
            endpoint_override=minio.host_port,
            scheme="http",
            access_key=minio.access_key,
            secret_key=minio.secret_key,
            region=minio.region,
        )
        written = [
            f.path
            for f in s3.get_file_info(pafs.FileSelector(prefix, recursive=True))
            if f.type == pafs.FileType.File
        ]
        # Published by `quiver query --out s3://…`: the object and its marker, no staging left.
        assert sorted(p.rsplit("/", 1)[-1] for p in written) == ["_SUCCESS", "part-0.parquet"], written
        parquet = next(p for p in written if p.endswith(".parquet"))
        assert pq.read_table(parquet, filesystem=s3).num_rows > 0
