"""PII governance through the Python client: detection, acceptance, tag masks and system.violations.

One server for the module (``quiver_harness.governance``): JWT tokens for an
admin (``root``), an analyst (``ann``) and the privacy officer (``pia``); a
policy that masks every ``pii:*`` column for everyone but the privacy role;
a catalog file that tags ``crm.people.id`` ``pii:national_id``; and a table
of emails, phone numbers, first names and IP addresses in a warehouse of its
own (acceptances are saved in the warehouse, which no other test may see).
A detection run is a suggestion: it masks nothing until an admin accepts it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

import quiver
from quiver_harness import Tools
from quiver_harness.governance import GovernedServer, make_governed_warehouse, start_governed

PEOPLE = "SELECT id, email, phone, first_name, client_ip FROM crm.people ORDER BY id LIMIT 2"
#: What the detector finds in crm.people: column → kind.
FOUND = {"client_ip": "ip_address", "email": "email", "first_name": "person_name", "phone": "phone"}


@pytest.fixture(scope="module")
def governed(quiver_tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GovernedServer]:
    work = tmp_path_factory.mktemp("governance")
    warehouse = make_governed_warehouse(quiver_tools, work / "warehouse", work)
    server = start_governed(quiver_tools, warehouse, work)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def summary(governed: GovernedServer) -> dict[str, Any]:
    """The admin's detection run, once for the module."""
    with quiver.connect(governed.uri, token=governed.tokens["admin"]) as conn:
        return conn.detect()


def _as(governed: GovernedServer, role: str) -> quiver.Connection:
    return quiver.connect(governed.uri, token=governed.tokens[role])


def _people(conn: quiver.Connection) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = conn.sql(PEOPLE).to_arrow().to_pylist()
    return rows


def test_detect_suggests_and_masks_nothing(governed: GovernedServer, summary: dict[str, Any]) -> None:
    assert (summary["tables"], summary["columns"], summary["findings"]) == (1, 7, 4)
    assert not summary.get("failed")
    with _as(governed, "analyst") as ann:
        with pytest.raises(quiver.PermissionDenied, match="for admins"):
            ann.detect()
        found = ann.detections()
        by_column = {r["column_name"]: r for r in found.to_dict("records")}
        assert {c: r["kind"] for c, r in by_column.items()} == FOUND
        assert set(found["status"]) == {"suggested"}
        assert by_column["email"]["tag"] == "pii:email"
        assert (by_column["email"]["method"], by_column["email"]["rows_matched"]) == ("values+name", 1000)
        assert by_column["first_name"]["method"] == "name", "Ann, Bob, … look like any word: the name gives it away"
        # Suggested: nothing is masked but the id the catalog file tags (a BIGINT: NULL, its type kept).
        rows = ann.sql(PEOPLE).to_arrow()
        assert rows.schema.field("id").type == pa.int64()
        assert rows.to_pylist()[0] == {
            "id": None,
            "email": "user0@example.com",
            "phone": "+14155550000",
            "first_name": "Ann",
            "client_ip": "10.0.0.1",
        }


def test_violations_are_for_admins(governed: GovernedServer, summary: dict[str, Any]) -> None:
    with _as(governed, "admin") as admin, _as(governed, "analyst") as ann:
        found = admin.violations()
        assert list(found.columns) == [
            "violation",
            "catalog_name",
            "schema_name",
            "table_name",
            "column_name",
            "pii",
            "evidence",
            "principal",
            "report",
            "published_as",
        ]
        rows = {r["column_name"]: r for r in found.to_dict("records")}
        # client_ip is never accepted here; the others may be, by the time this runs.
        ip = rows["client_ip"]
        assert (ip["violation"], ip["catalog_name"], ip["schema_name"], ip["table_name"]) == (
            "readable_unmasked",
            "quiver",
            "crm",
            "people",
        )
        assert (ip["pii"], ip["evidence"], ip["principal"]) == ("ip_address", "detection_suggested", "anyone")
        assert "id" not in rows, "the tagged id is masked for everyone but privacy, whom the policy exempts"
        assert "privacy" not in set(found["principal"])
        assert len(ann.violations()) == 0, "what others may read is for admins"

        with pytest.MonkeyPatch.context() as mp:
            mp.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
            table = admin.violations()
        assert isinstance(table, pa.Table)
        assert table.column("column_name").to_pylist() == list(found["column_name"])


