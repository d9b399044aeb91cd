"""Duplicate rules: fuzzy matching, and block and alert over HTTP (exact and fuzzy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from crmctl.sandbox.duplicates import normalise_name, similar

if TYPE_CHECKING:
    from .conftest import RecordsApi, RecordsOrg


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("ACME, Inc.", "acme"),
        ("  Müller   GmbH ", "muller"),
        ("Smith & Sons Ltd.", "smith sons"),
        ("The Limited", "the"),
        ("Ltd", "ltd"),  # nothing but a suffix: keep it rather than match everything
        ("Globex_Corporation", "globex"),
    ],
)
def test_normalise_name(text: str, normal: str) -> None:
    assert normalise_name(text) == normal


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Acme Corporation", "ACME corp.", True),
        ("Northwind Traders", "Northwind Trader", True),
        ("Globex Industries", "Globex Industires Inc", True),
        ("Acme", "Apex", False),
        ("Initech", "Initrode", False),
        ("Blue Yonder Airlines", "Blue Yonder Airways", False),
    ],
)
def test_similar(a: str, b: str, same: bool) -> None:
    assert similar(a, b) is same


@pytest.fixture
def admin(records_org: RecordsOrg) -> RecordsApi:
    return records_org.admin


def blocked(response: Any, rule: str, ids: list[str]) -> None:
    message = f"duplicate rule {rule} matches existing record(s) {', '.join(ids)}"
    assert response.status_code == 409, response.text
    assert response.json() == {
        "error": {
            "code": "DUPLICATES_DETECTED",
            "message": message,
            "details": {"duplicates": [{"rule": rule, "recordIds": ids, "message": message}]},
        }
    }


def alert(rule: str, ids: list[str]) -> dict[str, Any]:
    message = f"duplicate rule {rule} matches existing record(s) {', '.join(ids)}"
    return {"code": "DUPLICATES_DETECTED", "rule": rule, "recordIds": ids, "message": message}


def test_an_exact_duplicate_is_blocked_on_create(admin: RecordsApi) -> None:
    first = admin.made("Contact", {"LastName": "Original", "Email": "Same@Example.com"})
    response = admin.create("Contact", {"LastName": "Copy", "Email": "same@example.COM"})
    blocked(response, "Contact.Same_Email", [first])
    stored = admin.query("Contact", "Email:eq:same@example.com").json()["records"]
    assert [r["id"] for r in stored] == [first]


def test_blank_values_never_match(admin: RecordsApi) -> None:
    first = admin.made("Contact", {"LastName": "Blank One"})
    response = admin.create("Contact", {"LastName": "Blank Two"})
    assert response.status_code == 201
    assert response.json()["warnings"] == []
    assert first != response.json()["id"]


def test_an_exact_duplicate_made_by_an_edit_is_an_alert(admin: RecordsApi) -> None:
    first = admin.made("Contact", {"LastName": "Edit One", "Email": "edit.one@example.com"})
    second = admin.made("Contact", {"LastName": "Edit Two", "Email": "edit.two@example.com"})
    response = admin.update("Contact", second, {"Email": "EDIT.ONE@example.com"})
    assert response.status_code == 200
    assert response.json()["warnings"] == [alert("Contact.Same_Email", [first])]
    assert admin.stored("Contact", second)["Email"] == "EDIT.ONE@example.com"
    # An edit that leaves the match fields alone does not alert again.
    response = admin.update("Contact", second, {"Title": "CTO"})
    assert response.json()["warnings"] == []


def test_a_fuzzy_duplicate_is_an_alert_and_the_record_is_stored(admin: RecordsApi) -> None:
    first = admin.made("Account", {"Name": "Globex Industries Corporation"})
    response = admin.create("Account", {"Name": "GLOBEX Industries Corp."})
    assert response.status_code == 201
    second = response.json()["id"]
    assert response.json()["warnings"] == [alert("Account.Similar_Name", [first])]
    assert admin.stored("Account", second)["Name"] == "GLOBEX Industries Corp."
    response = admin.create("Account", {"Name": "Globex Industires"})
    assert response.json()["warnings"] == [alert("Account.Similar_Name", [first, second])]
    response = admin.create("Account", {"Name": "Initrode"})
    assert response.json()["warnings"] == []


def test_exact_and_fuzzy_fields_must_all_match_to_block(admin: RecordsApi) -> None:
    first = admin.made("Lead", {"LastName": "Smith", "Company": "Umbrella Ltd"})
    blocked(
        admin.create("Lead", {"LastName": "SMITH", "Company": "umbrella limited"}),
        "Lead.Same_Person_At_Company",
        [first],
    )
    other = admin.create("Lead", {"LastName": "Jones", "Company": "Umbrella Ltd"})
    assert other.status_code == 201 and other.json()["warnings"] == []
    moved = admin.made("Lead", {"LastName": "Smith", "Company": "Wayne Enterprises"})
    blocked(
        admin.update("Lead", moved, {"Company": "Umbrella"}),
        "Lead.Same_Person_At_Company",
        [first],
    )
    assert admin.stored("Lead", moved)["Company"] == "Wayne Enterprises"


def test_an_inactive_rule_does_not_run(admin: RecordsApi) -> None:
    admin.made("Account", {"Name": "Phone Alpha", "Phone": "+1 555 0100"})
    response = admin.create("Account", {"Name": "Zeta Works", "Phone": "+1 555 0100"})
    assert response.status_code == 201 and response.json()["warnings"] == []
