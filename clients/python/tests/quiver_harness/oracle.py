"""The oracle: DuckDB run in-process over the same Parquet files.

Each table of the warehouse becomes ``CREATE VIEW <schema>.<table> AS SELECT *
FROM read_parquet('<warehouse>/<schema>/<table>/**/*.parquet',
hive_partitioning=true)`` inside an attached database named ``quiver``, so
both ``demo.plays`` and ``quiver.demo.plays`` resolve. Extensions are never
downloaded: for S3 the pinned httpfs file is LOADed by path.
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa

from .servers import Warehouse
from .tools import Tools


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote_ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class Oracle:
    """Oracle answers SQL with DuckDB over the warehouse files."""

    def __init__(self, warehouse: Warehouse, tools: Tools) -> None:
        self.warehouse = warehouse
        self._lock = threading.Lock()
        con = duckdb.connect(":memory:")
        con.execute("SET autoinstall_known_extensions=false")
        con.execute("SET autoload_known_extensions=false")
        con.execute("SET TimeZone='UTC'")
        if warehouse.minio is not None:
            minio = warehouse.minio
            con.execute(f"LOAD {_quote_literal(str(tools.httpfs_extension))}")
            con.execute(
                "CREATE SECRET (TYPE s3, "
                f"KEY_ID {_quote_literal(minio.access_key)}, SECRET {_quote_literal(minio.secret_key)}, "
                f"ENDPOINT {_quote_literal(minio.host_port)}, URL_STYLE 'path', USE_SSL false, "
                f"REGION {_quote_literal(minio.region)})"
            )
        con.execute("ATTACH ':memory:' AS quiver")
        con.execute("USE quiver")
        self._con = con
        self.tables = self._define_views()

    def _define_views(self) -> dict[tuple[str, str], list[str]]:
        base = self.warehouse.uri.rstrip("/")
        files = [
            row[0]
            for row in self._con.execute(f"SELECT file FROM glob({_quote_literal(base + '/**/*.parquet')})").fetchall()
        ]
        found: set[tuple[str, str]] = set()
        for file in files:
            rel = file[len(base) + 1 :] if file.startswith(base + "/") else file
            parts = rel.split("/")
            if len(parts) >= 3:
                found.add((parts[0], parts[1]))
        tables: dict[tuple[str, str], list[str]] = {}
        for schema, table in sorted(found):
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote_ident(schema)}")
            glob = self.warehouse.table_glob(schema, table)
            self._con.execute(
                f"CREATE VIEW {_quote_ident(schema)}.{_quote_ident(table)} AS SELECT * FROM "
                f"read_parquet({_quote_literal(glob)}, hive_partitioning=true)"
            )
            tables[(schema, table)] = self.schema(schema, table).names
        if not tables:
            raise RuntimeError(f"oracle found no tables under {base}")
        return tables

    def query(self, sql: str, parameters: list[object] | None = None) -> pa.Table:
        """Run ``sql`` and return the result as an Arrow table."""
        # One connection, not cursors: USE and SET TimeZone are per connection.
        with self._lock:
            return self._con.execute(sql, parameters).to_arrow_table()

    def schema(self, schema: str, table: str) -> pa.Schema:
        """The Arrow schema DuckDB gives the view ``schema.table``."""
        return self.query(f"SELECT * FROM {_quote_ident(schema)}.{_quote_ident(table)} LIMIT 0").schema

    def close(self) -> None:
        """Close the DuckDB connection."""
        self._con.close()
