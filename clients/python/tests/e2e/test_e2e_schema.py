"""The schema a client is told is the schema it gets, over Hive tables.

A table partitioned ``region=…/bucket=…`` (keys not in alphabetical order,
DuckDB's own order for partition columns) is read through the Python
client, ADBC and pyarrow.flight: the typed schema (``conn.sql().schema``,
GetSchema), the FlightInfo's and every stream's are the same, in directory
order, and each label sits over its own values.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import adbc_driver_flightsql.dbapi as flightsql
import duckdb
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import quiver
from quiver_harness.servers import QuiverServer, Warehouse, start_quiver
from quiver_harness.tools import Tools

COLUMNS = ["id", "label", "region", "bucket", "day"]


@pytest.fixture(scope="module")
def hive_quiver(quiver_tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuiverServer]:
    """``quiver serve`` over a warehouse with sales.orders partitioned by region, bucket and day."""
    root = tmp_path_factory.mktemp("hive")
    wh = root / "warehouse"
    (wh / "sales").mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT i AS id, 'order ' || i AS label, CASE WHEN i % 2 = 0 THEN 'EU' ELSE 'US' END AS region,"
        " i % 3 AS bucket, DATE '2025-01-01' + (i % 2)::INT AS day FROM range(300) t(i))"
        f" TO '{wh / 'sales' / 'orders'}' (FORMAT parquet, PARTITION_BY (region, bucket, day))"
    )
    server = start_quiver(quiver_tools, Warehouse(kind="local", uri=str(wh), scale=0, local_path=wh), root / "logs")
    try:
        yield server
    finally:
        server.stop()


def _check_labels(table: pa.Table) -> None:
    assert table.column_names == COLUMNS
    assert table.num_rows > 0
    for row in table.to_pylist():
        assert row["region"] == ("EU" if row["id"] % 2 == 0 else "US")
        assert row["bucket"] == row["id"] % 3
        assert row["label"] == f"order {row['id']}"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM sales.orders",
        "SELECT * FROM sales.orders WHERE region = 'EU' AND bucket = 1",
        "SELECT o.* FROM sales.orders o JOIN sales.orders p ON p.id = o.id WHERE p.bucket = 2",
        "SELECT * FROM sales.orders ORDER BY id LIMIT 5",
    ],
)
def test_python_client_types_what_it_streams(hive_quiver: QuiverServer, sql: str) -> None:
    with quiver.connect(hive_quiver.uri) as conn:
        result = conn.sql(sql)
        typed = result.schema
        table = result.to_arrow()
    assert typed.names == COLUMNS
    assert table.schema == typed
    _check_labels(table)


def test_every_endpoint_streams_the_announced_schema(hive_quiver: QuiverServer) -> None:
    client = flight.connect(hive_quiver.uri)
    info = client.get_flight_info(flight.FlightDescriptor.for_command("SELECT * FROM sales.orders"))
    assert info.schema.names == COLUMNS
    assert len(info.endpoints) >= 2, "the scan is split over both workers"
    for ep in info.endpoints:
        table = client.do_get(ep.ticket).read_all()
        assert table.schema == info.schema
        _check_labels(table)
    client.close()


def test_adbc_labels_match_values(hive_quiver: QuiverServer) -> None:
    with flightsql.connect(hive_quiver.uri) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM sales.orders WHERE day = ?", ("2025-01-02",))
        table = cur.fetch_arrow_table()
        assert [d[0] for d in cur.description] == COLUMNS
        schema = conn.adbc_get_table_schema("orders", db_schema_filter="sales")
    _check_labels(table)
    assert schema.names == COLUMNS
    assert set(table.column("day").to_pylist()) == {datetime.date(2025, 1, 2)}
