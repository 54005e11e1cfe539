"""A governed Quiver: JWT authentication, a tag policy, a catalog file and a table of personal data.

``start_governed`` serves a local warehouse the way a data platform would
protect it: every caller needs a bearer token (HS256, signed with
``quiver token``), the policy grants ``demo.*`` and ``crm.*`` to everyone and
masks every ``pii:*`` column for every role but ``privacy``, and the catalog
file describes ``crm.people`` and tags its ``id`` ``pii:national_id``.
``write_people`` writes ``crm.people`` (emails, phone numbers, first names,
IP addresses), which the PII detector finds; the demo dataset holds nothing
it would. The end-to-end governance tests and the governance notebook share
this setup.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .servers import QuiverServer, Warehouse, make_local_warehouse, start_quiver
from .tools import Tools

#: Every role but privacy reads pii:* columns as '***' (NULL when the column is no VARCHAR).
POLICY = """rules:
  - match: {}
    tables: ["demo.*", "crm.*"]
  - match: {except_roles: [privacy]}
    mask_tags: {"pii:*": "'***'"}
"""

CATALOG = """tables:
  crm.people:
    owner: crm
    description: One row per customer who signed up for the newsletter.
    columns:
      id: {description: The customer's national id number., tags: ["pii:national_id"]}
      notes: {description: What support wrote down.}
"""

#: The principals with a token: role → subject.
SUBJECTS = {"admin": "root", "analyst": "ann", "privacy": "pia"}

_SECRET = "governance-secret-governance-secret-0123456789"
_FIRST_NAMES = ["Ann", "Bob", "Chloé", "Dev", "Eva"]


def people_table(rows: int = 1000) -> pa.Table:
    """``crm.people``: ``id``, ``email``, ``phone``, ``first_name``, ``client_ip``, ``plan``, ``notes``."""
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "email": [f"user{i}@example.com" for i in range(rows)],
            "phone": [f"+1415555{i % 10000:04d}" for i in range(rows)],
            "first_name": [_FIRST_NAMES[i % len(_FIRST_NAMES)] for i in range(rows)],
            "client_ip": [f"10.{i % 200}.{i % 250}.{i % 254 + 1}" for i in range(rows)],
            "plan": [("basic", "standard", "premium")[i % 3] for i in range(rows)],
            "notes": [f"nothing to say {i}" for i in range(rows)],
        }
    )


def write_people(warehouse: Path, rows: int = 1000) -> Path:
    """Write ``crm.people`` into the local warehouse directory and return the file."""
    directory = warehouse / "crm" / "people"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "people.parquet"
    pq.write_table(people_table(rows), path)
    return path


def make_governed_warehouse(tools: Tools, directory: Path, log_dir: Path, scale: float | None = None) -> Warehouse:
    """A local warehouse with ``crm.people``, and the demo dataset at ``scale`` when one is given."""
    if scale is None:
        directory.mkdir(parents=True, exist_ok=True)
        warehouse = Warehouse("local", str(directory), 0.0, local_path=directory)
    else:
        warehouse = make_local_warehouse(tools, directory, scale, log_dir)
    write_people(directory)
    return warehouse


def sign_token(tools: Tools, secret: Path, subject: str, role: str) -> str:
    """An HS256 token for ``subject`` with ``role``, valid for a day."""
    out = subprocess.run(
        [str(tools.quiver_bin), "token", "--jwt-secret-file", str(secret), "--sub", subject, "--role", role]
        + ["--ttl", "24h"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return out.stdout.strip()


@dataclass
class GovernedServer:
    """GovernedServer is a running governed ``quiver serve`` and a token per role (``SUBJECTS``)."""

    server: QuiverServer
    tokens: dict[str, str]

    @property
    def uri(self) -> str:
        """The Flight URI clients connect to."""
        return self.server.uri

    def stop(self) -> int | None:
        """Stop the server."""
        return self.server.stop()


def start_governed(
    tools: Tools,
    warehouse: Warehouse,
    workdir: Path,
    policy: str = POLICY,
    catalog: str = CATALOG,
    local_workers: int = 1,
) -> GovernedServer:
    """Start ``quiver serve`` over ``warehouse`` with JWT authentication, ``policy`` and ``catalog``.

    The policy, catalog, secret and server log are written to ``workdir``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    secret = workdir / "jwt-secret"
    secret.write_text(_SECRET + "\n")
    secret.chmod(0o600)
    policy_file = workdir / "policy.yaml"
    policy_file.write_text(policy)
    catalog_file = workdir / "catalog.yaml"
    catalog_file.write_text(catalog)
    tokens = {role: sign_token(tools, secret, subject, role) for role, subject in SUBJECTS.items()}
    args = ["--jwt-secret-file", str(secret), "--policy-file", str(policy_file), "--catalog-file", str(catalog_file)]
    server = start_quiver(
        tools, warehouse, workdir, local_workers=local_workers, extra_args=args, token=tokens["admin"]
    )
    return GovernedServer(server, tokens)