def test_accept_refusals(governed: GovernedServer, summary: dict[str, Any]) -> None:
    with _as(governed, "admin") as admin, _as(governed, "analyst") as ann:
        with pytest.raises(quiver.PermissionDenied, match="accepting detections is for admins"):
            ann.accept_detection("crm.people", "email")
        with pytest.raises(quiver.NotFound, match="nothing was detected in quiver.crm.people column notes"):
            admin.accept_detection("crm.people", "notes")
        with pytest.raises(quiver.NotFound, match="column nope"):
            admin.accept_detection("crm.people", "nope")
        with pytest.raises(quiver.QueryError, match="want a table as schema.table") as bad_table:
            admin.accept_detection("people", "email")
        assert bad_table.value.code == "INVALID_ARGUMENT"
        with pytest.raises(quiver.QueryError, match='unknown kind of personal data: "shoe_size"') as bad_kind:
            admin.accept_detection("crm.people", "email", kind="shoe_size")
        assert bad_kind.value.code == "INVALID_ARGUMENT"
        with pytest.raises(ValueError, match="accept_detection"):
            admin.accept_detection("crm.people", "")
        assert set(admin.detections()["status"]) == {"suggested"}, "nothing was accepted"


def test_accepting_masks_the_column(governed: GovernedServer, summary: dict[str, Any]) -> None:
    with _as(governed, "admin") as admin, _as(governed, "analyst") as ann, _as(governed, "privacy") as pia:
        assert _people(ann)[0]["email"] == "user0@example.com"
        before = admin.violations()
        assert {"email", "phone"} <= set(before["column_name"])
        email = before[before["column_name"] == "email"].iloc[0]
        assert (email["violation"], email["evidence"], email["principal"]) == (
            "readable_unmasked",
            "detection_suggested",
            "anyone",
        )

        accepted = admin.accept_detection("crm.people", "email")
        assert {k: v for k, v in accepted.items() if k != "accepted_at"} == {
            "catalog": "quiver",
            "schema": "crm",
            "table": "people",
            "column": "email",
            "kind": "email",
            "accepted_by": "root",
        }
        assert accepted["accepted_at"].endswith("Z")
        # Names match in any case; the kind may be given.
        phone = admin.accept_detection("CRM.People", "PHONE", kind="phone")
        assert (phone["column"], phone["kind"]) == ("phone", "phone")

        rows = _people(ann)
        assert [(r["id"], r["email"], r["phone"]) for r in rows] == [(None, "***", "***"), (None, "***", "***")]
        assert rows[0]["client_ip"] == "10.0.0.1", "still only suggested"
        assert _people(pia)[1] == {
            "id": 1,
            "email": "user1@example.com",
            "phone": "+14155550001",
            "first_name": "Bob",
            "client_ip": "10.1.1.2",
        }, "the privacy role reads what the others may not"

        status = admin.detections().set_index("column_name")
        assert (status.loc["email", "status"], status.loc["phone", "status"]) == ("accepted", "accepted")
        assert status.loc["client_ip", "status"] == "suggested"
        assert admin.table("crm.people").describe().to_pylist()[1]["tags"] == ["pii:email"]
        hits = ann.search("emial")
        assert hits.iloc[0]["name"] == "crm.people.email" and list(hits.iloc[0]["tags"]) == ["pii:email"]

        after = admin.violations()
        assert set(after["column_name"]) == set(before["column_name"]) - {"email", "phone"}
        assert sorted(after["column_name"]) == ["client_ip", "first_name"]
