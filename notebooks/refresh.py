"""Execute the notebooks against a running server and store their outputs, stripped of volatile ids.

Usage (from the repository root, with ``make demo`` serving)::

    .venv/bin/python notebooks/refresh.py [--uri grpc://127.0.0.1:8815]

The notebooks are committed with these outputs so that a reader sees the charts and tables without
running anything; ``test_notebooks.py`` executes them again in ``make test`` and checks the committed
outputs stay clean (``volatile`` below). What is stripped: execution timings and kernel names, widget
ids (a progress bar is stored as its text), temporary paths, and query ids.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=os.environ.get("QUIVER_URI", "grpc://127.0.0.1:8815"))
    parser.add_argument("notebooks", nargs="*", type=Path, default=NOTEBOOKS)
    args = parser.parse_args()
    os.environ["QUIVER_URI"] = args.uri
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
        nbformat.write(strip(nb), path)
        print(f"refreshed {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
