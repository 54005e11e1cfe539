"""Where the binaries the harness runs live.

``make`` exports ``QUIVER_BIN``, ``QUIVER_MINIO_BIN`` and
``QUIVER_EXTENSION_DIR``; without them the harness looks in the places
``make build`` and ``make tools`` put things.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DUCKDB_VERSION = "1.5.5"


def repo_root() -> Path:
    """Return the repository root (the directory holding go.mod)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "go.mod").is_file():
            return parent
    raise RuntimeError(f"no go.mod above {here}")


@dataclass(frozen=True)
class Tools:
    """Tools are the paths of the external programs the harness runs."""

    quiver_bin: Path
    minio_bin: Path
    extension_dir: Path

    @property
    def httpfs_extension(self) -> Path:
        """The httpfs extension file the oracle LOADs for S3 warehouses."""
        return self.extension_dir / f"v{DUCKDB_VERSION}" / "linux_amd64" / "httpfs.duckdb_extension"

    def missing(self, need_minio: bool = True) -> list[str]:
        """Describe every required tool that is absent, for a skip message."""
        problems = []
        if not (self.quiver_bin.is_file() and os.access(self.quiver_bin, os.X_OK)):
            problems.append(f"quiver binary {self.quiver_bin} (run `make build` or set QUIVER_BIN)")
        if need_minio:
            if not (self.minio_bin.is_file() and os.access(self.minio_bin, os.X_OK)):
                problems.append(f"minio binary {self.minio_bin} (run `make tools` or set QUIVER_MINIO_BIN)")
            if not self.httpfs_extension.is_file():
                problems.append(
                    f"httpfs extension {self.httpfs_extension} (run `make tools` or set QUIVER_EXTENSION_DIR)"
                )
        return problems


def find_tools() -> Tools:
    """Resolve the tool paths from the environment, falling back to the repo layout."""
    root = repo_root()

    def pick(var: str, fallback: Path) -> Path:
        value = os.environ.get(var)
        return Path(value).resolve() if value else fallback

    return Tools(
        quiver_bin=pick("QUIVER_BIN", root / "bin" / "quiver"),
        minio_bin=pick("QUIVER_MINIO_BIN", root / ".tools" / "bin" / "minio"),
        extension_dir=pick("QUIVER_EXTENSION_DIR", root / ".tools" / "duckdb-extensions"),
    )
