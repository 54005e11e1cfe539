"""Generate the Iceberg test tables of namespace `lake` and their ground truth.

Run with the test venv (make tools installs pyiceberg there), against a REST
catalog over S3 (credentials from the AWS_* variables)::

    .venv/bin/python testdata/iceberg/make_tables.py \\
        --rest-uri http://127.0.0.1:8181 --s3-endpoint http://127.0.0.1:9000 \\
        --warehouse s3://bucket/wh --manifest out.json

or against a local SQL catalog (a sqlite file) over a local directory::

    .venv/bin/python testdata/iceberg/make_tables.py \\
        --sql-catalog sqlite:/tmp/cat.db --warehouse /tmp/wh --manifest out.json

pyiceberg writes the data files and evolves schemas and partition specs; the
merge-on-read deletes (position, equality, deletion vectors) are committed by
writer/DeleteWriter.java (Iceberg's Java API), because pyiceberg deletes
copy-on-write. Every row written is also kept in this script's own model of
each table, with the data sequence number of its commit, and the model
applies each delete by the spec's rules (an equality delete removes only
rows whose data sequence number is lower than its own). The expected answers
in the manifest are the manifest's queries run by an in-memory DuckDB over
that model, never read back from Iceberg. The tables are listed in
testdata/iceberg/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
)

NAMESPACE = "lake"
#: A namespace with no table: catalogs list it as a schema all the same.
EMPTY_NAMESPACE = "lake_empty"
SQL_CATALOG_NAME = "fixtures"
MANIFEST_VERSION = 1

Row = dict[str, Any]

# Merge-on-read for every write mode, as a Spark writer would be told; the
# delete files themselves come from DeleteWriter.java.
MOR_PROPERTIES = {
    "write.delete.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.merge.mode": "merge-on-read",
}

BASE_TS = dt.datetime(2024, 1, 1)
UTC = dt.timezone.utc


@dataclass
class SnapshotTruth:
    """One snapshot as the model sees it: the rows live after it."""

    snapshot_id: int
    sequence_number: int
    timestamp_ms: int
    operation: str
    note: str
    rows: list[Row]


@dataclass
class Query:
    """A query over one table ({table} stands for its qualified name)."""

    name: str
    sql: str
    snapshot: int | None = None  # index into the table's snapshots; None: current


@dataclass
class TableModel:
    """A table's rows as written, with the data sequence number of each."""

    name: str
    format_version: int
    exercises: str
    table: Table | None = None
    live: list[tuple[int, Row]] = field(default_factory=list)  # (data sequence number, row)
    snapshots: list[SnapshotTruth] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    delete_files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ident(self) -> str:
        return f"{NAMESPACE}.{self.name}"

    def rows(self) -> list[Row]:
        return [r for _, r in self.live]

    def record(self, snapshot_id: int, seq: int, ts_ms: int, operation: str, note: str) -> None:
        self.snapshots.append(
            SnapshotTruth(snapshot_id, seq, ts_ms, operation, note, [dict(r) for r in self.rows()])
        )


# ---------------------------------------------------------------------------
# Catalog access


@dataclass
class Target:
    """Where the tables go: a REST catalog over S3, or a SQL catalog on disk."""

    catalog: Catalog
    warehouse: str  # s3://bucket/prefix or file:///abs/dir, no trailing slash
    java_catalog: dict[str, str]
    kind: str  # "rest" or "sql"

    def location(self, table: str) -> str:
        return f"{self.warehouse}/{NAMESPACE}/{table}"


