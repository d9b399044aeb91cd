"""Legitimate pull-request workflows keep signed approvals valid: squash, rebase, cherry-pick.

The approver signs on the pull-request branch; the branch then reaches main
rewritten (new commits, new authors or committers, no signatures). The
record's signature covers its content, so it still counts.
"""

from __future__ import annotations

from tests.governance.conftest import approve_governance_as, write_governed_env
from tests.governance.gitrepo import AUTHOR, commit, git
from tests.governance.keys import key_of
from tests.governance.test_approvals import JONAS, TOMAS, apply, approve, grant_tier_edit

DONE = "Apply complete: 0 added, 1 changed, 0 destroyed. Recorded as v{n} of gov.\n"
APPROVED = "        [x] security-officer: tomas.berg@northwind.example\n"


def pull_request(root, crmctl) -> str:
    """Maria's change and Tomas's signed approval, both committed on branch `feature`."""
    git(root, "checkout", "-q", "-b", "feature")
    grant_tier_edit(root)
    record = approve(crmctl, TOMAS, "security-officer")
    commit(root, TOMAS, "Approve the tier edit", record)
    git(root, "checkout", "-q", "main")
    return record


def test_a_squash_merge_keeps_the_approval(governed, crmctl):
    record = pull_request(governed, crmctl)
    git(governed, "merge", "-q", "--squash", "feature")
    commit(governed, AUTHOR, "Sales reps may edit the customer tier (#12)")  # authored by Maria
    assert git(governed, "log", "-1", "--format=%ae", "--", record).strip() == AUTHOR
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert APPROVED in done.out
    assert done.out.endswith(DONE.format(n=2))


def test_a_rebase_merge_keeps_the_approval(governed, crmctl):
    pull_request(governed, crmctl)
    (governed / "NOTES.md").write_text("Unrelated work on main.\n")
    commit(governed, JONAS, "Notes", "NOTES.md")
    git(governed, "checkout", "-q", "feature")
    git(governed, "rebase", "-q", "main", email=JONAS)  # rewritten: Jonas commits them now
    git(governed, "checkout", "-q", "main")
    git(governed, "merge", "-q", "--ff-only", "feature")
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert (
        "(requested by: jonas.lindqvist@northwind.example, maria.garcia@northwind.example)"
        in done.out
    )
    assert APPROVED in done.out


def test_a_re_signed_rebase_keeps_the_approval_where_signed_commits_are_required(governed, crmctl):
    write_governed_env(governed, signed=True)
    commit(governed, AUTHOR, "Commits must be signed", "environments", ssh_key=key_of(AUTHOR))
    approve_governance_as(crmctl, TOMAS)
    assert apply(crmctl).exit_code == 0  # v2
    git(governed, "checkout", "-q", "-b", "feature")
    grant_tier_edit_signed = governed / "manifests/access/permission-sets.yaml"
    text = grant_tier_edit_signed.read_text()
    grant_tier_edit_signed.write_text(
        text.replace(
            "    Account.Customer_Tier__c: [read]\n", "    Account.Customer_Tier__c: [read, edit]\n"
        )
    )
    commit(governed, AUTHOR, "Tier edit", ssh_key=key_of(AUTHOR))
    record = approve(crmctl, TOMAS, "security-officer")
    commit(governed, TOMAS, "Approve", record, ssh_key=key_of(TOMAS))
    git(governed, "checkout", "-q", "main")
    (governed / "NOTES.md").write_text("Unrelated work on main.\n")
    commit(governed, JONAS, "Notes", "NOTES.md", ssh_key=key_of(JONAS))
    git(governed, "checkout", "-q", "feature")
    git(governed, "-c", "gpg.format=ssh", "-c", f"user.signingkey={key_of(JONAS)}",
        "rebase", "-q", "--gpg-sign", "main", email=JONAS)  # fmt: skip
    git(governed, "checkout", "-q", "main")
    git(governed, "merge", "-q", "--ff-only", "feature")
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert APPROVED in done.out
    assert done.out.endswith(DONE.format(n=3))


def test_a_cherry_pick_keeps_the_approval(governed, crmctl):
    pull_request(governed, crmctl)
    for sha in git(governed, "rev-list", "--reverse", "main..feature").split():
        git(governed, "cherry-pick", sha, email=AUTHOR)  # Maria commits both picks
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert APPROVED in done.out
    assert done.out.endswith(DONE.format(n=2))
