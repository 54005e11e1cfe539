"""The package builds and installs offline from the wheelhouse `make tools` fills."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import quiver
from quiver_harness import repo_root


def _wheelhouse() -> Path:
    return Path(os.environ.get("QUIVER_WHEELHOUSE") or repo_root() / ".tools" / "wheels" / "python")


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # No index, no network: only the wheelhouse.
        env={**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(_wheelhouse())},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_offline_build_and_install(tmp_path: Path) -> None:
    wheelhouse = _wheelhouse()
    assert wheelhouse.is_dir(), f"{wheelhouse} is missing: run `make tools`"
    project = repo_root() / "clients" / "python"
    _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(project))
    (wheel,) = tmp_path.glob("quiver-*.whl")
    assert wheel.name.startswith(f"quiver-{quiver.__version__}-py3-none-any")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"quiver/py.typed", "quiver/connection.py", "quiver/magics.py", "quiver/dbapi.py"} <= names
    # The README's plotting snippet needs matplotlib, which pandas does not install: the plot extra does.
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    requires = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Dist: matplotlib>=3.8; extra == 'plot'" in requires
    assert "Requires-Dist: pandas>=2; extra == 'plot'" in requires
    report = tmp_path / "report.json"
    _pip(
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        str(report),
        f"{wheel}[pandas,polars,notebook,dbapi]",
    )
    installed = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    wanted = {"quiver", "pyarrow", "tqdm", "pandas", "polars", "ipython", "ipywidgets", "adbc-driver-flightsql"}
    assert wanted <= installed
