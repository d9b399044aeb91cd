"""The environment file is governed: a changed approvals section needs its policy owners."""

from __future__ import annotations

import json
import re

from crmctl.governance.records import ApprovedChange, write_approval
from crmctl.plan import fingerprint
from tests.e2e.helpers import replace_in
from tests.governance.gitrepo import AUTHOR, commit
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


def test_a_changed_policy_needs_the_policy_owners_of_the_previous_policy(governed, crmctl):
    sha = promote_author(governed)
    planned = crmctl("plan", "-e", "gov")
    assert planned.exit_code == 0, planned.output
    assert planned.out == (
        f"Governance: the approvals section changed in commit {sha}; the policy owners approve it:\n"
        "\n"
        "  ~ Environment/gov\n"
        '      ~ roles.security-officer: ["tomas.berg@northwind.example", "sam.oduya@northwind.example"]'
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

    # The author holds the role in the new policy only: her approval does not count.
    pseudo = json.loads(crmctl("plan", "-e", "gov", "--format", "json").out)["policyChange"]
    entry = ApprovedChange(
        "Environment/gov", "update", fingerprint(pseudo["after"]), pseudo["liveFingerprint"]
    )
    path = write_approval(governed, "gov", AUTHOR, "security-officer", [entry])
    own = path.relative_to(governed).as_posix()
    commit(governed, AUTHOR, "Approve my promotion", own)
    assert apply(crmctl).err == refusal(
        "Environment/gov: security-officer: maria.garcia@northwind.example does not count: "
        "maria.garcia@northwind.example does not hold the role security-officer in gov's policy "
        f"before this change [{own}]"
    )
    commit(governed, SAM, "Approve", approve(crmctl, SAM, "security-officer", "Environment/gov"))
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    listed = crmctl("approvals", "-e", "gov")
    assert listed.out == (
        "Approvals for gov:\n"
        "\n"
        f"  ~ Environment/gov  (the approvals section changed in commit {sha})\n"
        "      approvals required: security-officer (requested by: maria.garcia@northwind.example)\n"
        "        [x] security-officer: sam.oduya@northwind.example\n"
        "\n"
        "Approvals: 1 change needs approvals: 1 approved, 0 waiting.\n"
    )


def test_uncommitted_policy_edits_are_authored_by_whoever_runs_crmctl(governed, crmctl):
    promote_author(governed, commit_it=False)
    planned = crmctl("plan", "-e", "gov", env={"CRMCTL_ACTOR": TOMAS})
    assert (
        "Governance: the approvals section changed in uncommitted edits; the policy owners approve it:\n"
    ) in planned.out
    assert (
        "      approvals required: security-officer (requested by: tomas.berg@northwind.example)\n"
        in planned.out
    )


def test_a_later_commit_that_leaves_the_section_alone_does_not_hide_the_change(governed, crmctl):
    sha = promote_author(governed)
    replace_in(governed / ENV, "description: The embedded sandbox", "description: Sandbox")
    commit(governed, AUTHOR, "Reword", ENV)
    planned = crmctl("plan", "-e", "gov")
    assert f"Governance: the approvals section changed in commit {sha};" in planned.out


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
