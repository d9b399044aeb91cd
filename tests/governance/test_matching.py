"""Which rules a change matches: pure, over hand-made changes and the prod policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.config.environment import load_environment
from crmctl.governance.matching import Requirement, required_roles, requirements_for
from crmctl.governance.policy import Policy
from crmctl.plan import Action, Change, diff_specs, fingerprint

REPO = Path(__file__).resolve().parents[2]
CLASSES = {"contact.national_id__c": "Sensitive", "account.region__c": "Internal"}


def change(kind: str, name: str, action: Action, before: dict | None, after: dict | None) -> Change:
    return Change(
        kind, name, action, before, after, diff_specs(before, after), fingerprint(before), ""
    )


@pytest.fixture(scope="module")
def prod() -> Policy:
    env = load_environment("prod", REPO)
    return Policy.from_section("prod", env.approvals)


def rules(policy: Policy, c: Change) -> list[str]:
    return [r.rule for r in requirements_for(c, policy, CLASSES)]


def test_every_change_needs_a_crm_admin_and_access_changes_the_security_officer(prod):
    label = change("Role", "CEO", Action.UPDATE, {"label": "CEO"}, {"label": "Chief"})
    assert rules(prod, label) == ["every-change", "access-changes"]
    field = change(
        "CustomField", "Account.Region__c", Action.UPDATE, {"label": "R"}, {"label": "Region"}
    )
    assert rules(prod, field) == ["every-change"]


def test_a_field_classified_pii_before_or_after_needs_the_data_steward(prod):
    became = change(
        "CustomField",
        "Contact.X__c",
        Action.UPDATE,
        {"classification": "Internal"},
        {"classification": "PII"},
    )
    was = change(
        "CustomField",
        "Contact.X__c",
        Action.UPDATE,
        {"classification": "Sensitive"},
        {"classification": "Internal"},
    )
    assert rules(prod, became) == ["every-change", "personal-data"]
    assert rules(prod, was) == ["every-change", "personal-data"]


def test_a_permission_set_granting_a_personal_field_needs_the_data_steward(prod):
    before = {"fields": {"Account.Region__c": ["read"], "Contact.National_Id__c": ["read"]}}
    grant = change(
        "PermissionSet", "Auditor", Action.UPDATE, before,
        {"fields": {**before["fields"], "Contact.National_Id__c": ["read", "edit"]}},
    )  # fmt: skip
    revoke = change(
        "PermissionSet",
        "Auditor",
        Action.UPDATE,
        before,
        {"fields": {"Account.Region__c": ["read"]}},
    )
    internal = change(
        "PermissionSet", "Auditor", Action.UPDATE, before,
        {"fields": {**before["fields"], "Account.Region__c": ["read", "edit"]}},
    )  # fmt: skip
    assert rules(prod, grant) == ["every-change", "personal-data", "access-changes"]
    assert rules(prod, revoke) == ["every-change", "access-changes"]
    assert rules(prod, internal) == ["every-change", "access-changes"]


def test_granting_org_wide_access_needs_the_security_officer_once(prod):
    system = change("PermissionSet", "Ops", Action.CREATE, None, {"system": ["ModifyAllData"]})
    view_all = change(
        "PermissionSet", "Ops", Action.UPDATE, {"objects": {"Account": ["read"]}},
        {"objects": {"Account": ["read", "viewAll"]}},
    )  # fmt: skip
    kept = change(
        "PermissionSet", "Ops", Action.UPDATE, {"system": ["ViewAllData"], "label": "a"},
        {"system": ["ViewAllData"], "label": "b"},
    )  # fmt: skip
    assert rules(prod, system) == ["every-change", "powerful-access", "access-changes"]
    assert rules(prod, view_all) == ["every-change", "powerful-access", "access-changes"]
    assert rules(prod, kept) == ["every-change", "access-changes"]
    assert required_roles(requirements_for(system, prod, CLASSES)) == [
        "crm-admin",
        "security-officer",
    ]


def test_retention_needs_two_distinct_approvers_and_deletes_the_change_manager(prod):
    retention = change(
        "RetentionPolicy", "Old", Action.UPDATE, {"retain": "P1Y"}, {"retain": "P2Y"}
    )
    assert requirements_for(retention, prod, CLASSES)[1] == Requirement(
        "retention", ("legal-compliance", "data-steward"), 2
    )
    delete = change("Role", "Old", Action.DELETE, {"label": "Old"}, None)
    replace = change("CustomField", "A.B__c", Action.REPLACE, {"type": "Text"}, {"type": "Lookup"})
    assert rules(prod, delete) == ["every-change", "access-changes", "deletes"]
    assert rules(prod, replace) == ["every-change", "deletes"]


def test_selectors_all_hold_and_names_are_globs():
    policy = Policy.from_section(
        "x",
        {
            "rules": [
                {
                    "name": "user-deletes",
                    "match": {"kinds": ["User"], "actions": ["delete"]},
                    "require": ["a"],
                },
                {"name": "finance", "match": {"names": ["Invoice__c.*"]}, "require": ["b"]},
                {"name": "address", "match": {"names": ["Role/VP_*"]}, "require": ["c"]},
            ]
        },
    )
    user_update = change("User", "u@x.y", Action.UPDATE, {"active": True}, {"active": False})
    user_delete = change("User", "u@x.y", Action.DELETE, {"active": True}, None)
    invoice = change(
        "CustomField", "Invoice__c.Amount__c", Action.CREATE, None, {"type": "Currency"}
    )
    vp = change("Role", "VP_Sales", Action.CREATE, None, {"label": "VP"})
    assert rules(policy, user_update) == []
    assert rules(policy, user_delete) == ["user-deletes"]
    assert rules(policy, invoice) == ["finance"]
    assert rules(policy, vp) == ["address"]


def test_an_empty_policy_requires_nothing():
    policy = Policy.from_section("local", {"separationOfDuties": False, "roles": {}, "rules": []})
    assert not policy.active
    assert rules(policy, change("Role", "CEO", Action.CREATE, None, {"label": "CEO"})) == []
    assert policy.separation_of_duties is False
    assert Policy.from_section("x", None).separation_of_duties is True  # the schema's default
