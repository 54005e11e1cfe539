"""Pure functions of the client: protobuf encoding, parameters, names, plans, HTML."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import quiver
from quiver import _proto
from quiver.catalog import quote_ident, split_name
from quiver.connection import params_batch
from quiver.result import decimals_to_float

PACKAGE = Path(quiver.__file__).resolve().parent


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**63 - 1])
def test_varint_round_trip(value: int) -> None:
    encoded = _proto.varint(value)
    message = _proto.varint(1 << 3) + encoded  # field 1, varint
    assert list(_proto.fields(message)) == [(1, value)]


def test_any_round_trip_and_type_check() -> None:
    packed = _proto.create_prepared_request("SELECT ?")
    inner = _proto.unpack_any(packed, _proto.CREATE_PREPARED_REQUEST)
    assert _proto.bytes_fields(inner) == {1: b"SELECT ?"}
    with pytest.raises(ValueError, match="expected"):
        _proto.unpack_any(packed, _proto.PREPARED_QUERY)


def test_cancel_flight_info_request_wraps_the_serialized_info() -> None:
    info = flight.FlightInfo(
        pa.schema([("a", pa.int64())]),
        flight.FlightDescriptor.for_command(b"SELECT 1"),
        [flight.FlightEndpoint(b"t" * 200, [])],
        app_metadata=b'{"query_id": "abc"}',
    )
    body = _proto.cancel_flight_info_request(info.serialize())
    assert body[:1] == b"\x0a"
    (number, value), = list(_proto.fields(body))
    assert number == 1 and isinstance(value, bytes)
    assert flight.FlightInfo.deserialize(value).app_metadata == b'{"query_id": "abc"}'
    assert _proto.cancel_status(b"\x08\x02") == 2


def test_get_tables_escapes_nothing_itself() -> None:
    inner = _proto.unpack_any(_proto.get_tables("demo"), _proto.GET_TABLES)
    assert list(_proto.fields(inner)) == [(2, b"demo"), (5, 1)]


def test_params_batch_types() -> None:
    values = [
        None,
        True,
        7,
        2.5,
        "tv",
        b"\x00",
        Decimal("1.25"),
        dt.date(2025, 1, 2),
        dt.datetime(2025, 1, 2, 3, 4, 5),
    ]
    batch = params_batch(values)
    assert batch.num_rows == 1
    assert batch.schema.names == [f"${i}" for i in range(1, 10)]
    assert [str(t) for t in batch.schema.types] == [
        "null",
        "bool",
        "int64",
        "double",
        "string",
        "binary",
        "decimal128(3, 2)",
        "date32[day]",
        "timestamp[us]",
    ]
    assert batch.to_pylist()[0]["$5"] == "tv"


def test_params_batch_refuses_values_without_arrow_type() -> None:
    with pytest.raises(TypeError, match="parameter 2"):
        params_batch([1, object()])


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("demo.plays", ["demo", "plays"]),
        ("quiver.demo.plays", ["quiver", "demo", "plays"]),
        (' demo . "odd.name" ', ["demo", "odd.name"]),
        ('"a""b".c', ['a"b', "c"]),
    ],
)
def test_split_name(name: str, parts: list[str]) -> None:
    assert split_name(name) == parts


@pytest.mark.parametrize("name", ["plays", "a.b.c.d", "demo.", 'demo."open', "demo.plays; DROP"])
def test_split_name_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="table name"):
        split_name(name)


def test_quote_ident() -> None:
    assert quote_ident('we"ird') == '"we""ird"'


def test_explain_views() -> None:
    plan = quiver.Explain(
        [
            ("strategy", "partial aggregate; split demo.plays"),
            ("fragment 0", "worker=a files=3 sql=SELECT 1"),
            ("fragment 1", "worker=b files=2 sql=SELECT 1"),
            ("merge", "SELECT sum(n) FROM partials"),
        ]
    )
    assert plan.strategy == "partial aggregate; split demo.plays"
    assert len(plan.fragments) == 2
    assert str(plan).splitlines()[1] == "fragment 0  worker=a files=3 sql=SELECT 1"
    assert "2 fragments" in plan._repr_html_()
    assert plan.to_arrow().column("step").to_pylist()[-1] == "merge"


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_mypy_strict_is_clean() -> None:
    # The whole package, with the settings of pyproject.toml ([tool.mypy] strict = true).
    project = PACKAGE.parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "src/quiver"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_decimals_to_float_casts_top_level_decimal_columns() -> None:
    table = pa.table(
        {
            "price": pa.array([Decimal("1.25"), None, Decimal("123456789.99")], pa.decimal128(12, 2)),
            "big": pa.array([Decimal("1"), Decimal("2"), Decimal("3")], pa.decimal256(40, 0)),
            "name": ["a", "b", "c"],
            "nested": pa.array([[Decimal("1.5")], [], None], pa.list_(pa.decimal128(4, 1))),
        }
    )
    out = decimals_to_float(table)
    assert out.schema.names == table.schema.names
    assert out.schema.field("price").type == out.schema.field("big").type == pa.float64()
    assert out.column("price").to_pylist() == [1.25, None, 123456789.99]
    assert out.schema.field("name").type == pa.string()
    assert out.schema.field("nested").type == table.schema.field("nested").type
    # Unscaled values past 2**53 take the slower, still correctly rounded path; so do sliced chunks.
    wide = pa.chunked_array([pa.array([Decimal("12345678901234567.89"), Decimal("-0.1"), None], pa.decimal128(38, 2))])
    wide = pa.chunked_array([wide.chunk(0), wide.chunk(0).slice(1)])
    got = decimals_to_float(pa.table({"x": wide})).column("x").to_pylist()
    assert got == [12345678901234567.89, -0.1, None, -0.1, None]
    frame = out.to_pandas()
    assert str(frame["price"].dtype) == "float64" and frame["price"].isna().tolist() == [False, True, False]
