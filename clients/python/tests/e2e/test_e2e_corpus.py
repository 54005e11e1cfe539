"""Every corpus query, through third-party clients, against the DuckDB oracle."""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flightsql
from deployments import Deployment, require_query

from quiver_harness import CorpusQuery, assert_tables_match, flight_fetch


def test_corpus_pyarrow_flight(deployment: Deployment, corpus_query: CorpusQuery | None) -> None:
    query = require_query(corpus_query)
    fetched = flight_fetch(deployment.uri, query.sql, timeout=120)
    expected = deployment.oracle.query(query.sql)
    assert_tables_match(fetched.table, expected, ordered=query.ordered, context=f"{query.name} via pyarrow.flight")
    if fetched.declared_schema is not None and len(fetched.declared_schema) > 0:
        # What GetFlightInfo announced must be what DoGet streamed.
        declared = [(f.name, str(f.type)) for f in fetched.declared_schema]
        streamed = [(f.name, str(f.type)) for f in fetched.table.schema]
        assert declared == streamed, f"{query.name}: FlightInfo schema differs from the stream's"


def test_corpus_adbc(deployment: Deployment, adbc_conn: flightsql.Connection, corpus_query: CorpusQuery | None) -> None:
    query = require_query(corpus_query)
    with adbc_conn.cursor() as cur:
        cur.execute(query.sql)
        actual = cur.fetch_arrow_table()
    expected = deployment.oracle.query(query.sql)
    assert_tables_match(actual, expected, ordered=query.ordered, context=f"{query.name} via ADBC")