def open_target(args: argparse.Namespace) -> Target:
    if args.rest_uri:
        if not args.s3_endpoint or not args.warehouse.startswith("s3://"):
            sys.exit("--rest-uri needs --s3-endpoint and an s3:// --warehouse")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        props = {
            "type": "rest",
            "uri": args.rest_uri,
            "s3.endpoint": args.s3_endpoint,
            "s3.path-style-access": "true",
            "s3.region": region,
        }
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            props["s3.access-key-id"] = os.environ["AWS_ACCESS_KEY_ID"]
            props["s3.secret-access-key"] = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        warehouse = args.warehouse.rstrip("/")
        java = {
            "type": "rest",
            "uri": args.rest_uri,
            "warehouse": warehouse,
            "s3.endpoint": args.s3_endpoint,
            "region": region,
        }
        return Target(load_catalog("rest", **props), warehouse, java, "rest")
    if args.sql_catalog:
        if not args.sql_catalog.startswith("sqlite:"):
            sys.exit("--sql-catalog must be sqlite:PATH")
        db = Path(args.sql_catalog.removeprefix("sqlite:")).resolve()
        wh = Path(args.warehouse.removeprefix("file://")).resolve()
        wh.mkdir(parents=True, exist_ok=True)
        db.parent.mkdir(parents=True, exist_ok=True)
        warehouse = "file://" + str(wh)
        catalog = load_catalog(
            SQL_CATALOG_NAME, type="sql", uri=f"sqlite:///{db}", warehouse=warehouse
        )
        java = {
            "type": "sql",
            "name": SQL_CATALOG_NAME,
            "uri": f"jdbc:sqlite:{db}",
            "warehouse": warehouse,
        }
        return Target(catalog, warehouse, java, "sql")
    sys.exit("give --rest-uri or --sql-catalog")


