"""Attacks on permission names: `modifyAllData` or an unlisted powerful permission slip past nothing.

System permissions are an enum of the CRM's canonical names (a wrong case is
an error with a did-you-mean hint, in the manifests and in approval rules);
the powerful-access lint rule and the `powerful` group of approval rules cover
the documented list (ModifyAllData, ViewAllData, CustomizeApplication,
ManageUsers, AuthorApex, ManageProfilesPermissionsets…); the sandbox decides
who is an admin by the same exact names.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from crmctl.kinds.system_permissions import ADMIN, POWERFUL, known
from crmctl.sandbox.auth import Principal, principal_of
from tests.conftest import EXAMPLE
from tests.e2e.helpers import live_specs, manifest, write_manifest
from tests.governance.gitrepo import commit, init
from tests.sandbox.conftest import Sandbox, org, sandbox, store  # noqa: F401 (fixtures)

POWERFUL_ENV = """\
description: The embedded sandbox with one approval rule, the documented powerful list
provider: {type: sandbox, path: .crmctl/sandbox.db}
manifests: [manifests]
approvals:
  separationOfDuties: false
  roles:
    security-officer: [tomas.berg@northwind.example]
  rules:
    - name: powerful-access
      match:
        systemPermissions: [powerful]
      require: [security-officer]
"""
WHY = "Configures the org for the CRM team; granted to named admins only."


def test_system_permission_in_the_wrong_case_is_an_error_with_a_hint(
    http_project, sandbox_server, crmctl
):
    write_manifest(
        http_project,
        "ops.yaml",
        manifest("PermissionSet", "Ops", label="Ops", description=WHY, system=["modifyAllData"]),
    )
    expected = (
        "manifests/ops.yaml:10: PermissionSet/Ops: spec.system[0]: is not a system permission the "
        "CRM knows; names are exact and case-sensitive, e.g. ModifyAllData (got 'modifyAllData')\n"
        "  hint: did you mean 'ModifyAllData'?\n"
    )
    validated = crmctl("validate")
    assert validated.exit_code == 1
    assert validated.out == expected + "1 error in 1 file\n"
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 1
    assert expected in applied.err
    assert live_specs(sandbox_server.store) == {}


def test_system_permission_misspelt_in_an_approval_rule_is_an_error_with_a_hint(project, crmctl):
    env = POWERFUL_ENV.replace("[powerful]", "[powerful, modifyAllData]")
    (project / "environments" / "pow.yaml").write_text(env)
    result = crmctl("validate", "-e", "pow")
    assert result.exit_code == 1
    assert result.err == (
        "Error: environment file environments/pow.yaml has 1 problem\n"
        "environments/pow.yaml:11: approvals.rules[0].match.systemPermissions[1]: must be a "
        "system permission's exact API name (e.g. ModifyAllData) or powerful (the documented "
        "list) (got 'modifyAllData')\n"
        "  hint: did you mean 'ModifyAllData'?\n"
    )


@pytest.mark.parametrize(
    "permission",
    ["CustomizeApplication", "ManageUsers", "AuthorApex", "ManageProfilesPermissionsets"],
)
def test_system_permission_beyond_view_and_modify_all_data_needs_the_approval(
    project, crmctl, permission
):
    (project / "environments" / "pow.yaml").write_text(POWERFUL_ENV)
    init(project)
    assert crmctl("apply", "--auto-approve").exit_code == 0  # the sandbox holds the example org
    write_manifest(
        project,
        "ops.yaml",
        manifest("PermissionSet", "Ops", label="Ops", description=WHY, system=[permission]),
    )
    commit(project, "maria.garcia@northwind.example", "Grant Ops")
    result = crmctl("apply", "-e", "pow", "--auto-approve")
    assert result.exit_code == 1
    assert result.err == (
        "Error: 1 required approval is missing or does not count; nothing was applied:\n"
        "  - PermissionSet/Ops: security-officer: missing\n"
        "hint: crmctl approvals -e pow shows who approved what; an approver records one with: "
        "crmctl approve -e pow --role ROLE --ticket ID\n"
    )
    plan = crmctl("plan", "-e", "pow")
    assert "PermissionSet/Ops" in plan.out
    from crmctl.sandbox.store import SandboxStore

    db = SandboxStore.open(project / ".crmctl" / "sandbox.db")
    try:
        assert "PermissionSet/Ops" not in {f"{i['kind']}/{i['name']}" for i in db.list_all_config()}
    finally:
        db.close()


@pytest.mark.parametrize("permission", ["CustomizeApplication", "AuthorApex", "ManageUsers"])
def test_system_permission_beyond_view_and_modify_all_data_needs_a_reason(
    project, crmctl, permission
):
    write_manifest(
        project,
        "ops.yaml",
        manifest("PermissionSet", "Ops", label="Ops", description="Ops.", system=[permission]),
    )
    result = crmctl("lint")
    assert result.exit_code == 1
    assert result.out == (
        f"manifests/ops.yaml:8: PermissionSet/Ops: grants {permission} but its description does "
        "not say why (at least 20 characters) (powerful-access-justified)\n"
        "  hint: write in spec.description why this access is needed and who gets it\n"
        f"lint: 1 error, 0 warnings in {EXAMPLE.resources + 1} resources\n"
    )


def test_system_permission_in_the_wrong_case_never_makes_a_sandbox_admin(org: Sandbox):  # noqa: F811
    refused = org.admin.put("PermissionSet", "Sneaky", {"label": "S", "system": ["modifyAllData"]})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "INVALID_SPEC"
    assert refused.json()["error"]["message"].startswith(
        "PermissionSet/Sneaky: spec.system[0]: is not a system permission the CRM knows"
    )
    # Rows written before the names were exact (or by hand) still make no admin.
    conn = sqlite3.connect(org.store.path)
    with conn:
        for kind, name, spec in (
            ("PermissionSet", "Sneaky", {"label": "S", "system": ["modifyAllData"]}),
            ("PermissionSet", "Sly", {"label": "S", "system": ["customizeapplication"]}),
            (
                "User",
                "s@example.com",
                {"email": "s@example.com", "permissionSets": ["Sneaky", "Sly"]},
            ),
        ):
            conn.execute(
                "INSERT INTO config VALUES (?, ?, ?, 1, '2026-01-01T00:00:00+00:00', 'legacy')",
                (kind, name, json.dumps(spec)),
            )
    try:
        assert principal_of(conn, "s@example.com") == Principal("s@example.com", False, True)
    finally:
        conn.close()
    assert org.admin.put("PermissionSet", "Real", {"label": "R", "system": ["ModifyAllData"]}).ok
    user = {"email": "r@example.com", "lastName": "R", "permissionSets": ["Real"]}
    assert org.admin.put("User", "r@example.com", user).status_code == 201
    real = org.client(org.admin.token_for("r@example.com"))
    assert real.get("/whoami").json()["isAdmin"] is True


def test_system_permission_lists_agree():
    assert ADMIN <= set(POWERFUL) <= known()
    for name in (
        "ModifyAllData",
        "ViewAllData",
        "CustomizeApplication",
        "ManageUsers",
        "AuthorApex",
        "ManageProfilesPermissionsets",
    ):
        assert name in POWERFUL
