"""What the provider sends for users' field security profiles (real HTTP, recording server)."""

from __future__ import annotations

from typing import Any

from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse.provider import SUPPORTED_KINDS
from tests.dataverse_provider.fake import fake_provider

ROOT_UNIT = "00000000-0000-0000-0000-0000000000b0"
ADMIN = "572329c1-a042-4e22-be47-367c6374ea45"  # the System Administrator profile
GRANT = [{"fieldpermissionid": "p", "entityname": "account", "attributelogicalname": "nw_x"}]


def _role(role_id: str, name: str) -> dict[str, Any]:
    return {"roleid": role_id, "name": name, "_businessunitid_value": ROOT_UNIT}


def test_users_and_their_profiles_are_read_in_one_paged_query() -> None:
    provider, fake = fake_provider()
    fake.on(
        "GET",
        r"businessunits\?.*",
        (200, {}, {"value": [{"businessunitid": ROOT_UNIT, "name": "Contoso"}]}),
    )
    roles = [_role("r1", "Desk"), _role("r2", "Audit"), _role("r3", "System Administrator")]
    fake.on("GET", r"roles\?.*", (200, {}, {"value": roles}))
    fake.on("GET", r"RetrieveRolePrivilegesRole\(RoleId=r\d\)", (200, {}, {"RolePrivileges": []}))
    profiles = [
        {"fieldsecurityprofileid": "f1", "name": "Desk"},
        {"fieldsecurityprofileid": "f2", "name": "Audit"},
        {"fieldsecurityprofileid": "f3", "name": "Finance"},  # no role of that name
        {"fieldsecurityprofileid": ADMIN, "name": "System Administrator"},
    ]
    fake.on("GET", r"fieldsecurityprofiles\?.*", (200, {}, {"value": profiles}))
    permissions = [
        {**GRANT[0], "fieldpermissionid": f"p{p}", "canread": 4, "_fieldsecurityprofileid_value": p}
        for p in ("f1", "f2", "f3", ADMIN)
    ]
    fake.on("GET", r"fieldpermissions\?.*", (200, {}, {"value": permissions}))

    def user(name: str, roles: list[str], held: list[str]) -> dict[str, Any]:
        return {
            "systemuserid": f"u-{name}",
            "domainname": f"{name}@contoso.com",
            "lastname": name,
            "_businessunitid_value": ROOT_UNIT,
            "systemuserroles_association": [_role(f"r-{r}", r) for r in roles],
            "systemuserprofiles_association": [{"fieldsecurityprofileid": p} for p in held],
        }

    users = [
        # Both halves of Desk; Dataverse's own profile and one no role is named after.
        user("ann", ["Desk"], ["f1", ADMIN, "f3"]),
        user("bob", ["Desk"], []),  # the role without its profile
        user("cy", [], ["f2"]),  # the profile without its role
    ]
    fake.on("GET", r"systemusers\?.*", (200, {}, {"value": users}))
    live = {r.name: r.spec["permissionSets"] for r in provider.read(["User"])}
    assert live == {
        "ann@contoso.com": ["Desk"],
        "bob@contoso.com": ["Desk (security role only)"],
        "cy@contoso.com": ["Audit (field security profile only)"],
    }
    [query] = fake.of("GET", "systemusers")
    assert (
        "$expand=systemuserroles_association($select=roleid,name,_businessunitid_value),"
        "systemuserprofiles_association($select=fieldsecurityprofileid)"
    ) in query.path
    assert "odata.maxpagesize=5000" in query.headers["Prefer"]


def test_a_user_update_associates_and_disassociates_profiles_by_ref() -> None:
    provider, fake = fake_provider()
    provider._read_kinds = set(SUPPORTED_KINDS)
    snapshot = provider.snapshot
    snapshot.root_unit = ROOT_UNIT
    snapshot.roles.update({"Desk": _role("r1", "Desk"), "Old": _role("r2", "Old")})
    snapshot.profiles.update(
        {
            "Desk": {"fieldsecurityprofileid": "f1", "name": "Desk", "permissions": GRANT},
            "Old": {"fieldsecurityprofileid": "f2", "name": "Old", "permissions": GRANT},
            "System_Administrator": {"fieldsecurityprofileid": ADMIN, "permissions": GRANT},
        }
    )
    snapshot.users["ann@contoso.com"] = {
        "systemuserid": "u1",
        "_businessunitid_value": ROOT_UNIT,
        "systemuserroles_association": [_role("r2", "Old")],
        "systemuserprofiles_association": [
            {"fieldsecurityprofileid": "f2"},
            {"fieldsecurityprofileid": ADMIN},
        ],
    }
    fake.on("PATCH", r"systemusers\(u1\)", (204, {}, None))
    fake.on("POST", r"systemusers\(u1\)/\w+/\$ref", (204, {}, None))
    fake.on("DELETE", r"systemusers\(u1\)/.*", (204, {}, None))
    spec = {"email": "ann@contoso.com", "lastName": "Ann", "active": True}
    before = {**spec, "permissionSets": ["Old"]}
    after = {**spec, "permissionSets": ["Desk"]}
    result = provider.apply(
        [Change("User", "ann@contoso.com", Action.UPDATE, before, after, [], None, "")]
    )
    assert result.ok, result.failed
    root = f"{fake.base}/api/data/v9.2/"
    assert [(s.method, s.path, s.body) for s in fake.sent[-4:]] == [
        (
            "POST",
            "systemusers(u1)/systemuserroles_association/$ref",
            {"@odata.id": f"{root}roles(r1)"},
        ),
        ("DELETE", f"systemusers(u1)/systemuserroles_association/$ref?$id={root}roles(r2)", None),
        (
            "POST",
            "systemusers(u1)/systemuserprofiles_association/$ref",
            {"@odata.id": f"{root}fieldsecurityprofiles(f1)"},
        ),
        ("DELETE", "systemusers(u1)/systemuserprofiles_association(f2)/$ref", None),
    ]
    assert not any(ADMIN in s.path for s in fake.sent)  # the System Administrator profile
