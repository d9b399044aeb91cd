"""Business units, users and duplicate rules on the Dataverse emulator, through the CLI."""

from __future__ import annotations

from pathlib import Path

from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import plan_is_empty as _plan_is_empty
from tests.dataverse_provider.org import write_manifests as _write
from tests.dataverse_provider.test_provider_e2e import DESK, TABLE
from tests.e2e.helpers import manifest

ROOT = manifest("Role", "sandbox", label="sandbox")
SALES = manifest("Role", "Sales", label="Sales", parent="sandbox")
EMAIL = manifest("CustomField", "nw_invoice.nw_email", type="Email", label="E-mail")
RULE = manifest(
    "DuplicateRule",
    "nw_invoice.Same_Email",
    match=[{"field": "nw_email"}],
    description="One per mail",
)
RITA = manifest(
    "User",
    "rita@contoso.com",
    email="rita@contoso.com",
    firstName="Rita",
    lastName="Rep",
    role="Sales",
    permissionSets=["Invoice_Desk"],
)


def test_units_users_and_rules_apply(dv: Path, org: DataverseOrg, crmctl) -> None:
    _write(dv, ROOT, SALES, TABLE, EMAIL, RULE, DESK, RITA)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 6 added, 0 changed, 0 destroyed." in r.out  # the root unit is adopted
    user = org.web(
        "GET",
        "systemusers?$select=systemuserid,isdisabled,_businessunitid_value"
        "&$filter=domainname eq 'rita@contoso.com'",
    )["value"][0]
    unit = org.web("GET", f"businessunits({user['_businessunitid_value']})?$select=name")
    assert (unit["name"], user["isdisabled"]) == ("Sales", False)
    roles = org.web(
        "GET",
        f"systemusers({user['systemuserid']})/systemuserroles_association?$select=name,_businessunitid_value",
    )["value"]
    assert [r["name"] for r in roles] == ["Invoice Desk"]
    # The user holds the role's copy in the user's own business unit.
    assert [r["_businessunitid_value"] for r in roles] == [user["_businessunitid_value"]]
    rule = org.web("GET", "duplicaterules?$select=name,statuscode,baseentityname")["value"]
    assert [(x["name"], x["statuscode"], x["baseentityname"]) for x in rule] == [
        ("Same_Email", 2, "nw_invoice")
    ]


def test_a_user_with_roles_plans_empty_after_apply(dv: Path, crmctl) -> None:
    _write(dv, ROOT, SALES, TABLE, DESK, RITA)
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 0
    _plan_is_empty(crmctl)


def test_units_and_rules_plan_empty_after_apply(dv: Path, crmctl) -> None:
    _write(
        dv, ROOT, SALES, TABLE, EMAIL, RULE, dict(RITA, spec={**RITA["spec"], "permissionSets": []})
    )
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 0
    _plan_is_empty(crmctl)


def test_a_user_made_inactive_is_disabled_not_deleted(dv: Path, org: DataverseOrg, crmctl) -> None:
    rita = dict(RITA, spec={**RITA["spec"], "permissionSets": []})
    _write(dv, ROOT, SALES, rita)
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 0
    _write(dv, ROOT, SALES, dict(rita, spec={**rita["spec"], "active": False}))
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    user = org.web("GET", "systemusers?$select=isdisabled&$filter=domainname eq 'rita@contoso.com'")
    assert user["value"][0]["isdisabled"] is True
    _plan_is_empty(crmctl)


def test_a_table_change_publishes_its_duplicate_rules_again(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, EMAIL, RULE)
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 0
    # A new column changes the table's metadata: Dataverse unpublishes the table's rules.
    note = manifest("CustomField", "nw_invoice.nw_note", type="Text", label="Note", length=20)
    _write(dv, TABLE, EMAIL, note, RULE)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 1 added, 0 changed, 0 destroyed." in r.out
    rules = org.web("GET", "duplicaterules?$select=name,statuscode")["value"]
    assert [(x["name"], x["statuscode"]) for x in rules] == [("Same_Email", 2)]
    _plan_is_empty(crmctl)
