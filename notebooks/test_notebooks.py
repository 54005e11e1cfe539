"""Every notebook in this directory runs top to bottom against a live local server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from quiver_harness import QuiverServer

NOTEBOOKS = sorted(Path(__file__).resolve().parent.glob("*.ipynb"))


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_stored_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, local_quiver: QuiverServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIVER_URI", local_quiver.uri)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=_kernel_manager(tmp_path),
        timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    # Raises CellExecutionError, with the failing cell and its traceback, on any error.
    client.execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors
