"""A Dataverse environment (the sandbox's emulator over https): spellings that read back equal,
and a governed environment that refuses apply without the approvals its policy requires."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.dataverse_provider.org import DataverseOrg, governed_env
from tests.dataverse_provider.org import no_changes as _no_changes
from tests.dataverse_provider.org import write_manifests as _write
from tests.e2e.helpers import manifest
from tests.governance.conftest import (
    PEOPLE,
    TOMAS,
    approve_governance_as,
    as_person,
    bare_remote,
)
from tests.governance.gitrepo import AUTHOR, commit, init
from tests.governance.keys import write_signers

TABLE = manifest("CustomObject", "nw_invoice", label="Invoice")
DESK = manifest(
    "PermissionSet",
    "Invoice_Desk",
    label="Invoice Desk",
    objects={"nw_invoice": ["read", "edit"]},
    depths={"nw_invoice": {"read": "Global", "edit": "Local"}},
)
APPROVALS = """\
  rules:
    - name: access-changes
      match:
        kinds: [PermissionSet, Role, User]
      require: [security-officer]
"""


@pytest.mark.parametrize(
    ("spelling", "stored"),
    [
        ({"requiredLevel": "applicationRequired"}, "ApplicationRequired"),
        ({"required": True, "requiredLevel": "applicationRequired"}, "ApplicationRequired"),
        ({"requiredLevel": "none"}, "None"),
        ({"required": False, "requiredLevel": "none"}, "None"),
        ({"requiredLevel": "recommended"}, "Recommended"),
    ],
)
def test_each_required_level_spelling_plans_empty_after_apply(
    project: Path, org: DataverseOrg, crmctl, spelling: dict, stored: str
) -> None:
    org.write_env(project, "dv")
    column = manifest(
        "CustomField",
        "account.nw_region",
        type="Text",
        label="Region",
        length=50,
        description="Where the customer is billed (shown as the column's tooltip)",
        **spelling,
    )
    _write(project, column)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    _no_changes(crmctl, "dv")
    live = org.web(
        "GET",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nw_region')"
        "?$select=RequiredLevel,Description",
    )
    assert live["RequiredLevel"]["Value"] == stored
    assert live["Description"]["UserLocalizedLabel"]["Label"] == (
        "Where the customer is billed (shown as the column's tooltip)"
    )


def test_a_governed_dataverse_environment_applies_an_access_change_only_when_approved(
    project: Path, org: DataverseOrg, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("manifests", "environments"):
        shutil.rmtree(project / folder)
    (project / "environments").mkdir()
    (project / "environments" / "gov.yaml").write_text(
        governed_env(org.url, bare_remote(project), APPROVALS)
    )
    _write(project, TABLE)
    write_signers(project, *PEOPLE)
    init(project)
    monkeypatch.setenv("CRMCTL_ACTOR", AUTHOR)
    approve_governance_as(crmctl)  # the policy owner approves the environment's governance
    first = crmctl("apply", "-e", "gov", "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "Recorded as v1 of gov." in first.out

    _write(project, TABLE, DESK)
    commit(project, AUTHOR, "An invoice desk role", "dv/org.yaml")
    refused = crmctl("apply", "-e", "gov", "--auto-approve")
    assert refused.exit_code == 1
    assert refused.err == (
        "Error: 1 required approval is missing or does not count; nothing was applied:\n"
        "  - PermissionSet/Invoice_Desk: security-officer: missing\n"
        "hint: crmctl approvals -e gov shows who approved what; an approver records one with: "
        "crmctl approve -e gov --role ROLE --ticket ID\n"
    )
    assert org.web("GET", "roles?$select=name&$filter=name eq 'Invoice Desk'")["value"] == []

    approved = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", "--ticket", "CHG-7",
        env=as_person(TOMAS),
    )  # fmt: skip
    assert approved.exit_code == 0, approved.output
    record = re.search(r" in (approvals/gov/\S+\.yaml)", approved.out).group(1)
    commit(project, AUTHOR, "Approve CHG-7", record)
    done = crmctl("apply", "-e", "gov", "--auto-approve")
    assert done.exit_code == 0, done.output
    assert "        [x] security-officer: tomas.berg@northwind.example (CHG-7)\n" in done.out
    assert done.out.endswith(
        "Apply complete: 1 added, 0 changed, 0 destroyed. Recorded as v2 of gov.\n"
    )
    roles = org.web("GET", "roles?$select=roleid,name&$filter=name eq 'Invoice Desk'")["value"]
    assert len(roles) == 1
    privileges = org.web("GET", f"RetrieveRolePrivilegesRole(RoleId={roles[0]['roleid']})")
    assert {p["PrivilegeName"]: p["Depth"] for p in privileges["RolePrivileges"]} == {
        "prvReadnw_invoice": "Global",
        "prvWritenw_invoice": "Local",
    }
    _no_changes(crmctl, "gov")
