"""Who may do what with records, over HTTP: object permissions, sharing, field permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .conftest import RecordsOrg


@pytest.fixture(scope="module")
def account(records_org: RecordsOrg) -> str:
    return records_org.admin.made(
        "Account", {"Name": "Permissions Test Account", "Region__c": "APAC"}
    )


def order(account: str, **fields: Any) -> dict[str, Any]:
    return {"Account__c": account, "Amount__c": 40, "Order_Date__c": "2025-02-01", **fields}


def denied(response: Any, user: str, permission: str, obj: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {
        "error": {
            "code": "INSUFFICIENT_ACCESS",
            "message": f"user '{user}' may not {permission} {obj} records: "
            f"none of their permission sets grants '{permission}' on {obj}",
            "details": {"object": obj, "permission": permission},
        }
    }


# ------------------------------------------------------- object permissions


def test_a_permission_set_grants_exactly_its_object_permissions(
    records_org: RecordsOrg, account: str
) -> None:
    desk = records_org.as_user("desk@example.com")
    record_id = desk.made("Order__c", order(account))
    assert desk.update("Order__c", record_id, {"Quantity__c": 2}).status_code == 200
    denied(desk.remove("Order__c", record_id), "desk@example.com", "delete", "Order__c")
    assert records_org.admin.stored("Order__c", record_id)["Quantity__c"] == 2
    # Account is read-only for the desk; Lead is not theirs at all.
    assert desk.read("Account", account).status_code == 200
    denied(desk.create("Account", {"Name": "Desk Made"}), "desk@example.com", "create", "Account")
    denied(desk.update("Account", account, {"Name": "x"}), "desk@example.com", "edit", "Account")
    denied(desk.query("Lead"), "desk@example.com", "read", "Lead")


def test_a_user_without_permission_sets_may_do_nothing(
    records_org: RecordsOrg, account: str
) -> None:
    nobody = records_org.as_user("nobody@example.com")
    denied(nobody.read("Account", account), "nobody@example.com", "read", "Account")
    denied(
        nobody.create("Lead", {"LastName": "N", "Company": "C"}),
        "nobody@example.com",
        "create",
        "Lead",
    )


def test_full_crud_with_the_permissions(records_org: RecordsOrg) -> None:
    leads = records_org.as_user("leads@example.com")
    record_id = leads.made("Lead", {"LastName": "Crud", "Company": "Crud Widgets"})
    assert leads.update("Lead", record_id, {"Status": "Working"}).status_code == 200
    assert leads.stored("Lead", record_id)["Status"] == "Working"
    assert leads.remove("Lead", record_id).status_code == 204
    assert records_org.admin.read("Lead", record_id).status_code == 404


def test_the_admin_bypasses_every_permission(records_org: RecordsOrg, account: str) -> None:
    admin = records_org.admin
    record_id = admin.made("Order__c", order(account, Discount__c=10, Coupon__c="5"))
    assert admin.remove("Order__c", record_id).status_code == 204


def test_an_inactive_user_is_refused(records_org: RecordsOrg, account: str) -> None:
    gone = records_org.as_user("gone@example.com")
    for response in (gone.read("Account", account), gone.create("Account", {"Name": "x"})):
        assert response.status_code == 403
        assert response.json() == {
            "error": {
                "code": "USER_INACTIVE",
                "message": "user 'gone@example.com' is inactive",
                "details": {"username": "gone@example.com"},
            }
        }


def test_retention_and_the_archive_are_for_admins(records_org: RecordsOrg) -> None:
    manager = records_org.as_user("manager@example.com")
    for response in (
        manager.request("POST", "/retention/run", json={"dryRun": True}),
        manager.request("GET", "/archive/Order__c"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"


# ----------------------------------------------------------------- sharing


def test_private_records_are_seen_by_their_owner_and_view_all(
    records_org: RecordsOrg, account: str
) -> None:
    desk = records_org.as_user("desk@example.com")
    other = records_org.as_user("desk2@example.com")
    auditor = records_org.as_user("auditor@example.com")
    mine = desk.made("Order__c", order(account, Quantity__c=7))
    theirs = other.made("Order__c", order(account, Quantity__c=8))
    assert other.read("Order__c", mine).status_code == 404
    assert other.update("Order__c", mine, {"Quantity__c": 1}).status_code == 404
    seen = other.query("Order__c", f"Account__c:eq:{account}").json()["records"]
    assert [r["id"] for r in seen] == [theirs]
    # viewAll reads everyone's records, with the auditor's own field permissions.
    response = auditor.query("Order__c", f"Account__c:eq:{account}", "Quantity__c:ge:7")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FIELD_NOT_READABLE"
    seen = [r["id"] for r in auditor.query("Order__c", limit=2000).json()["records"]]
    everything = records_org.admin.query("Order__c", limit=2000).json()["records"]
    assert seen == [r["id"] for r in everything]
    assert {mine, theirs} <= set(seen)
    assert "Quantity__c" not in auditor.stored("Order__c", mine)
    assert auditor.stored("Order__c", mine)["Amount__c"] == 40


def test_public_standard_objects_are_read_by_everyone_with_read(
    records_org: RecordsOrg, account: str
) -> None:
    desk = records_org.as_user("desk@example.com")
    assert desk.stored("Account", account)["Name"] == "Permissions Test Account"


# ------------------------------------------------------- field permissions


def test_a_custom_field_without_read_is_left_out(records_org: RecordsOrg, account: str) -> None:
    desk = records_org.as_user("desk@example.com")
    record_id = desk.made("Order__c", order(account))
    extra = {"Coupon__c": "5", "Discount__c": 10, "Notes__c": "secret"}
    assert records_org.admin.update("Order__c", record_id, extra).status_code == 200
    fields = desk.stored("Order__c", record_id)
    assert fields["Discount__c"] == 10
    assert {"Coupon__c", "Notes__c", "Carrier__c", "Rush__c"}.isdisjoint(fields)
    listed = desk.query("Order__c", f"Id:eq:{record_id}").json()["records"]
    assert listed == [{"id": record_id, "fields": fields}]
    # Standard fields follow the object; Region__c is readable, VAT_Number__c is not.
    account_fields = desk.stored("Account", account)
    assert account_fields["Region__c"] == "APAC"
    assert "VAT_Number__c" not in account_fields


def test_filtering_or_selecting_an_unreadable_field_is_refused(
    records_org: RecordsOrg, account: str
) -> None:
    desk = records_org.as_user("desk@example.com")
    for response in (
        desk.query("Order__c", "Coupon__c:eq:5"),
        desk.query("Order__c", fields="Amount__c,Coupon__c"),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "FIELD_NOT_READABLE",
            "message": "user 'desk@example.com' may not read Coupon__c on Order__c",
            "details": {"object": "Order__c", "fields": ["Coupon__c"]},
        }


def test_writing_a_custom_field_without_edit_is_refused(
    records_org: RecordsOrg, account: str
) -> None:
    desk = records_org.as_user("desk@example.com")
    response = desk.create("Order__c", order(account, Discount__c=5, Coupon__c="1"))
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "FIELD_NOT_EDITABLE",
        "message": "user 'desk@example.com' may not edit Discount__c, Coupon__c on Order__c",
        "details": {"object": "Order__c", "fields": ["Discount__c", "Coupon__c"]},
    }
    record_id = desk.made("Order__c", order(account, Quantity__c=4))
    response = desk.update("Order__c", record_id, {"Quantity__c": 5, "Discount__c": 5})
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"object": "Order__c", "fields": ["Discount__c"]}
    assert records_org.admin.stored("Order__c", record_id)["Quantity__c"] == 4


def test_field_edit_permission_lets_the_value_through(records_org: RecordsOrg) -> None:
    manager = records_org.as_user("manager@example.com")
    record_id = manager.made("Account", {"Name": "Editable Fields AB", "VAT_Number__c": "SE1"})
    assert manager.update("Account", record_id, {"Region__c": "EMEA"}).status_code == 200
    assert manager.stored("Account", record_id)["VAT_Number__c"] == "SE1"
