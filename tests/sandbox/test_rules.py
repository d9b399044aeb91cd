"""Server-side rules: what the sandbox refuses, with the exact code and message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crmctl.sandbox import SandboxError, SandboxStore, conversion_allowed
from tests.sandbox.conftest import Sandbox, org_operations


def _refusal(response) -> tuple[int, str, str, dict]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"], error["details"]


def test_an_object_with_fields_and_rules_cannot_be_deleted(org: Sandbox) -> None:
    status, code, message, details = _refusal(org.admin.delete("CustomObject", "Invoice__c"))
    assert (status, code) == (409, "IN_USE")
    assert message == (
        "cannot delete CustomObject/Invoice__c: it still has CustomField/Invoice__c.Account__c, "
        "CustomField/Invoice__c.Amount__c, CustomField/Invoice__c.Due__c, "
        "DuplicateRule/Invoice__c.Same_Amount, ValidationRule/Invoice__c.Positive; "
        "it is used by PermissionSet/Sales_Rep, RetentionPolicy/Invoice_Cleanup"
    )
    assert details["dependents"] == [
        "CustomField/Invoice__c.Account__c",
        "CustomField/Invoice__c.Amount__c",
        "CustomField/Invoice__c.Due__c",
        "DuplicateRule/Invoice__c.Same_Amount",
        "PermissionSet/Sales_Rep",
        "RetentionPolicy/Invoice_Cleanup",
        "ValidationRule/Invoice__c.Positive",
    ]


def test_a_field_used_by_rules_policies_and_permission_sets_cannot_be_deleted(org: Sandbox) -> None:
    status, code, message, _ = _refusal(org.admin.delete("CustomField", "Invoice__c.Amount__c"))
    assert (status, code) == (409, "IN_USE")
    assert message == (
        "cannot delete CustomField/Invoice__c.Amount__c: it is used by "
        "DuplicateRule/Invoice__c.Same_Amount, PermissionSet/Sales_Rep, "
        "ValidationRule/Invoice__c.Positive"
    )
    assert _refusal(org.admin.delete("CustomField", "Invoice__c.Due__c"))[2] == (
        "cannot delete CustomField/Invoice__c.Due__c: it is used by "
        "DuplicateRule/Invoice__c.Same_Amount, RetentionPolicy/Invoice_Cleanup"
    )
    # Once nothing uses them, fields and then the object go.
    api = org.admin
    for kind, name in [
        ("User", "rep@example.com"),
        ("ValidationRule", "Invoice__c.Positive"),
        ("DuplicateRule", "Invoice__c.Same_Amount"),
        ("RetentionPolicy", "Invoice_Cleanup"),
        ("PermissionSet", "Sales_Rep"),
        ("CustomField", "Invoice__c.Amount__c"),
        ("CustomField", "Invoice__c.Due__c"),
        ("CustomField", "Invoice__c.Account__c"),
        ("CustomObject", "Invoice__c"),
    ]:
        assert api.delete(kind, name).status_code == 204, (kind, name)


def test_a_field_reached_through_a_relationship_is_in_use(org: Sandbox) -> None:
    rule = {"condition": "ISPICKVAL(Account__r.Region__c, 'EMEA')", "errorMessage": "No EMEA"}
    assert org.admin.put("ValidationRule", "Invoice__c.Not_EMEA", rule).status_code == 201
    for field in ("Account.Region__c", "Invoice__c.Account__c"):
        status, code, message, _ = _refusal(org.admin.delete("CustomField", field))
        assert (status, code) == (409, "IN_USE")
        assert "ValidationRule/Invoice__c.Not_EMEA" in message


def test_a_role_with_child_roles_or_users_cannot_be_deleted(org: Sandbox) -> None:
    assert _refusal(org.admin.delete("Role", "CEO"))[:3] == (
        409,
        "IN_USE",
        "cannot delete Role/CEO: it has child roles Role/Sales",
    )
    assert _refusal(org.admin.delete("Role", "Sales"))[:3] == (
        409,
        "IN_USE",
        "cannot delete Role/Sales: it is the role of User/rep@example.com",
    )


def test_a_permission_set_assigned_to_users_cannot_be_deleted(org: Sandbox) -> None:
    status, code, message, details = _refusal(org.admin.delete("PermissionSet", "Sales_Rep"))
    assert (status, code, details) == (409, "IN_USE", {"dependents": ["User/rep@example.com"]})
    assert (
        message == "cannot delete PermissionSet/Sales_Rep: it is assigned to User/rep@example.com"
    )
    assert org.admin.delete("PermissionSet", "Admins").status_code == 204


def test_a_user_can_be_deleted(org: Sandbox) -> None:
    assert org.admin.delete("User", "rep@example.com").status_code == 204
    assert org.admin.delete("Role", "Sales").status_code == 204


def test_deleting_something_absent_is_404(org: Sandbox) -> None:
    assert _refusal(org.admin.delete("Role", "Nope"))[:3] == (
        404,
        "NOT_FOUND",
        "Role/Nope does not exist",
    )


def test_a_lookup_never_becomes_a_value_field(org: Sandbox) -> None:
    response = org.admin.put(
        "CustomField", "Invoice__c.Account__c", {"type": "Text", "label": "Account"}
    )
    status, code, message, details = _refusal(response)
    assert (status, code) == (409, "TYPE_CHANGE_REFUSED")
    assert message == (
        "CustomField/Invoice__c.Account__c: changing the type from Lookup to Text is refused: "
        "a lookup and a value field cannot be converted into each other"
    )
    assert details == {"from": "Lookup", "to": "Text"}


def test_type_changes_ask_whether_records_exist(tmp_path: Path) -> None:
    asked: list[tuple[str, str | None]] = []
    holding = {"Invoice__c.Amount__c"}

    def has_records(conn: sqlite3.Connection, obj: str, field: str | None) -> bool:
        assert isinstance(conn, sqlite3.Connection)
        asked.append((obj, field))
        return f"{obj}.{field}" in holding

    store = SandboxStore.open(tmp_path / "s.db", has_records=has_records)
    try:
        store.batch(org_operations(), "me")
        with pytest.raises(SandboxError) as refused:
            store.put_config(
                "CustomField", "Invoice__c.Amount__c", {"type": "Checkbox", "label": "A"}, "me"
            )
        assert (refused.value.status, refused.value.code) == (409, "TYPE_CHANGE_REFUSED")
        assert refused.value.message == (
            "CustomField/Invoice__c.Amount__c: changing the type from Currency to Checkbox is "
            "refused: existing records cannot be converted"
        )
        assert asked == [("Invoice__c", "Amount__c")]
        # Number -> Currency is safe whatever the data: records are not even asked about.
        store.put_config(
            "CustomField", "Account.Region__c", {"type": "Text", "label": "Region"}, "me"
        )
        assert asked == [("Invoice__c", "Amount__c")]
        holding.clear()
        item = store.put_config(
            "CustomField", "Invoice__c.Amount__c", {"type": "Number", "label": "A"}, "me"
        )
        assert item["spec"]["type"] == "Number"
    finally:
        store.close()


def test_a_change_that_would_break_what_uses_a_field_is_refused(org: Sandbox) -> None:
    response = org.admin.put("CustomField", "Invoice__c.Due__c", {"type": "Text", "label": "Due"})
    status, code, message, details = _refusal(response)
    assert (status, code) == (409, "IN_USE")
    assert message == (
        "changing CustomField/Invoice__c.Due__c would break what uses it: "
        "RetentionPolicy/Invoice_Cleanup: dateField 'Due__c' is a Text field; "
        "it must be a Date or DateTime field"
    )
    assert org.admin.get("/config/CustomField/Invoice__c.Due__c").json()["spec"]["type"] == "Date"


def test_names_differing_only_in_case_conflict(org: Sandbox) -> None:
    status, code, message, details = _refusal(org.admin.put("Role", "ceo", {"label": "ceo"}))
    assert (status, code) == (409, "CONFLICT")
    assert message == (
        "Role/ceo differs only in case from the existing Role/CEO; "
        "API names are unique regardless of case"
    )
    assert details == {"existing": "CEO"}


def test_role_cycles_are_refused(org: Sandbox) -> None:
    response = org.admin.put("Role", "CEO", {"label": "CEO", "parent": "Sales"})
    status, code, message, details = _refusal(response)
    assert (status, code) == (400, "INVALID_SPEC")
    assert message == "Role/CEO: role hierarchy has a cycle: CEO -> Sales -> CEO"
    self_parent = org.admin.put("Role", "Sales", {"label": "Sales", "parent": "Sales"})
    assert _refusal(self_parent)[2] == "Role/Sales: role hierarchy has a cycle: Sales -> Sales"


@pytest.mark.parametrize(
    ("old", "new", "with_records", "without_records"),
    [
        ("Text", "Text", True, True),
        ("Text", "LongTextArea", True, True),
        ("Text", "TextArea", True, True),
        ("Number", "Currency", True, True),
        ("Currency", "Number", True, True),
        ("Picklist", "Text", True, True),
        ("Text", "Picklist", True, True),
        ("Date", "DateTime", True, True),
        ("Number", "Text", True, True),
        ("MasterDetail", "Lookup", True, True),
        ("Text", "Checkbox", False, True),
        ("Number", "Checkbox", False, True),
        ("LongTextArea", "Text", False, True),
        ("DateTime", "Date", False, True),
        ("Text", "Number", False, True),
        ("Lookup", "MasterDetail", False, True),
        ("Lookup", "Text", False, False),
        ("Text", "Lookup", False, False),
        ("MasterDetail", "Number", False, False),
    ],
)
def test_conversion_table(old: str, new: str, with_records: bool, without_records: bool) -> None:
    assert conversion_allowed(old, new, has_records=True) is with_records
    assert conversion_allowed(old, new, has_records=False) is without_records
