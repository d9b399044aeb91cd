"""`crmctl plan` flags changes that widen access to PII and Sensitive fields, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from tests.testing.conftest import edit


def test_a_first_plan_flags_nothing(project: Path, crmctl) -> None:
    r = crmctl("plan")
    assert r.exit_code == 0
    assert "access widening" not in r.output


def test_a_permission_set_granting_a_sensitive_field(applied: Path, crmctl) -> None:
    edit(
        applied / "manifests" / "access" / "permission-sets.yaml",
        "    Contact.Preferred_Language__c: [read, edit]\n  system: [ApiEnabled]",
        "    Contact.Preferred_Language__c: [read, edit]\n    Contact.National_Id__c: [read]\n"
        "  system: [ApiEnabled]",
    )
    r = crmctl("plan")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out.startswith(
        "access widening: 3 users gain read on Contact.National_Id__c via Sales_Rep [warning]\n"
        "  hint: who: ines.moreau@northwind.example, jonas.lindqvist@northwind.example,"
        " maria.garcia@northwind.example\n"
        "\n"
        "crmctl will make these changes in local"
    )


def test_a_user_given_a_permission_set(applied: Path, crmctl) -> None:
    edit(
        applied / "manifests" / "access" / "users.yaml",
        "  permissionSets: [Marketing]",
        "  permissionSets: [Marketing, Data_Steward]",
    )
    r = crmctl("plan")
    warnings = [line for line in r.out.splitlines() if "widening" in line or "who:" in line]
    # IP_Address__c: Chloé could already read and edit it through Marketing; a second path
    # to the same permission is not a widening.
    # The paths name the field's permission set, then every set granting the object
    # permission it needs (Marketing grants read on Contact too, not edit).
    assert warnings == [
        "access widening: 1 user gains read on Contact.Date_Of_Birth__c via Data_Steward,"
        " Marketing [warning]",
        "  hint: who: chloe.martin@northwind.example",
        "access widening: 1 user gains edit on Contact.Personal_Mobile__c via Data_Steward"
        " [warning]",
        "  hint: who: chloe.martin@northwind.example",
        "access widening: 1 user gains read on Contact.Personal_Mobile__c via Data_Steward,"
        " Marketing [warning]",
        "  hint: who: chloe.martin@northwind.example",
    ]


def test_narrowing_and_internal_fields_are_not_flagged(applied: Path, crmctl) -> None:
    path = applied / "manifests" / "access" / "permission-sets.yaml"
    edit(path, "    Contact.Personal_Mobile__c: [read]\n", "")
    edit(
        path,
        "    Account.Customer_Tier__c: [read]\n",
        "    Account.Customer_Tier__c: [read, edit]\n",
    )
    r = crmctl("plan")
    assert r.exit_code == 0
    assert "~ PermissionSet/Sales_Rep" in r.out and "~ PermissionSet/Service_Agent" in r.out
    assert "access widening" not in r.out


def test_reactivating_a_user_is_a_widening(applied: Path, crmctl) -> None:
    users = applied / "manifests" / "access" / "users.yaml"
    edit(
        users,
        "  permissionSets: [Service_Agent]",
        "  permissionSets: [Service_Agent]\n  active: false",
    )
    assert crmctl("apply", "--auto-approve").exit_code == 0
    edit(
        users,
        "  permissionSets: [Service_Agent]\n  active: false",
        "  permissionSets: [Service_Agent]",
    )
    r = crmctl("plan", "--format", "json")
    found = [
        d["message"] for d in json.loads(r.out)["diagnostics"] if d["code"] == "access-widening"
    ]
    assert found == [
        "access widening: 1 user gains read on Contact.Personal_Mobile__c via Service_Agent"
    ]