class JavaWriter:
    """DeleteWriter.java, run once per batch of delete operations."""

    def __init__(self, writer_dir: Path, catalog: dict[str, str]) -> None:
        classes = writer_dir / "classes" / "DeleteWriter.class"
        if not classes.exists():
            sys.exit(f"{classes} not found (run `make tools`, or set QUIVER_ICEBERG_WRITER)")
        self.classpath = f"{writer_dir}/lib/*{os.pathsep}{writer_dir}/classes"
        self.catalog = catalog
        self.seconds = 0.0

    def run(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        start = time.monotonic()
        proc = subprocess.run(
            # A short-lived client: C1 only and one GC thread start fastest.
            ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", self.classpath, "DeleteWriter"],
            input=json.dumps({"catalog": self.catalog, "ops": ops}),
            capture_output=True,
            text=True,
            check=False,
        )
        self.seconds += time.monotonic() - start
        if proc.returncode != 0:
            sys.exit(f"DeleteWriter failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
        results: list[dict[str, Any]] = json.loads(proc.stdout)
        return results


# ---------------------------------------------------------------------------
# Writing through pyiceberg while keeping the model


def wait_next_ms(model: TableModel) -> None:
    """Keep commit timestamps strictly increasing, so AS OF TIMESTAMP is exact."""
    if model.snapshots:
        last = model.snapshots[-1].timestamp_ms
        while int(time.time() * 1000) <= last + 1:
            time.sleep(0.002)


def append(model: TableModel, rows: list[Row], note: str) -> None:
    tbl = model.table
    assert tbl is not None
    wait_next_ms(model)
    arrow_schema = tbl.schema().as_arrow()
    data = pa.Table.from_pylist(rows, schema=arrow_schema)
    tbl.append(data)
    snap = tbl.current_snapshot()
    assert snap is not None and snap.sequence_number is not None
    model.live.extend((snap.sequence_number, dict(r)) for r in rows)
    model.record(snap.snapshot_id, snap.sequence_number, snap.timestamp_ms, "append", note)


def apply_java(model: TableModel, result: dict[str, Any], note: str, delete: Callable[[int, Row], bool]) -> None:
    """Records a DeleteWriter commit: delete(seq, row) says which live rows it removes."""
    seq = int(result["sequence_number"])
    model.live = [(s, r) for s, r in model.live if not delete(s, r)]
    model.delete_files.extend(result["delete_files"])
    model.record(int(result["snapshot_id"]), seq, int(result["timestamp_ms"]), "delete", note)
    assert model.table is not None
    model.table = model.table.refresh()


def create(
    target: Target,
    model: TableModel,
    schema: Schema,
    spec: PartitionSpec,
    extra: dict[str, str] | None = None,
    format_version: int | None = None,
) -> None:
    props = {"format-version": str(format_version or model.format_version), **(extra or {})}
    model.table = target.catalog.create_table(
        model.ident, schema=schema, partition_spec=spec, location=target.location(model.name), properties=props
    )


def ts(i: int, minutes: int) -> dt.datetime:
    return BASE_TS + dt.timedelta(minutes=i * minutes)


# ---------------------------------------------------------------------------
# The tables


def events_rows(lo: int, hi: int) -> list[Row]:
    out = []
    for i in range(lo, hi):
        out.append(
            {
                "id": i,
                "user_id": None if i % 50 == 0 else i % 97,
                "amount": None if i % 43 == 0 else (i % 400) * 0.25,
                "price": Decimal(i % 1000) / Decimal(100) + Decimal(i % 7),
                "name": None if i % 41 == 0 else f"name-{i % 37:02d}",
                "day": dt.date(2024, 1, 1) + dt.timedelta(days=i % 366),
                "ts": ts(i, 37),
                "ts_tz": ts(i, 41).replace(tzinfo=UTC),
                "flag": None if i % 29 == 0 else i % 3 == 0,
            }
        )
    return out


def make_events(target: Target) -> TableModel:
    m = TableModel("events", 2, "unpartitioned; three appends = three snapshots (time travel); "
                   "int, bigint, double, decimal(10,2), string, date, timestamp, timestamptz, boolean; NULLs")
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "user_id", IntegerType()),
        NestedField(3, "amount", DoubleType(), doc="Amount paid, in EUR."),
        NestedField(4, "price", DecimalType(10, 2)),
        NestedField(5, "name", StringType()),
        NestedField(6, "day", DateType()),
        NestedField(7, "ts", TimestampType()),
        NestedField(8, "ts_tz", TimestamptzType()),
        NestedField(9, "flag", BooleanType()),
    )
    # What the table says about itself, as Spark and Trino write it.
    create(target, m, schema, PartitionSpec(), extra={"comment": "Events of the fixtures.", "owner": "fixtures"})
    append(m, events_rows(0, 1000), "ids 0..999")
    append(m, events_rows(1000, 2500), "ids 1000..2499")
    append(m, events_rows(2500, 4000), "ids 2500..3999")
    m.queries = [
        Query("count", "SELECT count(*) FROM {table}"),
        Query("count_first_snapshot", "SELECT count(*) FROM {table}", snapshot=0),
        Query("count_second_snapshot", "SELECT count(*) FROM {table}", snapshot=1),
        Query("sum_user_id", "SELECT sum(user_id) FROM {table}"),
        Query("sum_amount", "SELECT sum(amount) FROM {table}"),
        Query("sum_price", "SELECT sum(price) FROM {table}"),
        Query("sum_price_first_snapshot", "SELECT sum(price) FROM {table}", snapshot=0),
        Query("distinct_names", "SELECT count(DISTINCT name) FROM {table}"),
        Query("nulls", "SELECT count(*) - count(user_id), count(*) - count(amount), count(*) - count(name), "
              "count(*) - count(flag) FROM {table}"),
        Query("flags", "SELECT flag, count(*) FROM {table} GROUP BY flag ORDER BY flag NULLS LAST"),
        Query("ts_range", "SELECT min(ts), max(ts), min(ts_tz), max(ts_tz), min(day), max(day) FROM {table}"),
        Query("march", "SELECT count(*) FROM {table} WHERE day >= DATE '2024-03-01' AND day < DATE '2024-04-01'"),
    ]
    return m


REGIONS = ["eu", "us", "apac"]


def daily_rows(lo: int, hi: int) -> list[Row]:
    # 8 days x 3 regions; a row every 3 minutes of the 8 days, cycling regions.
    return [
        {
            "id": i,
            "region": REGIONS[i % 3],
            "ts": BASE_TS + dt.timedelta(seconds=(i * 230) % (8 * 86400)),
            "value": i % 100,
            "amount": (i % 50) * 0.5,
        }
        for i in range(lo, hi)
    ]


def make_daily(target: Target) -> TableModel:
    m = TableModel("daily", 2, "partitioned by day(ts) and identity(region): 8 days x 3 regions, "
                   "two appends, one file per partition per append")
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "region", StringType()),
        NestedField(3, "ts", TimestampType()),
        NestedField(4, "value", IntegerType()),
        NestedField(5, "amount", DoubleType()),
    )
    spec = PartitionSpec(
        PartitionField(3, 1000, DayTransform(), "ts_day"),
        PartitionField(2, 1001, IdentityTransform(), "region"),
    )
    create(target, m, schema, spec)
    append(m, daily_rows(0, 1500), "ids 0..1499")
    append(m, daily_rows(1500, 3000), "ids 1500..2999")
    m.queries = [
        Query("count", "SELECT count(*) FROM {table}"),
        Query("per_region", "SELECT region, count(*), sum(value) FROM {table} GROUP BY region ORDER BY region"),
        Query("per_day", "SELECT CAST(ts AS DATE) AS d, count(*) FROM {table} GROUP BY d ORDER BY d"),
        Query("one_partition", "SELECT count(*), sum(amount) FROM {table} "
              "WHERE region = 'eu' AND ts >= TIMESTAMP '2024-01-03 00:00:00' AND ts < TIMESTAMP '2024-01-04 00:00:00'"),
        Query("day_range", "SELECT count(*) FROM {table} WHERE ts >= TIMESTAMP '2024-01-02 12:00:00' "
              "AND ts < TIMESTAMP '2024-01-05 00:00:00'"),
    ]
    return m


WORDS = ["apple", "apricot", "banana", "band", "cherry", "chestnut", "date", "datum", "elder", "fig"]


def hashed_rows(lo: int, hi: int) -> list[Row]:
    return [{"id": i, "name": f"{WORDS[i % len(WORDS)]}-{i % 13}", "qty": i % 17} for i in range(lo, hi)]


def make_hashed(target: Target) -> TableModel:
    m = TableModel("hashed", 2, "partitioned by bucket(8, id) and truncate(4, name); "
                   "'apple'/'apricot' and 'band'/'banana' share truncated prefixes")
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "name", StringType()),
        NestedField(3, "qty", IntegerType()),
    )
    spec = PartitionSpec(
        PartitionField(1, 1000, BucketTransform(8), "id_bucket"),
        PartitionField(2, 1001, TruncateTransform(4), "name_trunc"),
    )
    create(target, m, schema, spec)
    append(m, hashed_rows(0, 1000), "ids 0..999")
    append(m, hashed_rows(1000, 2000), "ids 1000..1999")
    m.queries = [
        Query("count", "SELECT count(*) FROM {table}"),
        Query("one_id", "SELECT id, name, qty FROM {table} WHERE id = 1234"),
        Query("ids_in", "SELECT count(*), sum(qty) FROM {table} WHERE id IN (3, 333, 1333, 1999)"),
        Query("prefix", "SELECT count(*) FROM {table} WHERE name LIKE 'ban%'"),
        Query("exact_name", "SELECT count(*) FROM {table} WHERE name = 'apricot-5'"),
        Query("distinct_names", "SELECT count(DISTINCT name) FROM {table}"),
    ]
    return m


def timeparts_rows(lo: int, hi: int) -> list[Row]:
    out = []
    for i in range(lo, hi):
        t = dt.datetime(2023, 11, 1) + dt.timedelta(days=(i // 250) * 31 + (i % 25))
        out.append(
            {
                "id": i,
                "d": t.date(),
                "ts": t + dt.timedelta(minutes=i % 60),
                "tstz": (t + dt.timedelta(hours=i % 3, minutes=i % 60)).replace(tzinfo=UTC),
                "value": i % 10,
            }
        )
    return out


def make_timeparts(target: Target) -> TableModel:
    m = TableModel("timeparts", 2, "partitioned by year(d), month(ts) and hour(tstz): "
                   "Nov 2023 .. Jun 2024 (crosses a year), three hours a day")
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "d", DateType()),
        NestedField(3, "ts", TimestampType()),
        NestedField(4, "tstz", TimestamptzType()),
        NestedField(5, "value", IntegerType()),
    )
    spec = PartitionSpec(
        PartitionField(2, 1000, YearTransform(), "d_year"),
        PartitionField(3, 1001, MonthTransform(), "ts_month"),
        PartitionField(4, 1002, HourTransform(), "tstz_hour"),
    )
    create(target, m, schema, spec)
    append(m, timeparts_rows(0, 2000), "ids 0..1999")
    m.queries = [
        Query("count", "SELECT count(*) FROM {table}"),
        Query("per_year", "SELECT year(d) AS y, count(*) FROM {table} GROUP BY y ORDER BY y"),
        Query("per_month", "SELECT strftime(ts, '%Y-%m') AS mo, count(*) FROM {table} GROUP BY mo ORDER BY mo"),
        Query("one_month", "SELECT count(*), sum(value) FROM {table} "
              "WHERE ts >= TIMESTAMP '2024-02-01 00:00:00' AND ts < TIMESTAMP '2024-03-01 00:00:00'"),
        Query("year_2023", "SELECT count(*) FROM {table} WHERE d < DATE '2024-01-01'"),
        Query("hour_1", "SELECT count(*) FROM {table} WHERE hour(tstz AT TIME ZONE 'UTC') = 1"),
    ]
    return m


def make_nested(target: Target) -> TableModel:
    m = TableModel("nested", 2, "a struct column, which Quiver refuses (Unimplemented) rather than misread")
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "address", StructType(
            NestedField(3, "city", StringType()),
            NestedField(4, "zip", IntegerType()),
        )),
    )
    create(target, m, schema, PartitionSpec())
    append(m, [{"id": i, "address": {"city": f"c{i % 5}", "zip": 1000 + i}} for i in range(50)], "ids 0..49")
    m.queries = [Query("count", "SELECT count(*), sum(id) FROM {table}")]
    return m


def make_evolved(target: Target) -> TableModel:
    m = TableModel("evolved", 2, "schema and partition evolution: files written before the changes keep "
                   "the old column names and types, so only field ids read them right")
    schema = Schema(
        NestedField(1, "id", IntegerType(), required=True),
        NestedField(2, "name", StringType()),
        NestedField(3, "score", FloatType()),
        NestedField(4, "legacy", StringType()),
        NestedField(5, "qty", IntegerType()),
        NestedField(6, "cat", StringType()),
    )
    spec = PartitionSpec(PartitionField(6, 1000, IdentityTransform(), "cat"))
    create(target, m, schema, spec)
    cats = ["a", "b", "c"]

    def v1(i: int) -> Row:
        return {"id": i, "name": f"n{i % 20}", "score": (i % 40) * 0.25, "legacy": f"old-{i}",
                "qty": i % 11, "cat": cats[i % 3]}

    append(m, [v1(i) for i in range(0, 800)], "spec 0, schema 0: ids 0..799")
    append(m, [v1(i) for i in range(800, 1200)], "spec 0, schema 0: ids 800..1199")
    tbl = m.table
    assert tbl is not None
    # Schema evolution, in one schema change: rename, widen, drop, re-add a
    # column under the dropped one's name (a new field id: old files' values
    # must not show through), add, reorder.
    with tbl.update_schema() as u:
        u.rename_column("name", "full_name")
        u.update_column("id", LongType())
        u.update_column("score", DoubleType())
        u.update_column("qty", LongType())
        u.delete_column("legacy")
    tbl = tbl.refresh()
    with tbl.update_schema() as u:
        u.add_column("legacy", StringType())
        u.add_column("note", StringType())
        u.move_first("qty")
        u.move_after("cat", "id")
    tbl = tbl.refresh()
    # Partition evolution: cat stops being a partition, bucket(4, id) starts.
    with tbl.update_spec() as s:
        s.remove_field("cat")
        s.add_field("id", BucketTransform(4), "id_bucket")
    m.table = tbl.refresh()
    for _, r in m.live:
        r["full_name"] = r.pop("name")
        r["legacy"] = None
        r["note"] = None

    def v2(i: int) -> Row:
        return {"qty": i % 11, "id": 10_000_000_000 + i if i % 100 == 0 else i, "cat": cats[i % 3],
                "full_name": f"n{i % 20}", "score": (i % 40) * 0.25,
                "legacy": f"new-{i}", "note": f"note-{i % 5}"}

    append(m, [v2(i) for i in range(1200, 2000)], "spec 1, schema 2: ids 1200..1999 (some beyond int32)")
    m.queries = [
        Query("count", "SELECT count(*) FROM {table}"),
        Query("columns", "SELECT qty, id, cat, full_name, score, legacy, note FROM {table} "
              "WHERE id IN (5, 1205) ORDER BY id"),
        Query("renamed", "SELECT count(*) FROM {table} WHERE full_name = 'n7'"),
        Query("readded", "SELECT count(legacy), count(note) FROM {table}"),
        Query("widened", "SELECT sum(id), sum(qty), max(id) FROM {table}"),
        Query("per_cat", "SELECT cat, count(*) FROM {table} GROUP BY cat ORDER BY cat"),
        Query("count_before_evolution", "SELECT count(*), sum(qty) FROM {table}", snapshot=1),
    ]
    return m


