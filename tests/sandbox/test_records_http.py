"""Records over HTTP: create, read, update, delete, query, pagination and type changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .conftest import RecordsApi, RecordsOrg


@pytest.fixture
def admin(records_org: RecordsOrg) -> RecordsApi:
    return records_org.admin


def not_found(response: Any, obj: str, record_id: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {
        "error": {
            "code": "NOT_FOUND",
            "message": f"no {obj} record with id '{record_id}'",
            "details": {"object": obj, "id": record_id},
        }
    }


# ------------------------------------------------------------------- CRUD


def test_create_then_read_returns_the_stored_record(admin: RecordsApi) -> None:
    response = admin.create("Account", {"Name": "Fjord Freight AS", "Region__c": "EMEA"})
    assert response.status_code == 201, response.text
    record_id = response.json()["id"]
    assert record_id.startswith("001") and len(record_id) == 15
    assert response.headers["Location"] == f"/api/v1/records/Account/{record_id}"
    expected = {
        "Id": record_id,
        "Name": "Fjord Freight AS",
        "Region__c": "EMEA",
        "IsPersonAccount": False,
        "OwnerId": "admin@sandbox.local",
        "CreatedById": "admin@sandbox.local",
        "CreatedDate": "2025-06-01T12:00:00.000Z",
        "LastModifiedById": "admin@sandbox.local",
        "LastModifiedDate": "2025-06-01T12:00:00.000Z",
    }
    assert response.json() == {"id": record_id, "fields": expected, "warnings": []}
    read = admin.read("Account", record_id)
    assert read.status_code == 200
    assert read.json() == {"id": record_id, "fields": expected}


def test_object_names_in_the_path_are_case_insensitive(admin: RecordsApi) -> None:
    record_id = admin.made("account", {"Name": "Lowercase Path Ltd"})
    assert admin.stored("ACCOUNT", record_id)["Name"] == "Lowercase Path Ltd"


def test_ids_are_per_object_and_never_reused(admin: RecordsApi) -> None:
    first = admin.made("Lead", {"LastName": "One", "Company": "Ids Alpha"})
    admin.remove("Lead", first)
    second = admin.made("Lead", {"LastName": "Two", "Company": "Ids Beta"})
    assert first.startswith("00Q") and second.startswith("00Q")
    assert int(second[3:]) == int(first[3:]) + 1


def test_an_unknown_object_or_record_is_404(admin: RecordsApi) -> None:
    response = admin.create("Spaceship__c", {"Name": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (
        response.json()["error"]["message"] == "no object named 'Spaceship__c' holds records here"
    )
    not_found(admin.read("Account", "001000000099999"), "Account", "001000000099999")
    contact = admin.made("Contact", {"LastName": "Elsewhere", "Email": "elsewhere@example.com"})
    not_found(admin.read("Account", contact), "Account", contact)


def test_update_changes_only_the_fields_given(records_org: RecordsOrg) -> None:
    admin = records_org.admin
    record_id = admin.made("Account", {"Name": "Partial Update GmbH", "Industry": "Retail"})
    manager = records_org.as_user("manager@example.com")
    response = manager.update("Account", record_id, {"Industry": "Energy", "Region__c": "AMER"})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []
    stored = admin.stored("Account", record_id)
    assert (stored["Name"], stored["Industry"], stored["Region__c"]) == (
        "Partial Update GmbH",
        "Energy",
        "AMER",
    )
    assert (stored["CreatedById"], stored["LastModifiedById"]) == (
        "admin@sandbox.local",
        "manager@example.com",
    )


def test_update_with_null_blanks_an_optional_field(admin: RecordsApi) -> None:
    record_id = admin.made("Account", {"Name": "Blanking Ltd", "Industry": "Retail"})
    assert admin.update("Account", record_id, {"Industry": None}).status_code == 200
    assert "Industry" not in admin.stored("Account", record_id)


def test_a_body_that_is_not_an_object_is_refused(admin: RecordsApi) -> None:
    response = admin.request("POST", "/records/Account", json=["Name"])
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "BAD_REQUEST",
        "message": "the request body must be a JSON object",
        "details": {},
    }


def test_delete_removes_the_record(admin: RecordsApi) -> None:
    record_id = admin.made("Lead", {"LastName": "Gone", "Company": "Deleted Ltd"})
    response = admin.remove("Lead", record_id)
    assert response.status_code == 204
    assert response.content == b""
    not_found(admin.read("Lead", record_id), "Lead", record_id)
    not_found(admin.remove("Lead", record_id), "Lead", record_id)


def test_deleting_a_master_deletes_its_details_and_clears_lookups(admin: RecordsApi) -> None:
    account = admin.made("Account", {"Name": "Master Record Oy"})
    contact = admin.made("Contact", {"LastName": "Kept", "Email": "kept@example.com"})
    linked = admin.made(
        "Contact", {"LastName": "Linked", "Email": "linked@x.io", "AccountId": account}
    )
    fields = {"Account__c": account, "Amount__c": 5, "Order_Date__c": "2025-01-01"}
    order = admin.made("Order__c", {**fields, "Contact__c": contact})
    assert admin.remove("Account", account).status_code == 204
    not_found(admin.read("Order__c", order), "Order__c", order)
    assert "AccountId" not in admin.stored("Contact", linked)
    assert admin.stored("Contact", contact)["LastName"] == "Kept"


def test_a_record_a_required_lookup_points_at_cannot_be_deleted(
    records_org: RecordsOrg,
) -> None:
    admin = records_org.admin
    response = admin.put(
        "CustomField",
        "Case.Must_Have_Contact__c",
        {"type": "Lookup", "label": "Contact", "referenceTo": "Contact", "required": True},
    )
    assert response.status_code == 201, response.text
    try:
        contact = admin.made("Contact", {"LastName": "Needed", "Email": "needed@example.com"})
        case = admin.made("Case", {"Subject": "Help", "Must_Have_Contact__c": contact})
        response = admin.remove("Contact", contact)
        assert response.status_code == 409
        assert response.json()["error"] == {
            "code": "RECORD_IN_USE",
            "message": f"Contact {contact} cannot be deleted: required lookups of {case} point at it",
            "details": {"referencedBy": [case]},
        }
        assert admin.stored("Contact", contact)["LastName"] == "Needed"
        assert admin.remove("Case", case).status_code == 204
        assert admin.remove("Contact", contact).status_code == 204
    finally:
        assert admin.delete("CustomField", "Case.Must_Have_Contact__c").status_code == 204


# ------------------------------------------------------------------ query


@pytest.fixture(scope="module")
def people(records_org: RecordsOrg) -> list[str]:
    """Five contacts tagged with the nickname 'q' so queries see only them."""
    admin = records_org.admin
    rows = [
        ("Ana", "Alvarez", "ana@q.example", "2024-01-10"),
        ("Ben", "Brown", "ben@q.example", "2024-03-01"),
        ("Cleo", "Cruz", None, "2024-06-30"),
        ("Dev", "Dunn", "dev@q.example", None),
        ("Eve", "Evans", "eve@q.example", "2025-01-01"),
    ]
    ids = []
    for first, last, email, left in rows:
        fields = {"FirstName": first, "LastName": last, "Nickname__c": "q", "Phone": "1"}
        fields |= {"Email": email, "Left_On__c": left}
        ids.append(admin.made("Contact", fields))
    return ids


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["fields"]["LastName"] for r in response.json()["records"]]


QUERIES = [
    (["LastName:eq:brown"], ["Brown"]),
    (["LastName:ne:Brown"], ["Alvarez", "Cruz", "Dunn", "Evans"]),
    (["Email:eq:"], ["Cruz"]),
    (["Email:ne:"], ["Alvarez", "Brown", "Dunn", "Evans"]),
    (["Email:ne:ben@q.example"], ["Alvarez", "Cruz", "Dunn", "Evans"]),
    (["Left_On__c:lt:2024-03-01"], ["Alvarez"]),
    (["Left_On__c:le:2024-03-01"], ["Alvarez", "Brown"]),
    (["Left_On__c:gt:2024-06-30"], ["Evans"]),
    (["Left_On__c:ge:2024-06-30"], ["Cruz", "Evans"]),
    (["LastName:like:%v%"], ["Alvarez", "Evans"]),
    (["LastName:in:Cruz,DUNN,Nobody"], ["Cruz", "Dunn"]),
    (["FirstName:like:_e%", "Email:ne:"], ["Brown", "Dunn"]),
    (["Left_On__c:ge:2024-01-01", "Left_On__c:lt:2025-01-01", "LastName:ne:Cruz"], ["Alvarez", "Brown"]),
    (["HasOptedOutOfEmail:eq:false"], ["Alvarez", "Brown", "Cruz", "Dunn", "Evans"]),
    (["HasOptedOutOfEmail:eq:true"], []),
]  # fmt: skip


@pytest.mark.parametrize(("where", "expected"), QUERIES)
def test_query_filters(
    admin: RecordsApi, people: list[str], where: list[str], expected: list[str]
) -> None:
    assert names(admin.query("Contact", "Nickname__c:eq:q", *where)) == expected


def test_query_numbers_compare_as_numbers(admin: RecordsApi) -> None:
    for count in (9, 10, 100):
        admin.made(
            "Account", {"Name": f"Numeric {count}", "Site": "numbers", "NumberOfEmployees": count}
        )
    response = admin.query("Account", "Site:eq:numbers", "NumberOfEmployees:gt:9.5", fields="Name")
    assert response.status_code == 200
    assert [r["fields"] for r in response.json()["records"]] == [
        {"Id": r["id"], "Name": n}
        for r, n in zip(response.json()["records"], ["Numeric 10", "Numeric 100"], strict=True)
    ]


def test_fields_picks_the_fields_returned(admin: RecordsApi, people: list[str]) -> None:
    response = admin.query("Contact", "Nickname__c:eq:q", "LastName:eq:Cruz", fields="Email,Name")
    assert response.json() == {
        "records": [
            {"id": people[2], "fields": {"Id": people[2], "Email": None, "Name": "Cleo Cruz"}}
        ],
        "nextCursor": None,
    }


def test_pages_follow_the_cursor_in_creation_order(admin: RecordsApi, people: list[str]) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = admin.query("Contact", "Nickname__c:eq:q", **params).json()
        seen += [r["id"] for r in body["records"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert (seen, pages) == (people, 3)


BAD_QUERIES = [
    ({"where": "Bogus:eq:1"}, "Contact has no field 'Bogus'", "Bogus"),
    ({"where": "LastName:is:x"}, "where 'LastName:is:x': unknown operator 'is' (use eq, ne, lt, le, gt, ge, like, in)", None),
    ({"where": "LastName"}, "where 'LastName' is not Field:op:value", None),
    ({"where": "Left_On__c:gt:soon"}, "Left_On__c is a Date field; 'soon' is not a date (YYYY-MM-DD)", "Left_On__c"),
    ({"where": "HasOptedOutOfEmail:eq:yes"}, "HasOptedOutOfEmail is a Checkbox field; use true or false", "HasOptedOutOfEmail"),
    ({"fields": "LastName,Bogus"}, "Contact has no field 'Bogus'", "Bogus"),
    ({"cursor": "nonsense"}, "cursor is not one this server returned", None),
]  # fmt: skip


@pytest.mark.parametrize(("params", "message", "field"), BAD_QUERIES)
def test_a_bad_query_is_refused(
    admin: RecordsApi, params: dict[str, str], message: str, field: str | None
) -> None:
    response = admin.request("GET", "/records/Contact", params=params)
    assert response.status_code == 400
    details = {"field": field} if field else {}  # the object's field, when it is the problem
    assert response.json() == {
        "error": {"code": "INVALID_QUERY", "message": message, "details": details}
    }


def test_limit_must_be_between_1_and_2000(admin: RecordsApi) -> None:
    response = admin.query("Contact", limit=0)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "BAD_REQUEST",
        "message": "limit must be between 1 and 2000 (got 0)",
        "details": {"parameter": "limit"},
    }


# ------------------------------------------------------------ type changes


def test_a_number_field_becoming_text_converts_stored_values(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    account = admin.made("Account", {"Name": "Convert Me", "Credit_Score__c": 700})
    blank = admin.made("Account", {"Name": "Nothing To Convert"})
    response = admin.put(
        "CustomField", "Account.Credit_Score__c", {"type": "Text", "label": "Credit"}
    )
    assert response.status_code == 200, response.text
    assert admin.stored("Account", account)["Credit_Score__c"] == "700"
    assert "Credit_Score__c" not in admin.stored("Account", blank)
    response = admin.query("Account", "Credit_Score__c:eq:700")
    assert [r["id"] for r in response.json()["records"]] == [account]


def test_a_date_field_becoming_date_time_converts_stored_values(
    fresh_records_org: RecordsOrg,
) -> None:
    admin = fresh_records_org.admin
    contact = admin.made(
        "Contact", {"LastName": "Dated", "Email": "d@x.io", "Left_On__c": "2024-02-03"}
    )
    response = admin.put("CustomField", "Contact.Left_On__c", {"type": "DateTime", "label": "Left"})
    assert response.status_code == 200, response.text
    assert admin.stored("Contact", contact)["Left_On__c"] == "2024-02-03T00:00:00.000Z"


def test_a_type_change_whose_values_do_not_fit_is_refused(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    account = admin.made("Account", {"Name": "Too Long", "Credit_Score__c": 700})
    spec = {"type": "Text", "label": "Credit", "length": 2}
    response = admin.put("CustomField", "Account.Credit_Score__c", spec)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "TYPE_CHANGE_REFUSED",
        "message": "CustomField/Account.Credit_Score__c: changing the type from Number to Text "
        "is refused: 1 stored value(s) cannot be converted "
        f"({account}: Credit_Score__c: 3 characters; at most 2 are allowed)",
        "details": {"from": "Number", "to": "Text", "records": [account]},
    }
    assert admin.stored("Account", account)["Credit_Score__c"] == 700
    field = admin.get("/config/CustomField/Account.Credit_Score__c").json()
    assert field["spec"]["type"] == "Number"


def test_a_type_change_that_loses_values_is_refused_only_with_records(
    fresh_records_org: RecordsOrg,
) -> None:
    admin = fresh_records_org.admin
    spec = {"type": "Number", "label": "Nickname", "precision": 4, "scale": 0}
    admin.made("Contact", {"LastName": "No Nickname", "Email": "nn@x.io"})
    response = admin.put("CustomField", "Contact.Nickname__c", spec)
    assert response.status_code == 200, response.text  # no record holds a nickname
    admin.made("Contact", {"LastName": "Numbered", "Email": "num@x.io", "Nickname__c": 7})
    response = admin.put("CustomField", "Contact.Nickname__c", {"type": "Date", "label": "Nick"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "TYPE_CHANGE_REFUSED"
