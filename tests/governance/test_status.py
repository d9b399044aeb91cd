"""Approval status from records and git facts: pure, with the facts written by hand."""

from __future__ import annotations

from crmctl.governance.facts import BAD, GOOD, UNSIGNED, GitFacts, RecordProvenance
from crmctl.governance.matching import Requirement
from crmctl.governance.policy import Policy
from crmctl.governance.records import ApprovalRecord, ApprovedChange
from crmctl.governance.status import approvals_used, change_status, plan_problems
from crmctl.plan import Action, Change, Plan, diff_specs, fingerprint

TOMAS, SAM, MARIA = "tomas@x.example", "sam@x.example", "maria@x.example"
BEFORE, AFTER = {"label": "Old"}, {"label": "New"}
CHANGE = Change(
    "Role", "CEO", Action.UPDATE, BEFORE, AFTER, diff_specs(BEFORE, AFTER), fingerprint(BEFORE), ""
)
NEEDS = [Requirement("access", ("security-officer",))]


def policy(**extra) -> Policy:
    section = {
        "roles": {"security-officer": [TOMAS, SAM]},
        "rules": [{"name": "access", "require": ["security-officer"]}],
    }
    return Policy.from_section("prod", {**section, **extra})


def record(approver: str = TOMAS, path: str = "approvals/prod/a.yaml", **entry) -> ApprovalRecord:
    approved = ApprovedChange("Role/CEO", "update", fingerprint(AFTER), fingerprint(BEFORE))
    approved = ApprovedChange(**{**approved.to_dict(), **entry})
    return ApprovalRecord(
        path,
        "prod",
        approver,
        "security-officer",
        "2025-01-01T00:00:00+00:00",
        (approved,),
        "CHG-1",
    )


def facts(path: str = "approvals/prod/a.yaml", **prov) -> GitFacts:
    return GitFacts(
        True,
        {
            path: RecordProvenance(
                **{"committed": True, "commit": "abc1234", "author": TOMAS, **prov}
            )
        },
    )


def problems(
    rec: ApprovalRecord, git: GitFacts, pol: Policy | None = None, author: str = MARIA
) -> list[str]:
    return change_status(CHANGE, NEEDS, pol or policy(), [rec], git, author).problems


def test_a_committed_approval_by_a_role_holder_counts():
    state = change_status(CHANGE, NEEDS, policy(), [record()], facts(), MARIA)
    assert state.satisfied and state.required == ["security-officer"] and state.rules == ["access"]
    assert [line.text() for line in state.lines] == ["security-officer: tomas@x.example (CHG-1)"]


def test_each_reason_an_approval_does_not_count():
    path = "[approvals/prod/a.yaml]"
    assert problems(record(desired="0" * 64), facts()) == [
        "security-officer: stale: tomas@x.example (CHG-1) approved an earlier version of the desired spec"
    ]
    assert problems(record(live=None), facts()) == [
        "security-officer: stale: tomas@x.example (CHG-1) approved it against a different live state"
    ]
    assert problems(record(action="delete"), facts()) == [
        "security-officer: stale: tomas@x.example (CHG-1) approved it as a delete; it is now an update"
    ]
    assert problems(record(), GitFacts(False)) == [
        "security-officer: tomas@x.example (CHG-1) does not count: the project is not a git "
        f"repository, so no approval can be verified {path}"
    ]
    assert problems(record(), facts(committed=False)) == [
        "security-officer: tomas@x.example (CHG-1) does not count: not committed yet (commit it: "
        f"git add approvals/ && git commit) {path}"
    ]
    assert problems(record(), facts(author=MARIA)) == [
        "security-officer: tomas@x.example (CHG-1) does not count: the commit that added it "
        f"(abc1234) was authored by maria@x.example, not by tomas@x.example {path}"
    ]
    assert problems(record(approver=MARIA), facts(author=MARIA)) == [
        "security-officer: maria@x.example (CHG-1) does not count: maria@x.example does not hold "
        f"the role security-officer in prod's policy {path}"
    ]
    assert problems(record(), facts(), author=TOMAS) == [
        "security-officer: tomas@x.example (CHG-1) does not count: tomas@x.example authored this "
        f"change, and prod separates duties (separationOfDuties) {path}"
    ]
    assert problems(record(), facts(), policy(separationOfDuties=False), author=TOMAS) == []


def test_signatures_when_the_policy_requires_them():
    signed = policy(requireSignedCommits=True)
    path = "[approvals/prod/a.yaml]"
    assert problems(record(), facts(signature=UNSIGNED), signed) == [
        "security-officer: tomas@x.example (CHG-1) does not count: commit abc1234 is not signed, "
        f"and prod requires signed commits {path}"
    ]
    assert problems(
        record(), facts(signature=BAD, signature_detail="the signature is bad"), signed
    ) == [
        "security-officer: tomas@x.example (CHG-1) does not count: the signature of commit abc1234 "
        f"does not verify: the signature is bad {path}"
    ]
    assert problems(record(), facts(signature=GOOD, signer=SAM), signed) == [
        "security-officer: tomas@x.example (CHG-1) does not count: commit abc1234 is signed by "
        f"sam@x.example, not by tomas@x.example {path}"
    ]
    assert problems(record(), facts(signature=GOOD, signer="TOMAS@x.example"), signed) == []
    assert problems(record(), facts(signature=UNSIGNED)) == []  # not required


def test_min_approvers_counts_distinct_people():
    two = [Requirement("access", ("security-officer",), 2)]
    a = record(TOMAS, "approvals/prod/a.yaml")
    again = record(TOMAS, "approvals/prod/b.yaml")
    b = record(SAM, "approvals/prod/c.yaml")
    git = GitFacts(True, {
        "approvals/prod/a.yaml": RecordProvenance(True, "a", TOMAS),
        "approvals/prod/b.yaml": RecordProvenance(True, "b", TOMAS),
        "approvals/prod/c.yaml": RecordProvenance(True, "c", SAM),
    })  # fmt: skip
    once = change_status(CHANGE, two, policy(), [a, again], git, MARIA)
    assert once.problems == ["rule access: needs 2 distinct approvers (security-officer); 1 so far"]
    assert [line.text() for line in once.lines] == [
        "security-officer: tomas@x.example (CHG-1)",
        "rule access: needs 2 distinct approvers (security-officer); 1 so far",
    ]
    assert change_status(CHANGE, two, policy(), [a, again, b], git, MARIA).satisfied


def test_no_requirement_means_no_checklist():
    assert change_status(CHANGE, [], policy(), [record()], facts(), MARIA) is None


def test_approvals_used_lists_the_records_behind_a_plan():
    plan = Plan("prod", changes=[CHANGE])
    CHANGE.approvals = change_status(CHANGE, NEEDS, policy(), [record()], facts(), MARIA)
    try:
        assert plan_problems(plan) == []
        assert approvals_used(plan) == [
            {
                "record": "approvals/prod/a.yaml",
                "commit": "abc1234",
                "approver": TOMAS,
                "role": "security-officer",
                "ticket": "CHG-1",
                "changes": ["Role/CEO"],
            }
        ]
        CHANGE.approvals = change_status(CHANGE, NEEDS, policy(), [], facts(), MARIA)
        assert plan_problems(plan) == ["Role/CEO: security-officer: missing"]
        assert approvals_used(plan) == []
    finally:
        CHANGE.approvals = None
