"""Catalog metadata through the Python client: a real server with a catalog file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import quiver
from quiver_harness.servers import QuiverServer, Warehouse, start_quiver
from quiver_harness.tools import Tools

CATALOG = """
schemas:
  demo: {owner: data-platform}
tables:
  demo.profiles:
    owner: growth
    description: One row per account.
    tags: [customer]
    columns:
      country: {description: Where the account was opened., tags: ["geo", "pii:location"]}
"""


@pytest.fixture(scope="module")
def catalog_server(
    quiver_tools: Tools, local_warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[QuiverServer]:
    work: Path = tmp_path_factory.mktemp("catalog")
    catalog = work / "catalog.yaml"
    catalog.write_text(CATALOG)
    server = start_quiver(
        quiver_tools, local_warehouse, work, local_workers=1, extra_args=["--catalog-file", str(catalog)]
    )
    try:
        yield server
    finally:
        server.stop()


def test_table_metadata(catalog_server: QuiverServer) -> None:
    with quiver.connect(catalog_server.uri) as conn:
        profiles = conn.table("demo.profiles")
        assert (profiles.owner, profiles.description, profiles.tags) == ("growth", "One row per account.", ["customer"])
        described = profiles.describe()
        assert described.column_names == ["column", "type", "nullable", "description", "tags"]
        assert described.column("column").to_pylist() == profiles.columns
        rows = {r["column"]: r for r in described.to_pylist()}
        assert rows["country"]["description"] == "Where the account was opened."
        assert rows["country"]["tags"] == ["geo", "pii:location"]
        assert rows["country"]["type"] == "VARCHAR"
        assert all(r["description"] is None for name, r in rows.items() if name != "country")

        plays = conn.table("DEMO.Plays")
        assert (plays.owner, plays.description, plays.tags) == (None, None, [])


def test_search(catalog_server: QuiverServer) -> None:
    with quiver.connect(catalog_server.uri) as conn:
        hits = conn.search("acount", limit=5)
        assert list(hits.columns) == ["kind", "name", "type", "description", "tags", "score", "matched"]
        assert hits.iloc[0]["name"] == "demo.profiles.account_id", "a typo of a column's name"
        assert list(hits.iloc[0]["matched"]) == ["name"]
        assert "demo.profiles" in list(hits["name"]), "and of a word of the table's description"
        opened = conn.search("opend", limit=1)
        assert (opened.iloc[0]["name"], list(opened.iloc[0]["matched"])) == ("demo.profiles.country", ["description"])
        location = conn.search("pii location")
        assert location.iloc[0]["name"] == "demo.profiles.country"
        assert location.iloc[0]["type"] == "VARCHAR"
        assert conn.search("qqqqzzzz").empty
        with pytest.raises(quiver.QueryError, match="no word to search for"):
            conn.search("  ")
        with pytest.raises(ValueError, match="limit"):
            conn.search("x", limit=0)


def test_lineage(catalog_server: QuiverServer) -> None:
    with quiver.connect(catalog_server.uri) as conn:
        result = conn.sql(
            "SELECT pr.country, count(*) AS plays FROM demo.plays p JOIN demo.profiles pr USING (profile_id) "
            "WHERE p.completed GROUP BY pr.country"
        )
        result.to_arrow()
        query_id = result.query_id
        assert query_id

        mine = conn.lineage(query_id=query_id)
        edges = sorted(
            (
                r["output_column"] if isinstance(r["output_column"], str) else "*",
                f"{r['source_table']}.{r['source_column']}",
                r["kind"],
            )
            for r in mine.to_dict("records")
        )
        assert edges == [
            ("*", "plays.completed", "filter"),
            ("*", "plays.profile_id", "join"),
            ("*", "profiles.country", "group_by"),
            ("*", "profiles.profile_id", "join"),
            ("country", "profiles.country", "identity"),
        ]
        assert set(mine["principal"]) == {"anonymous"}
        assert mine["report"].isna().all() and not mine["policy"].any()

        # "Who reads demo.profiles.country?": this query, by column, any case.
        readers = conn.lineage("DEMO.profiles.Country")
        assert query_id in set(readers["query_id"])
        assert set(readers["source_column"]) == {"country"}
        assert conn.lineage("quiver.demo.profiles.country")["query_id"].tolist() == readers["query_id"].tolist()
        assert len(conn.lineage("demo.titles.no_such_column")) == 0  # history is shared by the session's servers

        with pytest.raises(ValueError, match="schema.table.column"):
            conn.lineage("profiles.country")


def test_detections(catalog_server: QuiverServer) -> None:
    with quiver.connect(catalog_server.uri) as conn:
        # Without authentication nobody is an admin: the run is refused.
        with pytest.raises(quiver.PermissionDenied, match="detection runs are for admins"):
            conn.detect()
        found = conn.detections()
        assert list(found.columns) == [
            "catalog_name",
            "schema_name",
            "table_name",
            "column_name",
            "kind",
            "confidence",
            "method",
            "rows_sampled",
            "rows_matched",
            "status",
            "tag",
            "detected_at",
        ]
        assert len(found) == 0, "no run yet"
