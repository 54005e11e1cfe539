"""The benchmark tables, generated with DuckDB into a local warehouse.

``<warehouse>/bench/<table>/part-N.parquet``, which Quiver serves as
``bench.<table>``:

* ``narrow``: ``rows`` rows of 3 columns (id BIGINT, k INTEGER, v DOUBLE), 8 files;
* ``wide``: ``rows`` rows of 16 columns (integers, doubles, a decimal, a
  boolean, short and longer strings, a date and a timestamp), 8 files;
* ``items``: 100,000 rows of 6 columns in one file, for point lookups and
  small aggregates.

Rows are a pure function of ``id`` so every run of the same size holds the
same data; a finished warehouse is kept under bench/out/data and reused.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

FILES = 8
ITEMS = 100_000

NARROW = "id, (id % 1000)::INTEGER AS k, ((id * 0.37) % 1000)::DOUBLE AS v"

WIDE = """
    id,
    hash(id) % 1000000 AS user_id,
    (id % 10000)::INTEGER AS k,
    (id % 50 + 1)::INTEGER AS qty,
    round((id * 7919 % 100000) / 100.0, 2) AS price,
    ((id % 11) / 100.0) AS discount,
    ((id * 31 % 100000) / 100.0)::DECIMAL(12, 2) AS amount,
    (id % 3 = 0) AS flag,
    chr(65 + (id % 5)::INTEGER) AS status,
    'customer#' || lpad((id % 150000)::VARCHAR, 9, '0') AS name,
    'item ' || (id % 977)::VARCHAR || ' shipped by ' || ['air', 'rail', 'truck', 'ship'][(id % 4)::INTEGER + 1] AS comment,
    ['books', 'music', 'video', 'games', 'garden', 'tools'][(id % 6)::INTEGER + 1] AS category,
    DATE '2024-01-01' + (id % 730)::INTEGER AS day,
    TIMESTAMP '2024-01-01 00:00:00' + to_seconds(id % 63072000) AS ts,
    (id % 997)::FLOAT / 10 AS score,
    (id * 0.001)::DOUBLE AS metric
"""

ITEMS_SQL = """
    id AS item_id,
    'item-' || id::VARCHAR AS name,
    ['books', 'music', 'video', 'games', 'garden', 'tools'][(id % 6)::INTEGER + 1] AS category,
    round((id * 7919 % 100000) / 100.0, 2) AS price,
    (id % 500)::INTEGER AS stock,
    DATE '2024-01-01' + (id % 365)::INTEGER AS added
"""


def ensure(root: Path, rows: int) -> Path:
    """The warehouse directory for ``rows``-row tables, generated if missing."""
    warehouse = root / f"rows-{rows}"
    done = warehouse / ".complete"
    if done.exists():
        return warehouse
    con = duckdb.connect()
    try:
        for table, select, total, files in (
            ("narrow", NARROW, rows, FILES),
            ("wide", WIDE, rows, FILES),
            ("items", ITEMS_SQL, ITEMS, 1),
        ):
            d = warehouse / "bench" / table
            d.mkdir(parents=True, exist_ok=True)
            step = -(-total // files)
            for i in range(files):
                lo, hi = i * step, min(total, (i + 1) * step)
                con.execute(
                    f"COPY (SELECT {select} FROM range({lo}, {hi}) t(id)) TO '{d}/part-{i}.parquet' (FORMAT parquet)"
                )
    finally:
        con.close()
    done.write_text("ok\n")
    return warehouse


def glob(warehouse: Path, table: str) -> str:
    """The read_parquet glob of one table."""
    return f"{warehouse}/bench/{table}/*.parquet"
