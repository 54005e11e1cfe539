"""ADBC Flight SQL specifics: bound parameters and catalog metadata."""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flightsql
from deployments import Deployment

DEMO_TABLES = {"titles", "profiles", "plays", "events"}


def test_bound_parameter(deployment: Deployment, adbc_conn: flightsql.Connection) -> None:
    sql = "SELECT count(*) FROM demo.plays WHERE device = ?"
    with adbc_conn.cursor() as cur:
        cur.execute(sql, ("tv",))
        got = cur.fetch_arrow_table()
    want = deployment.oracle.query(sql, ["tv"])
    assert got.num_rows == 1
    assert got.column(0)[0].as_py() == want.column(0)[0].as_py()
    assert got.column(0)[0].as_py() > 0


def test_bound_parameter_twice(deployment: Deployment, adbc_conn: flightsql.Connection) -> None:
    sql = "SELECT count(*) FROM demo.plays WHERE device = ?"
    with adbc_conn.cursor() as cur:
        got = {}
        for device in ("web", "console"):
            cur.execute(sql, (device,))
            got[device] = cur.fetch_arrow_table().column(0)[0].as_py()
    want = {d: deployment.oracle.query(sql, [d]).column(0)[0].as_py() for d in ("web", "console")}
    assert got == want


def test_get_objects(deployment: Deployment, adbc_conn: flightsql.Connection) -> None:
    objects = adbc_conn.adbc_get_objects(depth="all").read_all().to_pylist()
    assert [c["catalog_name"] for c in objects] == ["quiver"]
    schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
    assert set(schemas) == {"demo", "system"}
    system = {t["table_name"] for t in schemas["system"]["db_schema_tables"]}
    assert {"queries", "tables"} <= system
    tables = {t["table_name"]: t for t in schemas["demo"]["db_schema_tables"]}
    assert set(tables) == DEMO_TABLES
    for name, table in tables.items():
        columns = sorted(table["table_columns"] or [], key=lambda c: c["ordinal_position"] or 0)
        got = [c["column_name"] for c in columns]
        assert got == deployment.oracle.tables[("demo", name)], f"columns of demo.{name}"


def test_get_table_schema(deployment: Deployment, adbc_conn: flightsql.Connection) -> None:
    got = adbc_conn.adbc_get_table_schema("plays", db_schema_filter="demo")
    want = deployment.oracle.schema("demo", "plays")
    assert got.names == want.names
    assert [str(t) for t in got.types] == [str(t) for t in want.types]
    assert "day" in got.names and str(got.field("day").type) == "date32[day]"


def test_get_table_types(adbc_conn: flightsql.Connection) -> None:
    types = adbc_conn.adbc_get_table_types()
    assert types, "GetTableTypes returned nothing"