def kv_rows(lo: int, hi: int) -> list[Row]:
    return [{"id": i, "region": REGIONS[i % 3], "name": f"n-{i % 9}", "value": i % 100}
            for i in range(lo, hi)]


KV_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "region", StringType()),
    NestedField(3, "name", StringType()),
    NestedField(4, "value", IntegerType()),
)

KV_QUERIES = [
    Query("count", "SELECT count(*) FROM {table}"),
    Query("sums", "SELECT sum(id), sum(value) FROM {table}"),
    Query("per_region", "SELECT region, count(*) FROM {table} GROUP BY region ORDER BY region"),
    Query("per_name", "SELECT name, count(*) FROM {table} GROUP BY name ORDER BY name"),
]


def make_pos_deleted(target: Target) -> TableModel:
    m = TableModel("pos_deleted", 2, "v2 merge-on-read position deletes (Java writer), identity(region) "
                   "partitions, one delete file per data file; deletes in two snapshots")
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "region"))
    create(target, m, KV_SCHEMA, spec, MOR_PROPERTIES)
    append(m, kv_rows(0, 1200), "ids 0..1199")
    append(m, kv_rows(1200, 2400), "ids 1200..2399")
    m.queries = list(KV_QUERIES) + [Query("count_before_deletes", "SELECT count(*) FROM {table}", snapshot=1)]
    return m


POS_D1 = [i for i in range(0, 2400) if i % 10 == 3]
POS_D2 = [i for i in range(0, 3000) if i % 7 == 0 and i % 10 != 3]


def make_eq_deleted(target: Target) -> TableModel:
    m = TableModel("eq_deleted", 2, "v2 equality deletes (Java writer), unpartitioned: the id delete of "
                   "snapshot 3 must not apply to rows re-inserted by snapshot 4 (sequence numbers)")
    create(target, m, KV_SCHEMA, PartitionSpec(), MOR_PROPERTIES)
    append(m, kv_rows(0, 1500), "ids 0..1499")
    append(m, kv_rows(1500, 3000), "ids 1500..2999")
    m.queries = list(KV_QUERIES) + [
        Query("reinserted", "SELECT count(*), sum(value) FROM {table} WHERE id % 10 = 0 AND id < 1000"),
        Query("count_after_id_delete", "SELECT count(*) FROM {table}", snapshot=2),
    ]
    return m


EQ_IDS = [i for i in range(0, 3000) if i % 10 == 0]
EQ_REINSERTED = [i for i in range(0, 1000) if i % 10 == 0]
EQ_NAME = "n-7"


