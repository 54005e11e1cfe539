"""The quiver package against real servers."""

from __future__ import annotations

import pandas as pd
import pytest
from deployments import Deployment

import quiver
from quiver_harness import assert_tables_match

# Queries with a total ORDER BY, so pandas frames can be compared row by row.
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


def test_fetch_batches_streams_every_row(deployment: Deployment) -> None:
    expected = deployment.oracle.query("SELECT count(*) AS n, sum(play_id) AS s FROM demo.plays").to_pylist()[0]
    rows = total = 0
    with quiver.connect(deployment.uri) as conn:
        result = conn.sql("SELECT play_id FROM demo.plays")
        for batch in result.fetch_batches():
            rows += batch.num_rows
            total += sum(v for v in batch.column(0).to_pylist() if v is not None)
    assert (rows, total) == (expected["n"], expected["s"])


def test_empty_result_keeps_its_schema(deployment: Deployment) -> None:
    sql = "SELECT title_id, name FROM demo.titles WHERE title_id < 0"
    with quiver.connect(deployment.uri) as conn:
        table = conn.sql(sql).to_arrow()
    assert table.num_rows == 0
    assert table.schema.names == ["title_id", "name"]
    assert list(table.schema.types) == list(deployment.oracle.query(sql).schema.types)


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
