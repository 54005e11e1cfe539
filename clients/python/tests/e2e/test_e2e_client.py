"""The quiver package against real servers: every fetch method equals DuckDB on the same files."""

from __future__ import annotations

import datetime as dt
import sys

import pandas as pd
import polars as pl
import polars.testing
import pyarrow as pa
import pytest
from deployments import Deployment

import quiver
import quiver.dbapi
from quiver_harness import assert_tables_match, flight_fetch

# Queries with a total ORDER BY, so frames can be compared row by row.
QUERIES = {
    "titles": "SELECT title_id, name, kind, genre, release_date, runtime_minutes, rating, price "
    "FROM demo.titles ORDER BY title_id",
    "plays_per_day": "SELECT day, count(*) AS plays, sum(revenue) AS revenue, avg(duration_seconds) AS avg_seconds "
    "FROM demo.plays GROUP BY day ORDER BY day",
    "top_titles": "SELECT t.name, count(*) AS plays FROM demo.plays p JOIN demo.titles t USING (title_id) "
    "GROUP BY t.title_id, t.name ORDER BY plays DESC, t.title_id LIMIT 10",
    "profiles": "SELECT profile_id, country, plan, signup_at, birth_year, is_kids FROM demo.profiles "
    "WHERE country = 'US' ORDER BY profile_id",
    "events": "SELECT event_time, user_id, event_name, properties FROM quiver.demo.events "
    "ORDER BY event_time, user_id, session_id, event_name, properties LIMIT 500",
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_to_arrow(deployment: Deployment, name: str) -> None:
    sql = QUERIES[name]
    with quiver.connect(deployment.uri) as conn:
        result = conn.sql(sql)
        table = result.to_arrow()
    expected = deployment.oracle.query(sql)
    assert_tables_match(table, expected, ordered=True, context=f"{name} via quiver.to_arrow")
    assert [f.type for f in result.schema] == list(expected.schema.types)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_to_pandas(deployment: Deployment, name: str) -> None:
    sql = QUERIES[name]
    with quiver.connect(deployment.uri) as conn:
        frame = conn.sql(sql).to_pandas()
    expected = deployment.oracle.query(sql).to_pandas()
    pd.testing.assert_frame_equal(frame, expected, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("name", ["titles", "plays_per_day", "top_titles"])
def test_to_polars(deployment: Deployment, name: str) -> None:
    sql = QUERIES[name]
    with quiver.connect(deployment.uri) as conn:
        frame = conn.sql(sql).to_polars()
    expected = pl.from_arrow(deployment.oracle.query(sql))
    assert isinstance(expected, pl.DataFrame)
    polars.testing.assert_frame_equal(frame, expected, check_exact=False, rel_tol=1e-9)


def test_to_batches_streams_every_row(deployment: Deployment) -> None:
    expected = deployment.oracle.query("SELECT count(*) AS n, sum(play_id) AS s FROM demo.plays").to_pylist()[0]
    rows = total = batches = 0
    with quiver.connect(deployment.uri) as conn:
        reader = conn.sql("SELECT play_id FROM demo.plays").to_batches()
        assert isinstance(reader, pa.RecordBatchReader)
        for batch in reader:
            batches += 1
            rows += batch.num_rows
            total += sum(v for v in batch.column(0).to_pylist() if v is not None)
    assert (rows, total) == (expected["n"], expected["s"])
    assert batches > 1


def test_parallel_fetch_equals_a_single_stream(deployment: Deployment) -> None:
    sql = "SELECT play_id, profile_id, device, revenue, day FROM demo.plays"
    with quiver.connect(deployment.uri, max_streams=8) as conn:
        result = conn.sql(sql)
        parallel = result.to_arrow()
        assert (result.num_endpoints or 0) >= 2, "the test needs a result split over several endpoints"
        streamed = conn.sql(sql).to_batches().read_all()
    with quiver.connect(deployment.uri, max_streams=1) as conn:
        one_at_a_time = conn.sql(sql).to_arrow()
    # pyarrow alone: every endpoint read in turn, concatenated in endpoint order.
    single = flight_fetch(deployment.uri, sql, timeout=120).table
    # Same rows in the same order: endpoint order is kept however the streams interleave.
    assert parallel.equals(single)
    assert streamed.equals(single)
    assert one_at_a_time.equals(single)
    expected = deployment.oracle.query(sql + " ORDER BY play_id")
    assert parallel.sort_by("play_id").equals(expected)


def test_parameters_bind_through_prepared_statements(deployment: Deployment) -> None:
    sql = "SELECT count(*) AS n, sum(revenue) AS revenue FROM demo.plays WHERE device = ? AND day >= ?"
    params: list[object] = ["tv", dt.date(2025, 1, 15)]
    with quiver.connect(deployment.uri) as conn:
        got = conn.sql(sql, params).to_arrow()
        # A value that string formatting would turn into SQL stays a value.
        hostile = conn.sql("SELECT count(*) AS n FROM demo.titles WHERE name = ?", ["x' OR '1'='1"]).to_arrow()
    want = deployment.oracle.query(sql, params)
    assert_tables_match(got, want, ordered=True, context="bound parameters")
    assert got.column("n")[0].as_py() > 0
    assert hostile.column("n")[0].as_py() == 0


def test_dollar_parameters_and_none(deployment: Deployment) -> None:
    sql = "SELECT title_id, name FROM demo.titles WHERE genre = $1 AND ($2 IS NULL OR kind = $2) ORDER BY title_id"
    with quiver.connect(deployment.uri) as conn:
        got = conn.sql(sql, ["Drama", None]).to_arrow()
    want = deployment.oracle.query(sql, ["Drama", None])
    assert got.num_rows > 0
    assert_tables_match(got, want, ordered=True, context="$n parameters")


def test_empty_result_keeps_its_schema(deployment: Deployment) -> None:
    sql = "SELECT title_id, name FROM demo.titles WHERE title_id < 0"
    with quiver.connect(deployment.uri) as conn:
        table = conn.sql(sql).to_arrow()
    assert table.num_rows == 0
    assert table.schema.names == ["title_id", "name"]
    assert list(table.schema.types) == list(deployment.oracle.query(sql).schema.types)


def test_schema_before_fetching(deployment: Deployment) -> None:
    sql = "SELECT * FROM demo.plays"
    with quiver.connect(deployment.uri) as conn:
        result = conn.sql(sql)
        schema = result.schema
        assert "not fetched" in repr(result)
    want = deployment.oracle.query(sql + " LIMIT 0").schema
    assert schema.names == want.names
    assert [str(t) for t in schema.types] == [str(t) for t in want.types]


def test_explain_shows_the_fragments(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn:
        result = conn.sql("SELECT device, count(*) FROM demo.plays GROUP BY device")
        plan = result.explain()
        scan = conn.sql("SELECT * FROM demo.plays")
        scan_plan = scan.explain()
        scan.to_arrow()
    assert plan.strategy and plan.fragments
    assert any(step == "merge" for step, _ in plan.rows)
    assert len(scan_plan.fragments) == scan.num_endpoints
    assert any(step == "table demo.plays" for step, _ in scan_plan.rows)


def test_connection_runs_several_queries(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn:
        counts = [
            conn.sql(f"SELECT count(*) AS n FROM demo.{t}").to_arrow().column(0)[0].as_py()
            for t in ("titles", "profiles", "plays", "events")
        ]
    expected = [
        deployment.oracle.query(f"SELECT count(*) FROM demo.{t}").column(0)[0].as_py()
        for t in ("titles", "profiles", "plays", "events")
    ]
    assert counts == expected


def test_tables_lists_the_warehouse(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn:
        frame = conn.tables()
        only_demo = conn.tables("demo")
        system = conn.tables("system")
    assert list(frame.columns) == ["schema", "table", "columns"]
    assert {"queries", "tables"} <= set(system["table"])
    got = {(r.schema, r.table): list(r.columns) for r in frame.itertuples()}
    assert got == deployment.oracle.tables
    assert len(only_demo) == len(frame)


def test_tables_without_pandas_is_a_pyarrow_table(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with quiver.connect(deployment.uri) as conn:
        table = conn.tables()
    assert isinstance(table, pa.Table)
    assert table.column_names == ["schema", "table", "columns"]
    got = {(r["schema"], r["table"]): r["columns"] for r in table.to_pylist()}
    assert got == deployment.oracle.tables


def test_table_schema_head_count(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn:
        plays = conn.table("demo.plays")
        head = plays.head(7).to_arrow()
        count = plays.count()
        qualified = conn.table("quiver.demo.titles")
        assert qualified.name == "demo.titles"
        with pytest.raises(quiver.NotFound, match="no_such_table"):
            conn.table("demo.no_such_table")
    want = deployment.oracle.schema("demo", "plays")
    assert plays.schema.names == want.names == plays.columns
    assert [str(t) for t in plays.schema.types] == [str(t) for t in want.types]
    assert head.num_rows == 7 and head.schema.names == want.names
    assert count == deployment.oracle.query("SELECT count(*) FROM demo.plays").column(0)[0].as_py()
    assert "demo.plays" in plays._repr_html_()


def test_result_displays_itself(deployment: Deployment) -> None:
    with quiver.connect(deployment.uri) as conn:
        result = conn.sql(QUERIES["plays_per_day"])
        html = result._repr_html_()
        fetched = result.to_arrow()
        full = result._repr_html_()
    # Before a fetch the display reads a page; after one it counts the rows.
    assert fetched.num_rows > 20
    assert "first 20 rows; more not fetched · 4 columns ·" in html
    assert "<th>day<br><span class=\"q-type\">date32[day]</span></th>" in html
    assert f"{fetched.num_rows} rows · 4 columns ·" in full and f"{fetched.num_rows - 20} more rows" in full


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
def test_compressed_results_match(deployment: Deployment, compression: quiver.connection.Compression) -> None:
    """Results the server compresses (a relayed scan, a merge, a join) read
    back equal to DuckDB's through the quiver client and through ADBC."""
    names = ["titles", "plays_per_day", "top_titles"]
    with quiver.connect(deployment.uri, compression=compression) as conn:
        for name in names:
            expected = deployment.oracle.query(QUERIES[name])
            table = conn.sql(QUERIES[name]).to_arrow()
            assert_tables_match(table, expected, ordered=True, context=f"{name}, {compression}, quiver")
    with quiver.dbapi.connect(deployment.uri, compression=compression) as dbconn, dbconn.cursor() as cur:
        for name in names:
            cur.execute(QUERIES[name])
            table = cur.fetch_arrow_table()
            expected = deployment.oracle.query(QUERIES[name])
            assert_tables_match(table, expected, ordered=True, context=f"{name}, {compression}, ADBC")
