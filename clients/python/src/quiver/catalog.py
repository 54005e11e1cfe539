"""Tables of the warehouse, for a first look without writing SQL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa

from . import _html

if TYPE_CHECKING:
    from .connection import Connection
    from .result import Result

_PART = re.compile(r'\s*(?:"((?:[^"]|"")*)"|(\w+))\s*')


def split_name(name: str) -> list[str]:
    """Split ``schema.table`` (or ``catalog.schema.table``) into parts; ``"quoted"`` parts may hold dots."""
    parts: list[str] = []
    pos = 0
    text = name.strip()
    while True:
        match = _PART.match(text, pos)
        if match is None:
            raise ValueError(f"table name {name!r}: want schema.table, for example demo.plays")
        quoted, plain = match.groups()
        parts.append(quoted.replace('""', '"') if quoted is not None else plain)
        pos = match.end()
        if pos == len(text):
            break
        if text[pos] != ".":
            raise ValueError(f"table name {name!r}: unexpected {text[pos]!r} at position {pos}")
        pos += 1
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"table name {name!r}: want schema.table, for example demo.plays")
    return parts


def quote_ident(part: str) -> str:
    """Quote one identifier for DuckDB SQL."""
    return '"' + part.replace('"', '""') + '"'


class Table:
    """Table is one warehouse table: its schema, a peek at its rows, its size.

    Get it with :meth:`quiver.Connection.table`; it raises
    :class:`quiver.NotFound` when the table does not exist.
    """

    def __init__(self, conn: Connection, name: str) -> None:
        parts = split_name(name)
        self._conn = conn
        self.schema_name, self.table_name = parts[-2], parts[-1]
        if len(parts) == 3 and parts[0].lower() != "quiver":
            # An Iceberg catalog's table: its schema is catalog.namespace.
            self.schema_name = f"{parts[0]}.{parts[1]}"
        self._ref = ".".join(quote_ident(p) for p in parts)
        # Asking for the schema checks that the table exists (and may be read).
        self._schema: pa.Schema = conn._schema_of(f"SELECT * FROM {self._ref}")

    @property
    def name(self) -> str:
        """``schema.table`` (``catalog.namespace.table`` for an Iceberg table)."""
        return f"{self.schema_name}.{self.table_name}"

    @property
    def schema(self) -> pa.Schema:
        """The table's Arrow schema (Hive partition columns last)."""
        return self._schema

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self._schema.names)

    def _where(self) -> tuple[str, list[object]]:
        """The system-table filter for this table, and its parameters."""
        catalog, schema = "quiver", self.schema_name
        if "." in schema:
            catalog, schema = schema.split(".", 1)
        where = "lower(catalog_name) = lower(?) AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)"
        return where, [catalog, schema, self.table_name]

    def describe(self) -> pa.Table:
        """The columns with what the catalog says about them (``system.columns``).

        Columns ``column``, ``type`` (DuckDB's), ``nullable``, ``description``
        and ``tags``, in table order: descriptions and tags come from the
        server's catalog file (``--catalog-file``) and, for an Iceberg table,
        its column docs. Columns a policy denies the caller are absent.
        """
        where, params = self._where()
        query = (
            "SELECT column_name AS column, data_type AS type, is_nullable AS nullable, description, tags "
            f"FROM system.columns WHERE {where} ORDER BY ordinal_position"
        )
        return self._conn.sql(query, params).to_arrow(progress=False)

    def _about(self) -> dict[str, object]:
        where, params = self._where()
        table = self._conn.sql(f"SELECT owner, description, tags FROM system.tables WHERE {where}", params).to_arrow(
            progress=False
        )
        if table.num_rows == 0:
            return {"owner": None, "description": None, "tags": []}
        return {name: table.column(name)[0].as_py() for name in ("owner", "description", "tags")}

    @property
    def owner(self) -> str | None:
        """Who owns the table, by the catalog file or the Iceberg table's ``owner`` property."""
        owner = self._about()["owner"]
        return owner if isinstance(owner, str) else None

    @property
    def description(self) -> str | None:
        """What the table holds, by the catalog file or the Iceberg table's ``comment`` property."""
        description = self._about()["description"]
        return description if isinstance(description, str) else None

    @property
    def tags(self) -> list[str]:
        """The table's tags (``pii:email``, …), sorted."""
        tags = self._about()["tags"]
        return [str(t) for t in tags] if isinstance(tags, list) else []

    def head(self, n: int = 5) -> Result:
        """The first ``n`` rows, as a :class:`~quiver.Result` (in storage order, not sorted)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"head(n): n must be a non-negative int, got {n!r}")
        return self._conn.sql(f"SELECT * FROM {self._ref} LIMIT {n}")

    def count(self) -> int:
        """The number of rows."""
        table = self._conn.sql(f"SELECT count(*) AS n FROM {self._ref}").to_arrow(progress=False)
        return int(table.column(0)[0].as_py())

    def __repr__(self) -> str:
        return f"<quiver.Table {self.name}: {len(self._schema)} columns>"

    def _repr_html_(self) -> str:
        return _html.schema_html(self.name, self._schema)
