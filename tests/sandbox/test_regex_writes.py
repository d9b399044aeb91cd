"""REGEX() in the sandbox's record writes runs on RE2: a runaway pattern cannot stall a write."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .conftest import RecordsOrg

RULE = {
    "condition": "REGEX(Essay__c, '(a+)+$')",
    "errorMessage": "An essay of only a's is not an essay.",
    "errorField": "Essay__c",
}


def test_a_nested_quantifier_on_a_long_text_is_answered(fresh_records_org: RecordsOrg) -> None:
    admin = fresh_records_org.admin
    essay = {"type": "LongTextArea", "label": "Essay", "length": 20000}
    assert admin.put("CustomField", "Order__c.Essay__c", essay).status_code == 201
    assert admin.put("ValidationRule", "Order__c.No_Runaway", RULE).status_code == 201
    account = admin.made("Account", {"Name": "Regex", "Region__c": "EMEA"})
    order = {"Account__c": account, "Amount__c": 100, "Order_Date__c": "2025-01-15"}

    # With a backtracking engine this write would take longer than the age of the universe.
    made = admin.create("Order__c", {**order, "Essay__c": "a" * 10_000 + "!"})
    assert made.status_code == 201, made.text
    refused = admin.create("Order__c", {**order, "Essay__c": "a" * 10_000})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["errors"] == [
        {
            "field": "Essay__c",
            "code": "VALIDATION_RULE",
            "message": "An essay of only a's is not an essay.",
            "rule": "Order__c.No_Runaway",
        }
    ]
