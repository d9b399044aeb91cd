"""The worked example of docs/governance.md, against a sandbox CRM server over HTTP."""

from __future__ import annotations

from tests.conftest import HTTP_ENV
from tests.e2e.helpers import live_specs, replace_in
from tests.governance.conftest import approve_governance_as, as_person, bare_remote
from tests.governance.gitrepo import AUTHOR, commit, init
from tests.governance.keys import write_signers
from tests.governance.test_approvals import PERMS, PRIYA, TOMAS

POLICY = """\
history:
  remote: {remote}
approvals:
  separationOfDuties: true
  policyOwners: [security-officer]
  roles:
    crm-admin: [priya.shah@northwind.example]
    security-officer: [tomas.berg@northwind.example]
  rules:
    - name: powerful-access
      match:
        systemPermissions: [ViewAllData, ModifyAllData]
        objectPermissions: [viewAll, modifyAll]
      require: [security-officer]
"""


def test_author_changes_a_permission_set_security_officer_approves_apply_succeeds(
    http_project, sandbox_server, crmctl, monkeypatch
):
    root = http_project
    (root / "environments" / "setup.yaml").write_text(
        HTTP_ENV.format(url=sandbox_server.url, protect="Role/CEO")
    )
    assert crmctl("apply", "-e", "setup", "--auto-approve").exit_code == 0
    (root / "environments" / "e2e.yaml").write_text(
        HTTP_ENV.format(url=sandbox_server.url, protect="Role/CEO")
        + POLICY.format(remote=bare_remote(root))
    )
    write_signers(root, AUTHOR, TOMAS, PRIYA)
    init(root)
    monkeypatch.setenv("CRMCTL_ACTOR", AUTHOR)
    approve_governance_as(crmctl, TOMAS, "e2e")
    assert crmctl("apply", "-e", "e2e", "--auto-approve").exit_code == 0  # v1: governance

    replace_in(root / PERMS, "    Account: [read, edit, viewAll]\n", "    Account: [read, edit, viewAll, delete, modifyAll]\n")  # fmt: skip
    commit(root, AUTHOR, "Data stewards fix any account", PERMS)
    refused = crmctl("apply", "--auto-approve")
    assert refused.exit_code == 1
    assert "  - PermissionSet/Data_Steward: security-officer: missing\n" in refused.err

    approved = crmctl(
        "approve", "--role", "security-officer", "--ticket", "CHG-1234", env=as_person(TOMAS)
    )
    assert approved.exit_code == 0, approved.output
    commit(root, TOMAS, "Approve CHG-1234", "approvals")
    done = crmctl("apply", "--auto-approve")
    assert done.exit_code == 0, done.output
    assert (
        "  ~ PermissionSet/Data_Steward\n"
        '      ~ objects.Account: ["read", "edit", "viewAll"] -> ["read", "edit", "delete", "viewAll", "modifyAll"]\n'
        "      approvals required: security-officer (requested by: maria.garcia@northwind.example)\n"
        "        [x] security-officer: tomas.berg@northwind.example (CHG-1234)\n"
    ) in done.out
    assert done.out.endswith(
        "Apply complete: 0 added, 1 changed, 0 destroyed. Recorded as v2 of e2e.\n"
    )
    assert live_specs(sandbox_server.store)["PermissionSet/Data_Steward"]["objects"]["Account"] == [
        "read", "edit", "delete", "viewAll", "modifyAll"
    ]  # fmt: skip
