"""Cross-check make_tables.py's ground truth against real Iceberg readers.

Reads the manifest make_tables.py wrote and answers its queries (and each
snapshot's row count) through

* pyiceberg: ``table.scan(snapshot_id=…).to_arrow()``, queried by DuckDB;
* DuckDB's iceberg extension (when --extension-dir holds it): the REST
  catalog attached (``ATTACH … (TYPE iceberg)``, ``AT (VERSION => id)``), or
  ``iceberg_scan(metadata.json)`` for a SQL catalog.

It prints a JSON report: per reader and table, the answers that agree and
the ones that do not (with both values) or failed (with the error). It
exits 0 whatever the readers say: a reader that disagrees is a finding, not
a broken fixture (see README.md). Same catalog flags as make_tables.py::

    .venv/bin/python testdata/iceberg/check_tables.py --manifest out.json \\
        --rest-uri http://127.0.0.1:8181 --s3-endpoint http://127.0.0.1:9000 \\
        --extension-dir .tools/duckdb-extensions
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
from pyiceberg.catalog import Catalog, load_catalog

from make_tables import SQL_CATALOG_NAME, jsonable

Rows = list[list[Any]]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(a, str) and isinstance(b, str):
        try:  # decimals: "7992.00" against a reader's "7992.000"
            return Decimal(a) == Decimal(b)
        except ArithmeticError:
            return a == b
    return bool(a == b)


def same_rows(want: Rows, got: Rows) -> bool:
    return len(want) == len(got) and all(
        len(w) == len(g) and all(same(x, y) for x, y in zip(w, g, strict=True)) for w, g in zip(want, got, strict=True)
    )


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> Rows:
    result = con.execute(sql).to_arrow_table()
    return [[jsonable(v) for v in r] for r in zip(*(c.to_pylist() for c in result.columns), strict=True)]


def check_table(spec: dict[str, Any], answer: Callable[[str, int | None], Rows]) -> dict[str, Any]:
    """Runs every snapshot count and query through answer(sql, snapshot_id)."""
    ok: list[str] = []
    wrong: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []

    def one(name: str, sql: str, snapshot_id: int | None, want: Rows) -> None:
        try:
            got = answer(sql, snapshot_id)
        except Exception as e:  # noqa: BLE001 - a reader's failure is what we report
            failed.append({"query": name, "error": f"{type(e).__name__}: {str(e)[:300]}"})
            return
        if same_rows(want, got):
            ok.append(name)
        else:
            wrong.append({"query": name, "want": want, "got": got})

    for i, snap in enumerate(spec["snapshots"]):
        one(f"snapshot[{i}].row_count", "SELECT count(*), sum(id) FROM {table}", snap["snapshot_id"],
            [[snap["row_count"], snap["sum_id"]]])
    for q in spec["queries"]:
        one(q["name"], q["sql"], q["snapshot_id"], q["rows"])
    return {"ok": len(ok), "wrong": wrong, "failed": failed}


def open_catalog(args: argparse.Namespace) -> Catalog:
    if args.rest_uri:
        props = {
            "type": "rest",
            "uri": args.rest_uri,
            "s3.endpoint": args.s3_endpoint,
            "s3.path-style-access": "true",
            "s3.region": os.environ.get("AWS_REGION", "us-east-1"),
            "s3.access-key-id": os.environ.get("AWS_ACCESS_KEY_ID", ""),
            "s3.secret-access-key": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        }
        return load_catalog("rest", **props)
    db = Path(args.sql_catalog.removeprefix("sqlite:")).resolve()
    return load_catalog(SQL_CATALOG_NAME, type="sql", uri=f"sqlite:///{db}")


def check_pyiceberg(args: argparse.Namespace, manifest: dict[str, Any]) -> dict[str, Any]:
    catalog = open_catalog(args)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    out = {}
    for name, spec in manifest["tables"].items():
        table = catalog.load_table(spec["identifier"])

        def answer(sql: str, snapshot_id: int | None, table: Any = table) -> Rows:
            data = table.scan(snapshot_id=snapshot_id).to_arrow()
            con.register("scanned", data)
            try:
                return fetch(con, sql.format(table="scanned"))
            finally:
                con.unregister("scanned")

        out[name] = check_table(spec, answer)
    return out


def check_duckdb(args: argparse.Namespace, manifest: dict[str, Any]) -> dict[str, Any]:
    con = duckdb.connect(config={"extension_directory": args.extension_dir, "autoinstall_known_extensions": False})
    for ext in ("httpfs", "avro", "iceberg"):
        con.execute(f"LOAD {ext}")
    con.execute("SET TimeZone = 'UTC'")
    if args.s3_endpoint:
        ep = urlparse(args.s3_endpoint)
        con.execute(
            "CREATE SECRET s3 (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, ENDPOINT ?, URL_STYLE 'path', USE_SSL false)",
            [os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
             os.environ.get("AWS_REGION", "us-east-1"), ep.netloc],
        )
    if args.rest_uri:
        con.execute(f"ATTACH '' AS ice (TYPE iceberg, ENDPOINT '{args.rest_uri}', AUTHORIZATION_TYPE 'none')")
    out = {}
    for name, spec in manifest["tables"].items():

        def answer(sql: str, snapshot_id: int | None, spec: dict[str, Any] = spec) -> Rows:
            if args.rest_uri:
                ref = spec["identifier"]
                table = f"ice.{ref}" + (f" AT (VERSION => {snapshot_id})" if snapshot_id else "")
            else:
                loc = spec["metadata_location"].removeprefix("file://")
                extra = f", snapshot_from_id => {snapshot_id}" if snapshot_id else ""
                table = f"iceberg_scan('{loc}'{extra})"
            return fetch(con, sql.format(table=table))

        out[name] = check_table(spec, answer)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--rest-uri")
    ap.add_argument("--s3-endpoint")
    ap.add_argument("--sql-catalog")
    ap.add_argument("--extension-dir", help="DuckDB extension directory with iceberg, avro and httpfs")
    ap.add_argument("--readers", default="pyiceberg,duckdb")
    args = ap.parse_args()
    if not args.rest_uri and not args.sql_catalog:
        sys.exit("give --rest-uri or --sql-catalog")
    manifest = json.loads(Path(args.manifest).read_text())
    report: dict[str, Any] = {}
    readers = args.readers.split(",")
    if "pyiceberg" in readers:
        report["pyiceberg"] = check_pyiceberg(args, manifest)
    if "duckdb" in readers and args.extension_dir:
        report["duckdb"] = check_duckdb(args, manifest)
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
