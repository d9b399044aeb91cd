"""Users get the field permissions of the permission sets they hold: field security profiles.

Checked on the emulator through the CLI; what Dataverse holds is read back with plain OData
requests (org.web), never through the provider.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import apply_ok as _apply
from tests.dataverse_provider.org import plan_is_empty as _plan_is_empty
from tests.dataverse_provider.org import write_manifests as _write
from tests.dataverse_provider.test_fieldsecurity_e2e import DESK
from tests.dataverse_provider.test_provider_e2e import AMOUNT, REGION, TABLE
from tests.dataverse_provider.test_security_e2e import RITA, ROOT, SALES

ADMIN_PROFILE = "572329c1-a042-4e22-be47-367c6374ea45"  # System Administrator (REF §A4)
ORG = (ROOT, SALES, TABLE, AMOUNT, REGION, DESK)


def _user(org: DataverseOrg, username: str = "rita@contoso.com") -> str:
    found = org.web("GET", f"systemusers?$select=systemuserid&$filter=domainname eq '{username}'")[
        "value"
    ]
    assert len(found) == 1, found
    return str(found[0]["systemuserid"])


def _profiles(org: DataverseOrg, user: str) -> list[str]:
    """The names of the user's field security profiles, by the navigation property."""
    rows = org.web("GET", f"systemusers({user})/systemuserprofiles_association?$select=name")
    return sorted(str(r["name"]) for r in rows["value"])


def _roles(org: DataverseOrg, user: str) -> list[str]:
    rows = org.web("GET", f"systemusers({user})/systemuserroles_association?$select=name")
    return sorted(str(r["name"]) for r in rows["value"])


def _profile_id(org: DataverseOrg, name: str) -> str:
    found = org.web("GET", f"fieldsecurityprofiles?$select=name&$filter=name eq '{name}'")
    assert len(found["value"]) == 1, found
    return str(found["value"][0]["fieldsecurityprofileid"])


def _with_sets(user: dict[str, Any], *sets: str) -> dict[str, Any]:
    return dict(user, spec={**user["spec"], "permissionSets": list(sets)})


def test_a_user_holding_a_set_with_fields_joins_its_profile_in_the_same_apply(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    # The permission set (role and profile) and the user are all new: one apply.
    _write(dv, *ORG, RITA)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    order = [line.split()[1] for line in r.out.splitlines() if line.startswith("  + ")]
    assert order.index("PermissionSet/Invoice_Desk") < order.index("User/rita@contoso.com"), r.out
    user = _user(org)
    assert _roles(org, user) == ["Invoice Desk"]
    assert _profiles(org, user) == ["Invoice Desk"]
    # The other side of the association lists her as well.
    members = org.web(
        "GET",
        f"fieldsecurityprofiles({_profile_id(org, 'Invoice Desk')})"
        "?$select=name&$expand=systemuserprofiles_association($select=domainname)",
    )["systemuserprofiles_association"]
    assert [m["domainname"] for m in members] == ["rita@contoso.com"]
    _plan_is_empty(crmctl)


def test_a_set_taken_from_the_user_takes_its_profile_too(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, *ORG, RITA)
    _apply(crmctl)
    _write(dv, *ORG, _with_sets(RITA))
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert '  ~ User/rita@contoso.com\n      ~ permissionSets: ["Invoice_Desk"] -> []\n' in r.out, (
        r.out
    )
    _apply(crmctl)
    user = _user(org)
    assert (_roles(org, user), _profiles(org, user)) == ([], [])
    _plan_is_empty(crmctl)


def test_a_profile_association_removed_by_hand_shows_in_plan_and_drift_and_comes_back(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, *ORG, RITA)
    _apply(crmctl)
    user = _user(org)
    profile = _profile_id(org, "Invoice Desk")
    org.web(
        "DELETE",
        f"systemusers({user})/systemuserprofiles_association({profile})/$ref",
        app=org.other,
    )
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert (
        "  ~ User/rita@contoso.com\n"
        '      ~ permissionSets: ["Invoice_Desk (security role only)"] -> ["Invoice_Desk"]\n'
    ) in r.out, r.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in r.out
    r = crmctl("drift", "-e", "dv")
    assert r.exit_code == 2, r.output
    assert "  ~ User/rita@contoso.com  modified out of band by someone-else at " in r.out, r.out
    _apply(crmctl)
    assert _roles(org, user) == ["Invoice Desk"]
    assert _profiles(org, user) == ["Invoice Desk"]
    _plan_is_empty(crmctl)


def test_a_role_held_without_the_profile_and_not_wanted_is_taken_away(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    # Someone gives Rita the security role by hand, not the profile: she holds half of a
    # permission set her manifest does not give her, and the plan says so.
    _write(dv, *ORG, _with_sets(RITA))
    _apply(crmctl)
    user = _user(org)
    role = org.web(
        "GET",
        f"roles?$select=roleid&$filter=name eq 'Invoice Desk' and _businessunitid_value eq "
        f"{org.web('GET', f'systemusers({user})?$select=_businessunitid_value')['_businessunitid_value']}",
    )["value"][0]["roleid"]
    org.web(
        "POST",
        f"systemusers({user})/systemuserroles_association/$ref",
        app=org.other,
        json={"@odata.id": f"{org.url}/api/data/v9.2/roles({role})"},
    )
    r = crmctl("plan", "-e", "dv")
    assert '      ~ permissionSets: ["Invoice_Desk (security role only)"] -> []\n' in r.out, r.out
    _apply(crmctl)
    assert (_roles(org, user), _profiles(org, user)) == ([], [])
    _plan_is_empty(crmctl)


def test_profiles_that_are_not_crmctls_are_left_alone(dv: Path, org: DataverseOrg, crmctl) -> None:
    _write(dv, *ORG, RITA)
    _apply(crmctl)
    user = _user(org)
    # Made by an admin: the System Administrator profile, and a profile no role is named after.
    org.web("POST", "fieldsecurityprofiles", app=org.other, json={"name": "Auditors"})
    for profile in (ADMIN_PROFILE, _profile_id(org, "Auditors")):
        org.web(
            "POST",
            f"systemusers({user})/systemuserprofiles_association/$ref",
            app=org.other,
            json={"@odata.id": f"{org.url}/api/data/v9.2/fieldsecurityprofiles({profile})"},
        )
    _plan_is_empty(crmctl)
    _write(dv, *ORG, _with_sets(RITA))
    _apply(crmctl)
    assert _profiles(org, user) == ["Auditors", "System Administrator"]
    _plan_is_empty(crmctl)


def test_a_set_that_comes_to_grant_fields_takes_in_the_users_holding_it(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    desk = dict(DESK, spec={k: v for k, v in DESK["spec"].items() if k != "fields"})
    _write(dv, ROOT, SALES, TABLE, AMOUNT, REGION, desk, RITA)
    _apply(crmctl)
    user = _user(org)
    assert _profiles(org, user) == []
    _write(dv, *ORG, RITA)  # only the permission set changes: it gets fields
    r = crmctl("plan", "-e", "dv")
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in r.out, r.out
    _apply(crmctl)
    assert _profiles(org, user) == ["Invoice Desk"]
    _plan_is_empty(crmctl)


def test_a_user_dropping_a_set_leaves_its_profile_even_while_it_grants_no_fields(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    """Else, once the set grants fields again, the user reads them through the profile
    without holding the set (review finding)."""
    no_fields = dict(DESK, spec={k: v for k, v in DESK["spec"].items() if k != "fields"})
    _write(dv, *ORG, RITA)
    _apply(crmctl)
    user = _user(org)
    _write(dv, ROOT, SALES, TABLE, AMOUNT, REGION, no_fields, _with_sets(RITA))
    _apply(crmctl)  # one apply: the set loses its fields and Rita drops it
    assert (_roles(org, user), _profiles(org, user)) == ([], [])
    _write(dv, *ORG, _with_sets(RITA))
    _apply(crmctl)  # the fields come back; Rita still does not hold the set
    assert (_roles(org, user), _profiles(org, user)) == ([], [])
    _plan_is_empty(crmctl)


def test_import_leaves_out_a_set_held_in_part_and_says_so(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    """Rita keeps Invoice Desk's role after someone took her out of its profile by hand: a
    manifest can only grant the set whole, so import leaves it out and says why."""
    _write(dv, *ORG, RITA)
    _apply(crmctl)
    user = _user(org)
    profile = _profile_id(org, "Invoice Desk")
    org.web("DELETE", f"systemusers({user})/systemuserprofiles_association({profile})/$ref")
    out = dv / "imported"
    r = crmctl("import", "-e", "dv", "--all", "--out", "imported")
    assert r.exit_code == 0, r.output
    said = (
        "User/rita@contoso.com: the CRM holds 'Invoice_Desk (security role only)', a permission "
        "set in part; left out of permissionSets (declare 'Invoice_Desk' to grant it whole, or "
        "leave it out and crmctl plan shows the rest being taken away)"
    )
    assert said in r.output, r.output
    written = "".join(p.read_text() for p in out.rglob("*.yaml"))
    assert "security role only" not in written
    r = crmctl("import", "-e", "dv", "User/rita@contoso.com")
    assert r.exit_code == 0, r.output
    assert said in r.output, r.output
    r = crmctl("validate", "-e", "dv")
    assert r.exit_code == 0, r.output


def test_access_counts_the_part_of_a_set_a_user_holds(dv: Path, org: DataverseOrg, crmctl) -> None:
    """Rita keeps Invoice Desk's role, not its profile: `crmctl access --live` shows the role's
    table grants and none of the profile's field grants (review finding: it showed nothing)."""
    _write(dv, *ORG, RITA)
    _apply(crmctl)
    user = _user(org)
    profile = _profile_id(org, "Invoice Desk")
    org.web("DELETE", f"systemusers({user})/systemuserprofiles_association({profile})/$ref")
    r = crmctl("access", "-e", "dv", "--live", "--user", "rita@contoso.com", "--format", "json")
    assert r.exit_code == 0, r.output
    grants = json.loads(r.out)["grants"]
    assert grants == [
        {
            "user": "rita@contoso.com",
            "object": "nw_invoice",
            "field": None,
            "permissions": ["read"],
            "via": {"read": ["Invoice_Desk (security role only)"]},
        }
    ]  # the role's table read; none of the profile's column grants
