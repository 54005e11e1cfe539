"""Execute the notebooks against a running server and store their outputs, stripped of volatile ids.

Usage (from the repository root, with ``make demo`` serving)::

    .venv/bin/python notebooks/refresh.py [--uri grpc://127.0.0.1:8815] [NOTEBOOK ...]

The notebooks are committed with these outputs so that a reader sees the charts and tables without
running anything; ``test_notebooks.py`` executes them again in ``make test`` and checks the committed
outputs stay clean (``volatile`` below). What is stripped: execution timings and kernel names, widget
ids (a progress bar is stored as its text), temporary paths, and query ids.

The governance notebook (``GOVERNED``) needs a server ``make demo`` is not: JWT authentication, a tag
policy and a catalog file, over a warehouse its detection runs and acceptances may write to. For it
this script starts one of its own, as ``test_notebooks.py`` does (``quiver_harness.governance``, with
``bin/quiver`` or ``$QUIVER_BIN``), over a fresh warehouse in a temporary directory: the demo data at
``--governance-scale`` plus ``crm.people``. The kernel gets its address in ``QUIVER_URI`` and a token
per role in ``TOKENS``' variables; the server is stopped and the directory removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted(HERE.glob("*.ipynb"))

#: Text that must not be stored: temporary paths and query ids.
VOLATILE = [
    re.compile(r"/tmp/[\w./-]+"),
    re.compile(r"quiver-report-\w{6,}"),
    re.compile(r"['\"]query_id['\"]\s*:\s*['\"][\w-]{8,}"),
]

WIDGET = "application/vnd.jupyter.widget-view+json"

#: The notebooks that run against a governed server of their own (see the module's docstring).
GOVERNED = {"05_governance.ipynb"}
#: The environment variable that hands a governed notebook the token of each role.
TOKENS = {"admin": "QUIVER_ADMIN_TOKEN", "analyst": "QUIVER_ANALYST_TOKEN", "privacy": "QUIVER_PRIVACY_TOKEN"}


def volatile(text: str) -> list[str]:
    """The volatile strings in text."""
    return [m.group(0) for pattern in VOLATILE for m in pattern.finditer(text)]


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes from run to run and means nothing to a reader."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET in data:
                # A progress bar: keep its text, not the widget's model id.
                data.pop(WIDGET)
                if not data:
                    continue
            for key, value in list(data.items()):
                if isinstance(value, str):
                    for v in volatile(value):
                        data[key] = data[key].replace(v, "…")
            if "text" in out:
                for v in volatile(out["text"]):
                    out["text"] = out["text"].replace(v, "…")
            kept.append(out)
        cell.outputs = kept
    return nb


@contextlib.contextmanager
def governed_server(scale: float) -> Iterator[dict[str, str]]:
    """Start a governed ``quiver serve`` over a fresh warehouse; yield the environment its notebook needs."""
    tests = HERE.parent / "clients" / "python" / "tests"
    if str(tests) not in sys.path:
        sys.path.insert(0, str(tests))
    from quiver_harness import find_tools
    from quiver_harness.governance import make_governed_warehouse, start_governed

    tools = find_tools()
    missing = tools.missing(need_minio=False)
    if missing:
        raise SystemExit("refresh.py: the governance notebook needs " + "; ".join(missing))
    with tempfile.TemporaryDirectory(prefix="quiver-governance-") as tmp:
        work = Path(tmp)
        print(f"starting a governed server (demo data at scale {scale} and crm.people)")
        warehouse = make_governed_warehouse(tools, work / "warehouse", work, scale=scale)
        server = start_governed(tools, warehouse, work / "server")
        try:
            yield {"QUIVER_URI": server.uri, **{TOKENS[role]: token for role, token in server.tokens.items()}}
        finally:
            server.stop()


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (which the kernel inherits) for the duration of the block."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def refresh(path: Path) -> None:
    """Execute one notebook in this directory and store it stripped."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(strip(nb), path)
    print(f"refreshed {path.name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=os.environ.get("QUIVER_URI", "grpc://127.0.0.1:8815"))
    parser.add_argument(
        "--governance-scale", type=float, default=0.1, help="demo-data scale of the governed server's warehouse"
    )
    parser.add_argument("notebooks", nargs="*", type=Path, default=NOTEBOOKS)
    args = parser.parse_args()
    os.environ["QUIVER_URI"] = args.uri
    for path in args.notebooks:
        if path.name not in GOVERNED:
            refresh(path)
            continue
        # A server per notebook: what it accepts is saved in the server's warehouse.
        with governed_server(args.governance_scale) as env, environment(env):
            refresh(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
