"""Governance is governed: changed governance settings need the policy owners as last applied."""

from __future__ import annotations

import re

from crmctl.governance.records import ApprovedChange, write_approval
from crmctl.governance.sshsig import sign
from crmctl.plan import fingerprint
from tests.e2e.helpers import replace_in
from tests.governance.conftest import as_person
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.keys import key_of
from tests.governance.test_approvals import PERMS, SAM, TOMAS, apply, approve, refusal

ENV = "environments/gov.yaml"
OFFICERS = "    security-officer: [tomas.berg@northwind.example, sam.oduya@northwind.example]\n"
PROMOTED = (
    "    security-officer: [tomas.berg@northwind.example, sam.oduya@northwind.example, "
    "maria.garcia@northwind.example]\n"
)


def promote_author(root, commit_it: bool = True) -> str | None:
    """The author makes herself a security officer in the environment file."""
    replace_in(root / ENV, OFFICERS, PROMOTED)
    return commit(root, AUTHOR, "Make me a security officer", ENV) if commit_it else None


def governance_record(root, crmctl, who: str) -> str:
    """A record approving the governance change as planned, signed by `who`."""
    import json

    pseudo = json.loads(crmctl("plan", "-e", "gov", "--format", "json").out)["policyChange"]
    entry = ApprovedChange(
        "Environment/gov", "update", fingerprint(pseudo["after"]), pseudo["liveFingerprint"]
    )
    path = write_approval(
        root, "gov", who, "security-officer", [entry], sign=lambda p: sign(p, key_of(who))
    )
    return path.relative_to(root).as_posix()


def test_a_changed_policy_needs_the_policy_owners_as_last_applied(governed, crmctl):
    promote_author(governed)
    planned = crmctl("plan", "-e", "gov")
    assert planned.exit_code == 0, planned.output
    assert planned.out == (
        "Governance: the governance settings changed since v1 applied them; the policy owners approve it:\n"
        "\n"
        "  ~ Environment/gov\n"
        '      ~ approvals.roles.security-officer: ["tomas.berg@northwind.example", "sam.oduya@northwind.example"]'
        ' -> ["tomas.berg@northwind.example", "sam.oduya@northwind.example", "maria.garcia@northwind.example"]\n'
        "      approvals required: security-officer (requested by: maria.garcia@northwind.example)\n"
        "        [ ] security-officer: missing\n"
        "\n"
        "Approvals: 1 change needs approvals: 0 approved, 1 waiting. "
        "Apply refuses until they are complete (crmctl approvals -e gov).\n"
        "No changes. The CRM matches the manifests.\n"
    )
    # Any change is refused while the policy itself is not approved.
    replace_in(governed / PERMS, "label: Sales Representative", "label: Sales Rep")
    commit(governed, "jonas.lindqvist@northwind.example", "Shorter label", PERMS)
    commit(
        governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    )
    refused = apply(crmctl)
    assert refused.err == refusal("Environment/gov: security-officer: missing")

    # The author holds the role in the new policy only: her signed approval does not count.
    own = governance_record(governed, crmctl, AUTHOR)
    assert apply(crmctl).err == refusal(
        "Environment/gov: security-officer: maria.garcia@northwind.example does not count: "
        "maria.garcia@northwind.example does not hold the role security-officer in gov's policy "
        f"as last applied (v1) [{own}]"
    )
    commit(governed, SAM, "Approve", approve(crmctl, SAM, "security-officer", "Environment/gov"))
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert done.out.endswith("Recorded as v2 of gov.\n")
    # The applied settings are the new baseline: nothing left to approve.
    assert crmctl("approvals", "-e", "gov").out == "No change to gov needs an approval.\n"


def test_a_governance_change_alone_is_applied_and_recorded(governed, crmctl):
    promote_author(governed)
    commit(governed, SAM, "Approve", approve(crmctl, SAM, "security-officer", "Environment/gov"))
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert done.out.endswith(
        "Governance settings applied: the policy owners' approval is verified. "
        "Recorded as v2 of gov.\n"
    )
    assert "status:  governance settings applied\n" in crmctl("show", "-e", "gov", "v2").out


