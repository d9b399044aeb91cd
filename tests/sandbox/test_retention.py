"""Retention: ISO periods, and delete, archive and anonymize runs over HTTP (dry and real)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from crmctl.sandbox.retention import cutoff, parse_period

if TYPE_CHECKING:
    from .conftest import RecordsApi, RecordsOrg

NOW = "2025-06-01T00:00:00Z"


@pytest.mark.parametrize(
    ("period", "parts"),
    [
        ("P7Y", (7, 0, 0, 0)),
        ("P18M", (0, 18, 0, 0)),
        ("P90D", (0, 0, 0, 90)),
        ("P1Y2M3W4D", (1, 2, 3, 4)),
    ],
)
def test_parse_period(period: str, parts: tuple[int, int, int, int]) -> None:
    assert parse_period(period) == parts


@pytest.mark.parametrize("period", ["P", "7Y", "P1H", "PT1H", "P1D1Y", ""])
def test_parse_period_refuses_other_text(period: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO-8601 period"):
        parse_period(period)


@pytest.mark.parametrize(
    ("now", "period", "expected"),
    [
        (datetime(2025, 6, 1, 12, tzinfo=UTC), "P2Y", datetime(2023, 6, 1, 12, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), "P1M", datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), "P1Y", datetime(2023, 2, 28, tzinfo=UTC)),
        (datetime(2025, 1, 15, tzinfo=UTC), "P1Y6M", datetime(2023, 7, 15, tzinfo=UTC)),
        (datetime(2025, 1, 15, tzinfo=UTC), "P2W3D", datetime(2024, 12, 29, tzinfo=UTC)),
    ],
)
def test_cutoff(now: datetime, period: str, expected: datetime) -> None:
    assert cutoff(now, period) == expected


def populate(admin: RecordsApi) -> dict[str, str]:
    """Records on both sides of every policy of RECORDS_ORG (run at NOW)."""
    made = admin.made
    old = "2020-01-01T00:00:00Z"  # older than Old_Leads' two years
    account = made("Account", {"Name": "Retention Holdings"})
    shipped = {"Status__c": "Shipped", "Shipped_At__c": "2015-02-01T00:00:00Z"}
    order = {"Account__c": account, "Amount__c": 10}
    return {
        "lead_old": made("Lead", {"LastName": "Old", "Company": "Old Co", "CreatedDate": old}),
        "lead_converted": made(
            "Lead",
            {"LastName": "Won", "Company": "Won Co", "CreatedDate": old, "IsConverted": True},
        ),
        "lead_recent": made(
            "Lead", {"LastName": "New", "Company": "New Co", "CreatedDate": "2024-01-01T00:00:00Z"}
        ),
        "account": account,
        "order_old_shipped": made("Order__c", {**order, **shipped, "Order_Date__c": "2015-01-01"}),
        "order_old_placed": made(
            "Order__c",
            {
                **order,
                "Status__c": "Placed",
                "Order_Date__c": "2015-01-01",
                "Buyer_Email__c": "b@x.io",
            },
        ),
        "order_recent": made("Order__c", {**order, **shipped, "Order_Date__c": "2020-01-01"}),
        "contact_left": made(
            "Contact",
            {
                "FirstName": "Old",
                "LastName": "Timer",
                "Email": "old@x.io",
                "Nickname__c": "oldie",
                "Left_On__c": "2023-01-01",
            },
        ),  # fmt: skip
        "contact_recent": made(
            "Contact", {"LastName": "Recent", "Email": "recent@x.io", "Left_On__c": "2024-06-01"}
        ),
        "contact_staying": made("Contact", {"LastName": "Staying", "Email": "stay@x.io"}),
    }


def run(admin: RecordsApi, **body: Any) -> Any:
    response = admin.request("POST", "/retention/run", json={"now": NOW, **body})
    assert response.status_code == 200, response.text
    return response.json()


def policy(name: str, obj: str, action: str, matched: int, affected: int, warnings=()) -> dict:
    return {
        "name": name,
        "object": obj,
        "action": action,
        "matched": matched,
        "affected": affected,
        "warnings": list(warnings),
    }


EXPECTED = [
    policy("Former_Contacts", "Contact", "anonymize", 1, 1),
    policy("Old_Leads", "Lead", "delete", 1, 1),
    policy("Shipped_Orders", "Order__c", "archive", 1, 1),
]


def test_a_dry_run_counts_and_changes_nothing(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    ids = populate(admin)
    before = {key: admin.stored(obj_of(key), rid) for key, rid in ids.items()}
    body = run(admin, dryRun=True)
    assert body == {"dryRun": True, "now": NOW, "policies": EXPECTED}
    assert {key: admin.stored(obj_of(key), rid) for key, rid in ids.items()} == before
    assert admin.get("/retention/runs").json() == {"items": []}


def obj_of(key: str) -> str:
    return {"lead": "Lead", "account": "Account", "order": "Order__c", "contact": "Contact"}[
        key.split("_")[0]
    ]


def test_a_run_deletes_archives_and_anonymizes(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    ids = populate(admin)
    assert run(admin) == {"dryRun": False, "now": NOW, "policies": EXPECTED}
    # delete: the old unconverted lead is gone, the converted and the recent one stay.
    assert admin.read("Lead", ids["lead_old"]).status_code == 404
    assert admin.read("Lead", ids["lead_converted"]).status_code == 200
    assert admin.read("Lead", ids["lead_recent"]).status_code == 200
    # archive: the old shipped order left the records for the archive.
    assert admin.read("Order__c", ids["order_old_shipped"]).status_code == 404
    archived = admin.get(f"/archive/Order__c/{ids['order_old_shipped']}")
    assert archived.status_code == 200
    body = archived.json()
    assert (body["id"], body["archivedAt"], body["policy"]) == (
        ids["order_old_shipped"],
        "2025-06-01T00:00:00.000Z",
        "Shipped_Orders",
    )
    assert (body["fields"]["Status__c"], body["fields"]["Order_Date__c"]) == (
        "Shipped",
        "2015-01-01",
    )
    listing = admin.get("/archive/Order__c").json()
    assert listing == {"records": [body], "nextCursor": None}
    assert admin.read("Order__c", ids["order_old_placed"]).status_code == 200
    # anonymize: the named fields are blank, except required LastName, which gets a placeholder.
    contact = admin.stored("Contact", ids["contact_left"])
    assert {
        k: contact.get(k) for k in ("FirstName", "LastName", "Name", "Email", "Nickname__c")
    } == {
        "FirstName": "Old",
        "LastName": "ANONYMIZED",
        "Name": "Old ANONYMIZED",
        "Email": None,
        "Nickname__c": None,
    }
    assert (contact["LastModifiedDate"], contact["Left_On__c"]) == (
        "2025-06-01T00:00:00.000Z",
        "2023-01-01",
    )
    assert admin.stored("Contact", ids["contact_recent"])["LastName"] == "Recent"


def test_every_run_is_recorded_in_the_records_audit(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    ids = populate(admin)
    run(admin)
    items = admin.get("/retention/runs").json()["items"]
    common = {"at": "2025-06-01T00:00:00.000Z", "actor": "admin@sandbox.local", "warnings": []}
    assert [{k: v for k, v in item.items() if k != "seq"} for item in items] == [
        {**common, "action": "retention.archive", "object": "Order__c", "policy": "Shipped_Orders",
         "matched": 1, "affected": 1, "recordIds": [ids["order_old_shipped"]]},
        {**common, "action": "retention.delete", "object": "Lead", "policy": "Old_Leads",
         "matched": 1, "affected": 1, "recordIds": [ids["lead_old"]]},
        {**common, "action": "retention.anonymize", "object": "Contact", "policy": "Former_Contacts",
         "matched": 1, "affected": 1, "recordIds": [ids["contact_left"]]},
    ]  # fmt: skip


def test_a_second_run_finds_nothing_more_to_do(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    populate(admin)
    run(admin)
    assert run(admin)["policies"] == [
        policy("Former_Contacts", "Contact", "anonymize", 1, 0),  # already anonymized
        policy("Old_Leads", "Lead", "delete", 0, 0),
        policy("Shipped_Orders", "Order__c", "archive", 0, 0),
    ]
    assert len(admin.get("/retention/runs").json()["items"]) == 3


def test_a_run_can_name_its_policies_and_its_now(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    populate(admin)
    assert run(admin, dryRun=True, policies=["old_leads"])["policies"] == [
        policy("Old_Leads", "Lead", "delete", 1, 1)
    ]
    body = run(admin, dryRun=True, now="2019-01-01T00:00:00Z")
    assert [p["matched"] for p in body["policies"]] == [0, 0, 0]
    response = admin.request("POST", "/retention/run", json={"policies": ["Old_Leads", "Nope"]})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no RetentionPolicy named Nope"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dryRun": "yes"}, "dryRun must be true or false"),
        ({"policies": "Old_Leads"}, "policies must be a list of policy names"),
        ({"now": "soon"}, "now must be an ISO-8601 time such as 2030-01-01T00:00:00Z (got 'soon')"),
    ],
)
def test_a_bad_run_request_is_refused(
    records_org: RecordsOrg, body: dict[str, Any], message: str
) -> None:
    response = records_org.admin.request("POST", "/retention/run", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "BAD_REQUEST", "message": message, "details": {}}}


def test_archiving_a_master_archives_its_details(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    spec = {"object": "Account", "dateField": "CreatedDate", "retain": "P5Y", "action": "archive",
            "legalBasis": "Dormant customers"}  # fmt: skip
    assert admin.put("RetentionPolicy", "Dormant_Accounts", spec).status_code == 201
    account = admin.made("Account", {"Name": "Dormant Ltd", "CreatedDate": "2015-01-01T00:00:00Z"})
    order = admin.made(
        "Order__c", {"Account__c": account, "Amount__c": 1, "Order_Date__c": "2024-01-01"}
    )
    assert run(admin, policies=["Dormant_Accounts"])["policies"] == [
        policy("Dormant_Accounts", "Account", "archive", 1, 1)
    ]
    assert admin.read("Order__c", order).status_code == 404
    assert admin.get(f"/archive/Order__c/{order}").json()["policy"] == "Dormant_Accounts"
    assert admin.get(f"/archive/Account/{account}").json()["fields"]["Name"] == "Dormant Ltd"


def test_anonymize_keeps_required_fields_that_have_no_placeholder(
    fresh_records_org: RecordsOrg,
) -> None:
    admin = fresh_records_org.admin
    ids = populate(admin)
    spec = {"object": "Order__c", "dateField": "Order_Date__c", "retain": "P1Y",
            "action": "anonymize", "anonymizeFields": ["Amount__c", "Buyer_Email__c"],
            "legalBasis": "Buyer privacy"}  # fmt: skip
    assert admin.put("RetentionPolicy", "Order_Buyers", spec).status_code == 201
    assert run(admin, policies=["Order_Buyers"])["policies"] == [
        policy(
            "Order_Buyers",
            "Order__c",
            "anonymize",
            3,
            1,
            ["Amount__c is a required Currency field; it was kept"],
        )  # fmt: skip
    ]
    stored = admin.stored("Order__c", ids["order_old_placed"])
    assert (stored["Amount__c"], stored.get("Buyer_Email__c")) == (10, None)


def test_a_filter_that_cannot_be_evaluated_keeps_the_record(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    spec = {"object": "Contact", "dateField": "Left_On__c", "retain": "P1Y", "action": "delete",
            "filter": "VALUE(Nickname__c) > 1", "legalBasis": "Test"}  # fmt: skip
    assert admin.put("RetentionPolicy", "Numbered_Nicknames", spec).status_code == 201
    bad = admin.made("Contact", {"LastName": "B", "Nickname__c": "x", "Left_On__c": "2020-01-01"})
    good = admin.made("Contact", {"LastName": "G", "Nickname__c": "5", "Left_On__c": "2020-01-01"})
    result = run(admin, policies=["Numbered_Nicknames"])["policies"][0]
    assert (result["matched"], result["affected"]) == (1, 1)
    assert result["warnings"] == [
        "filter could not be evaluated for 1 record(s), which were kept; "
        f'first: {bad}: VALUE cannot convert "x" to a number (formula line 1, column 1)'
    ]
    assert admin.read("Contact", bad).status_code == 200
    assert admin.read("Contact", good).status_code == 404