def make_dv_deleted(target: Target) -> TableModel:
    m = TableModel("dv_deleted", 3, "v3 deletion vectors (Java writer, Puffin); created v2 by pyiceberg "
                   "(0.12 cannot append to v3) then upgraded; the second delete replaces the first DV of each file")
    spec = PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "region"))
    create(target, m, KV_SCHEMA, spec, MOR_PROPERTIES, format_version=2)
    append(m, kv_rows(0, 1000), "ids 0..999 (format v2)")
    append(m, kv_rows(1000, 2000), "ids 1000..1999 (format v2)")
    m.queries = list(KV_QUERIES) + [Query("count_after_first_dv", "SELECT count(*) FROM {table}", snapshot=2)]
    return m


DV_D1 = [i for i in range(0, 2000) if i % 8 == 4]
DV_D2 = [i for i in range(0, 2000) if i % 11 == 5 and i % 8 != 4]


# ---------------------------------------------------------------------------
# Ground truth: the queries over the model, in DuckDB


def jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        # DuckDB's sum of integers is a HUGEINT (decimal(38,0) in Arrow).
        exp = v.as_tuple().exponent
        return int(v) if isinstance(exp, int) and exp == 0 else str(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def answers(models: Iterable[TableModel]) -> dict[str, Any]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    out: dict[str, Any] = {}
    for m in models:
        assert m.table is not None
        arrow_schema = m.table.schema().as_arrow()
        snaps = []
        for s in m.snapshots:
            snaps.append(
                {
                    "snapshot_id": s.snapshot_id,
                    "sequence_number": s.sequence_number,
                    "timestamp_ms": s.timestamp_ms,
                    "operation": s.operation,
                    "note": s.note,
                    "row_count": len(s.rows),
                    "sum_id": sum(int(r["id"]) for r in s.rows),
                }
            )
        queries = []
        for q in m.queries:
            snap = m.snapshots[q.snapshot] if q.snapshot is not None else m.snapshots[-1]
            data = pa.Table.from_pylist(snap.rows, schema=arrow_schema)
            con.register("model_rows", data)
            # Through Arrow: DuckDB's own fetchall needs pytz for timestamptz.
            result = con.execute(q.sql.format(table="model_rows")).to_arrow_table()
            rows = [list(r) for r in zip(*(c.to_pylist() for c in result.columns), strict=True)]
            con.unregister("model_rows")
            queries.append(
                {
                    "name": q.name,
                    "sql": q.sql,
                    "snapshot_id": snap.snapshot_id if q.snapshot is not None else None,
                    "rows": [[jsonable(v) for v in r] for r in rows],
                }
            )
        meta = m.table.metadata
        out[m.name] = {
            "identifier": m.ident,
            "location": m.table.location(),
            "metadata_location": m.table.metadata_location,
            "format_version": m.format_version,
            "exercises": m.exercises,
            "current_snapshot_id": m.snapshots[-1].snapshot_id,
            "snapshots": snaps,
            "schema_fields": [
                {"id": f.field_id, "name": f.name, "type": str(f.field_type)} for f in m.table.schema().fields
            ],
            "partition_specs": [
                {
                    "spec_id": s.spec_id,
                    "fields": [
                        {
                            "name": f.name,
                            "transform": str(f.transform),
                            "source_id": f.source_id,
                            "field_id": f.field_id,
                        }
                        for f in s.fields
                    ],
                }
                for s in meta.partition_specs
            ],
            "delete_files": m.delete_files,
            "queries": queries,
        }
    return out


# ---------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rest-uri", help="Iceberg REST catalog, http://127.0.0.1:PORT")
    ap.add_argument("--s3-endpoint", help="S3 endpoint of the REST catalog's warehouse")
    ap.add_argument("--sql-catalog", help="local SQL catalog, sqlite:PATH")
    ap.add_argument("--warehouse", required=True, help="s3://bucket/prefix (REST) or a directory (SQL)")
    ap.add_argument("--manifest", required=True, help="where to write the manifest JSON")
    ap.add_argument("--writer-dir", default=os.environ.get("QUIVER_ICEBERG_WRITER")
                    or str(Path(__file__).resolve().parents[2] / ".tools" / "iceberg-writer"),
                    help="compiled DeleteWriter (default $QUIVER_ICEBERG_WRITER or .tools/iceberg-writer)")
    args = ap.parse_args()

    start = time.monotonic()
    target = open_target(args)
    java = JavaWriter(Path(args.writer_dir), target.java_catalog)
    target.catalog.create_namespace_if_not_exists(NAMESPACE)
    target.catalog.create_namespace_if_not_exists(EMPTY_NAMESPACE)

    events = make_events(target)
    daily = make_daily(target)
    hashed = make_hashed(target)
    timeparts = make_timeparts(target)
    evolved = make_evolved(target)
    nested = make_nested(target)
    pos = make_pos_deleted(target)
    eq = make_eq_deleted(target)
    dv = make_dv_deleted(target)

    # First batch of Java commits, then pyiceberg appends after them, then the second batch.
    wait_next_ms(pos)
    r = java.run([
        {"table": pos.ident, "kind": "position", "column": "id", "values": POS_D1},
        {"table": eq.ident, "kind": "equality", "columns": ["id"], "rows": [[i] for i in EQ_IDS]},
        {"table": dv.ident, "kind": "upgrade", "format_version": 3},
        {"table": dv.ident, "kind": "dv", "column": "id", "values": DV_D1},
        {"table": dv.ident, "kind": "dv", "column": "id", "values": DV_D2},
    ])
    d1, d2 = set(POS_D1), set(EQ_IDS)
    apply_java(pos, r[0], f"position deletes of {len(POS_D1)} rows (id % 10 = 3)", lambda s, row: row["id"] in d1)
    seq = int(r[1]["sequence_number"])
    apply_java(eq, r[1], f"equality delete on id of {len(EQ_IDS)} ids (id % 10 = 0)",
               lambda s, row: s < seq and row["id"] in d2)
    dv1, dv2 = set(DV_D1), set(DV_D2)
    apply_java(dv, r[3], f"deletion vectors for {len(DV_D1)} rows (id % 8 = 4)", lambda s, row: row["id"] in dv1)
    apply_java(dv, r[4], f"deletion vectors for {len(DV_D2)} more rows, replacing the first ones",
               lambda s, row: row["id"] in dv2)

    append(pos, kv_rows(2400, 3000), "ids 2400..2999")
    append(eq, [dict(row, value=row["value"] + 1000) for row in kv_rows(0, 1000) if row["id"] in set(EQ_REINSERTED)]
           + kv_rows(3000, 3500), "re-inserts ids 0, 10, .., 990 (value + 1000) and ids 3000..3499")

    wait_next_ms(eq)
    r = java.run([
        {"table": pos.ident, "kind": "position", "column": "id", "values": POS_D2},
        {"table": eq.ident, "kind": "equality", "columns": ["name"], "rows": [[EQ_NAME]]},
    ])
    d3 = set(POS_D2)
    apply_java(pos, r[0], f"position deletes of {len(POS_D2)} rows (id % 7 = 0), in old and new files",
               lambda s, row: row["id"] in d3)
    seq = int(r[1]["sequence_number"])
    apply_java(eq, r[1], f"equality delete on name = '{EQ_NAME}'",
               lambda s, row: s < seq and row["name"] == EQ_NAME)

    models = [events, daily, hashed, timeparts, evolved, nested, pos, eq, dv]
    manifest = {
        "version": MANIFEST_VERSION,
        "catalog": target.kind,
        "sql_catalog_name": SQL_CATALOG_NAME if target.kind == "sql" else None,
        "namespace": NAMESPACE,
        "empty_namespace": EMPTY_NAMESPACE,
        "warehouse": target.warehouse,
        "generated_seconds": round(time.monotonic() - start, 2),
        "java_seconds": round(java.seconds, 2),
        "tables": answers(models),
    }
    Path(args.manifest).write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(models)} tables in {manifest['generated_seconds']}s "
          f"(Java {manifest['java_seconds']}s) to {args.manifest}", file=sys.stderr)


if __name__ == "__main__":
    main()