def test_uncommitted_governance_edits_have_unknown_requesters(governed, crmctl):
    promote_author(governed, commit_it=False)
    planned = crmctl("plan", "-e", "gov", env={"CRMCTL_ACTOR": TOMAS})
    assert (
        "Governance: the governance settings changed since v1 applied them; the policy owners approve it:\n"
    ) in planned.out
    assert "      approvals required: security-officer (requested by: unknown)\n" in planned.out
    refused = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", "Environment/gov", env=as_person(SAM)
    )
    assert refused.err.startswith(
        f"Skipped Environment/gov: {ENV} differs from the last commit (uncommitted or hidden "
        "edits), so who wrote it cannot be known: commit it.\n"
    )


def test_the_baseline_is_the_applied_settings_not_the_latest_commit(governed, crmctl):
    promote_author(governed)
    replace_in(governed / ENV, "description: The embedded sandbox", "description: Sandbox")
    commit(governed, AUTHOR, "Reword", ENV)
    planned = crmctl("plan", "-e", "gov")
    assert "Governance: the governance settings changed since v1 applied them;" in planned.out
    assert "approvals.roles.security-officer" in planned.out


def test_provider_protect_lint_and_signers_are_governed_too(governed, crmctl):
    replace_in(governed / ENV, "  path: .crmctl/sandbox.db\n", "  path: .crmctl/other.db\n")
    (governed / ENV).write_text(
        (governed / ENV).read_text() + "protect: [Role/CEO]\nlint: {rules: {owner-required: off}}\n"
    )
    with (governed / "approvals" / "allowed_signers").open("a") as out:
        out.write(
            "mallory@example.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7r4yiLv5gK3cFCqXbdKkxmRbYdW3D8vJz2T3o+Vq1p\n"
        )
    commit(governed, AUTHOR, "Move, protect, relax lint, add a key")
    planned = crmctl("plan", "-e", "gov")
    for diff in ("~ provider.path:", "+ protect:", "+ lint:", "~ allowedSigners:"):
        assert diff in planned.out, diff


def test_removing_every_rule_still_needs_the_policy_owners(governed, crmctl):
    text = (governed / ENV).read_text()
    (governed / ENV).write_text(
        re.sub(r"  rules:\n(?:    .*\n|      .*\n)*", "  rules: []\n", text)
    )
    commit(governed, AUTHOR, "No more rules", ENV)
    replace_in(governed / PERMS, "label: Sales Representative", "label: Sales Rep")
    commit(governed, AUTHOR, "Shorter label", PERMS)
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal("Environment/gov: security-officer: missing")


def test_the_project_credentials_allow_list_is_governed(governed, crmctl):
    (governed / "crmctl.yaml").write_text(
        "credentials:\n  allowVariables: [AWS_SECRET_ACCESS_KEY]\n"
    )
    commit(governed, AUTHOR, "Allow one more variable", "crmctl.yaml")
    planned = crmctl("plan", "-e", "gov")
    assert '+ projectCredentials: {"allowVariables": ["AWS_SECRET_ACCESS_KEY"]}' in planned.out
    assert "Environment/gov" in apply(crmctl).err


def test_rules_without_policy_owners_are_warned_about(project, crmctl):
    (project / "environments" / "loose.yaml").write_text(
        "provider: {type: sandbox, path: .crmctl/sandbox.db}\n"
        "approvals:\n"
        "  roles: {security-officer: [tomas.berg@northwind.example]}\n"
        "  rules: [{name: all, require: [security-officer]}]\n"
    )
    planned = crmctl("plan", "-e", "loose")
    assert (
        "environments/loose.yaml:2: loose has approval rules but no policyOwners: its "
        "governance settings (rules, roles, allowed signers, provider, ...) change without "
        "anyone's approval [warning]\n"
    ) in planned.out
    assert planned.exit_code == 0, planned.output
