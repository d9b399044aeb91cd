"""Separation of duties that no commit can flip: every requester since the last apply counts.

Sam is a security officer who also edits the manifests; each trick he tries to
approve his own change with is refused.
"""

from __future__ import annotations

from tests.e2e.helpers import replace_in
from tests.governance.conftest import as_person, write_governed_env
from tests.governance.gitrepo import AUTHOR, commit, git
from tests.governance.keys import key_of
from tests.governance.test_approvals import (
    JONAS,
    PERMS,
    SAM,
    TOMAS,
    apply,
    approve,
    grant_tier_edit,
    refusal,
    signed_record,
)

ENV = "environments/gov.yaml"
DUTIES = (
    "{who} is among the requesters of this change (authors, committers, co-authors and signers "
    "of its commits since the last apply), and gov separates duties (separationOfDuties)"
)


def _refused_as_requester(
    crmctl, record: str, who: str = SAM, address: str = "PermissionSet/Sales_Rep"
):
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert (
        f"  - {address}: security-officer: {who} does not count: {DUTIES.format(who=who)} [{record}]\n"
    ) in refused.err
    return refused


def test_a_later_trivial_commit_by_someone_else_does_not_hide_the_requester(governed, crmctl):
    grant_tier_edit(governed, email=SAM)
    replace_in(governed / PERMS, "# One permission set", "#  One permission set")
    commit(governed, JONAS, "Whitespace", PERMS)  # Jonas is now the latest committer
    skipped = crmctl("approve", "-e", "gov", "--role", "security-officer", env=as_person(SAM))
    assert skipped.exit_code == 1
    assert f"Skipped PermissionSet/Sales_Rep: {DUTIES.format(who=SAM)}.\n" in skipped.err
    record = signed_record(governed, SAM, "security-officer", crmctl)
    _refused_as_requester(crmctl, record)
    approve(crmctl, TOMAS, "security-officer")
    assert apply(crmctl).exit_code == 0


def test_a_forged_author_on_the_manifest_commit_leaves_the_committer(governed, crmctl):
    replace_in(governed / PERMS, "    Account.Customer_Tier__c: [read]\n", "    Account.Customer_Tier__c: [read, edit]\n")  # fmt: skip
    git(governed, "add", PERMS, email=SAM)
    git(governed, "commit", "-q", "--author", f"Jonas <{JONAS}>", "-m", "Tier edit", email=SAM)
    record = signed_record(governed, SAM, "security-officer", crmctl)
    _refused_as_requester(crmctl, record)


def test_a_forged_author_and_committer_is_caught_by_the_signature_when_commits_are_signed(
    governed, crmctl
):
    write_governed_env(governed, signed=True)
    commit(governed, AUTHOR, "Signed commits", ENV, ssh_key=key_of(AUTHOR))
    from tests.governance.conftest import approve_governance_as

    approve_governance_as(crmctl, TOMAS)
    assert apply(crmctl).exit_code == 0  # v2
    replace_in(governed / PERMS, "    Account.Customer_Tier__c: [read]\n", "    Account.Customer_Tier__c: [read, edit]\n")  # fmt: skip
    # Sam claims to be Jonas as author and committer, but must sign with his own key.
    commit(governed, JONAS, "Tier edit", PERMS, ssh_key=key_of(SAM))
    record = signed_record(governed, SAM, "security-officer", crmctl)
    _refused_as_requester(crmctl, record)


def test_a_co_author_is_a_requester(governed, crmctl):
    replace_in(governed / PERMS, "    Account.Customer_Tier__c: [read]\n", "    Account.Customer_Tier__c: [read, edit]\n")  # fmt: skip
    commit(governed, AUTHOR, f"Tier edit\n\nCo-authored-by: Sam <{SAM}>", PERMS)
    record = signed_record(governed, SAM, "security-officer", crmctl)
    _refused_as_requester(crmctl, record)


def test_an_override_in_the_environment_file_is_requested_by_its_committer(governed, crmctl):
    with (governed / ENV).open("a") as out:
        out.write(
            "overrides:\n"
            "  - target: PermissionSet/Sales_Rep\n"
            "    spec:\n"
            "      description: Works accounts; may edit everything in gov.\n"
        )
    commit(governed, SAM, "An override for gov", ENV)  # the approver edits the environment file
    record = approve(crmctl, TOMAS, "security-officer", "Environment/gov")
    own = signed_record(governed, SAM, "security-officer", crmctl)
    refused = _refused_as_requester(crmctl, own)
    assert f"[{record}]" not in refused.err  # Tomas's approval of the governance change counts
    approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    assert apply(crmctl).exit_code == 0


def test_a_manifest_edit_hidden_with_skip_worktree_has_no_known_requester(governed, crmctl):
    # Sam edits the manifest without committing and hides the edit from git status.
    git(governed, "update-index", "--skip-worktree", PERMS)
    replace_in(governed / PERMS, "    Account.Customer_Tier__c: [read]\n", "    Account.Customer_Tier__c: [read, edit]\n")  # fmt: skip
    assert git(governed, "status", "--porcelain", "--", PERMS).strip() == ""
    record = signed_record(governed, TOMAS, "security-officer", crmctl)
    refused = apply(crmctl)
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} does not count: {PERMS} differs "
        "from the last commit (uncommitted or hidden edits), so who wrote it cannot be known: "
        f"commit it [{record}]"
    )
