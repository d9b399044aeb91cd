"""SetupAuditTrail rows placed on crmctl addresses (pure: no server)."""

from __future__ import annotations

from crmctl.providers.base import ChangeLogEntry
from crmctl.providers.salesforce.audit_trail import entries, query_for, soql_time

KNOWN = {
    "CustomObject/Invoice__c": "Invoice",
    "CustomField/Invoice__c.Amount__c": "Amount",
    "CustomField/Account.Region__c": "Region",
    "CustomField/Contact.Region__c": "Region",
    "PermissionSet/MAD": "Marketing admins",
    "Role/CEO": "Chief Executive",
    "User/ann@example.com": "",
}


def _row(action: str, section: str, display: str, by: str = "ops@example.com") -> dict:
    return {"Action": action, "Section": section, "Display": display,
            "CreatedBy": {"Username": by}, "CreatedDate": "2026-01-31T12:00:00.000+0000"}  # fmt: skip


def test_api_names_in_parentheses_place_the_row() -> None:
    rows = [
        _row("changedCF", "Customize Accounts", "Changed custom field Sales Region (Account.Region__c)"),
        _row("deletedValidationRule", "Custom Objects",
             "Deleted validation rule Positive (Invoice__c.Positive)"),
    ]  # fmt: skip
    assert entries(rows, KNOWN) == [
        ChangeLogEntry("CustomField/Account.Region__c", "update", "ops@example.com",
                       "2026-01-31T12:00:00.000Z"),
        ChangeLogEntry("ValidationRule/Invoice__c.Positive", "delete", "ops@example.com",
                       "2026-01-31T12:00:00.000Z"),
    ]  # fmt: skip


def test_labels_place_rows_that_name_no_api_name() -> None:
    rows = [
        _row("PermSetCreate", "Manage Users", "Created permission set MAD: with user license Salesforce"),
        _row("changedRole", "Manage Users", "Changed role Chief Executive"),
        _row("changedCFCustom", "Custom Objects", "Changed field label for Amount on Invoice"),
        _row("changedCF", "Customize Accounts", "Changed custom field Region"),
        _row("changedUserEmail", "Manage Users", "Changed email for user ann@example.com"),
    ]  # fmt: skip
    assert [(e.address, e.action) for e in entries(rows, KNOWN)] == [
        ("PermissionSet/MAD", "create"),
        ("Role/CEO", "update"),
        ("CustomField/Invoice__c.Amount__c", "update"),
        ("CustomField/Account.Region__c", "update"),  # the Section names the object
        ("User/ann@example.com", "update"),
    ]


def test_rows_that_cannot_be_placed_are_left_out() -> None:
    rows = [
        _row("changedPassword", "Manage Users", "Changed password for a user"),
        _row("loginasgrantedtoadmin", "Manage Users", "Granted login access"),
        _row("changedCF", "Custom Objects", "Changed custom field Region"),  # which object?
        _row("changedCF", "Customize Accounts", "Changed custom field Region (Account.Region__c)",
             by=""),  # no user
    ]  # fmt: skip
    assert entries(rows, KNOWN) == []


def test_the_query_starts_at_the_baseline() -> None:
    assert soql_time("2026-01-31T13:00:00+01:00") == "2026-01-31T12:00:00Z"
    assert query_for("2026-01-31T12:00:00Z") == (
        "SELECT Action, Section, Display, CreatedBy.Username, CreatedDate FROM SetupAuditTrail "
        "WHERE CreatedDate >= 2026-01-31T12:00:00Z ORDER BY CreatedDate ASC"
    )
    assert "WHERE" not in query_for(None)
