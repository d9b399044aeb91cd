"""Approval status from records, signature and git facts: pure, with the facts written by hand."""

from __future__ import annotations

from crmctl.governance.facts import GitFacts, RecordProvenance, Requesters
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
BY_MARIA = Requesters((MARIA,))
SIG = "-----BEGIN SSH SIGNATURE-----\n...\n-----END SSH SIGNATURE-----\n"


def policy(**extra) -> Policy:
    section = {
        "roles": {"security-officer": [TOMAS, SAM]},
        "rules": [{"name": "access", "require": ["security-officer"]}],
    }
    return Policy.from_section("prod", {**section, **extra})


def record(
    approver: str = TOMAS, path: str = "approvals/prod/a.yaml", signature: str | None = SIG, **entry
) -> ApprovalRecord:
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
        signature=signature,
    )


def facts(
    path: str = "approvals/prod/a.yaml",
    problem: str | None = None,
    requesters: Requesters = BY_MARIA,
    **prov,
) -> GitFacts:
    """Signature check result `problem` for the record at `path`; unsigned-record provenance."""
    git = GitFacts(True)
    git.signatures[path] = problem
    git.requesters["Role/CEO"] = requesters
    if prov:
        git.records[path] = RecordProvenance(
            **{"committed": True, "commit": "abc1234", "author": TOMAS, "committer": TOMAS, **prov}
        )
    return git


def problems(rec: ApprovalRecord, git: GitFacts, pol: Policy | None = None) -> list[str]:
    return change_status(CHANGE, NEEDS, pol or policy(), [rec], git).problems


def test_a_committed_approval_by_a_role_holder_counts():
    state = change_status(CHANGE, NEEDS, policy(), [record()], facts())
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
    assert problems(record(), facts(problem="its signature does not match its content")) == [
        "security-officer: tomas@x.example (CHG-1) does not count: its signature does not match "
        f"its content {path}"
    ]
    assert problems(record(approver=MARIA), facts()) == [
        "security-officer: maria@x.example (CHG-1) does not count: maria@x.example does not hold "
        f"the role security-officer in prod's policy {path}"
    ]
    assert problems(record(), facts(requesters=Requesters((MARIA, TOMAS)))) == [
        "security-officer: tomas@x.example (CHG-1) does not count: tomas@x.example is among the "
        "requesters of this change (authors, committers, co-authors and signers of its commits "
        f"since the last apply), and prod separates duties (separationOfDuties) {path}"
    ]
    unknown = Requesters((), ("x.yaml differs from the last commit",))
    assert problems(record(), facts(requesters=unknown)) == [
        "security-officer: tomas@x.example (CHG-1) does not count: x.yaml differs from the last "
        f"commit {path}"
    ]
    relaxed = policy(separationOfDuties=False)
    assert problems(record(), facts(requesters=Requesters((TOMAS,))), relaxed) == []


def test_unsigned_records_count_only_where_the_environment_allows_them():
    path = "[approvals/prod/a.yaml]"
    unsigned = record(signature=None)
    assert problems(unsigned, facts(committed=True)) == [
        "security-officer: tomas@x.example (CHG-1) does not count: it is not signed, and prod "
        f"counts only signed approvals (crmctl approve signs with your SSH key) {path}"
    ]
    allowed = policy(allowUnsignedApprovals=True)
    assert problems(unsigned, facts(committed=True), allowed) == []
    assert problems(unsigned, facts(committed=False), allowed) == [
        "security-officer: tomas@x.example (CHG-1) does not count: not committed yet, and an "
        f"unsigned approval counts only once its approver commits it {path}"
    ]
    assert problems(unsigned, facts(committer=MARIA), allowed) == [
        "security-officer: tomas@x.example (CHG-1) does not count: the commit that added it "
        f"(abc1234) was committed by maria@x.example, not by tomas@x.example {path}"
    ]
    assert problems(
        unsigned, facts(changed_by="by commit def5678 of maria@x.example"), allowed
    ) == [
        "security-officer: tomas@x.example (CHG-1) does not count: it was changed after commit "
        f"abc1234 added it (by commit def5678 of maria@x.example) {path}"
    ]


def test_min_approvers_counts_distinct_people():
    two = [Requirement("access", ("security-officer",), 2)]
    a = record(TOMAS, "approvals/prod/a.yaml")
    again = record(TOMAS, "approvals/prod/b.yaml")
    b = record(SAM, "approvals/prod/c.yaml")
    git = facts()
    git.signatures.update({"approvals/prod/b.yaml": None, "approvals/prod/c.yaml": None})
    once = change_status(CHANGE, two, policy(), [a, again], git)
    assert once.problems == ["rule access: needs 2 distinct approvers (security-officer); 1 so far"]
    assert [line.text() for line in once.lines] == [
        "security-officer: tomas@x.example (CHG-1)",
        "rule access: needs 2 distinct approvers (security-officer); 1 so far",
    ]
    assert change_status(CHANGE, two, policy(), [a, again, b], git).satisfied


def test_no_requirement_means_no_checklist():
    assert change_status(CHANGE, [], policy(), [record()], facts()) is None


def test_approvals_used_lists_the_records_behind_a_plan():
    plan = Plan("prod", changes=[CHANGE])
    CHANGE.approvals = change_status(CHANGE, NEEDS, policy(), [record()], facts())
    try:
        assert plan_problems(plan) == []
        assert approvals_used(plan) == [
            {
                "record": "approvals/prod/a.yaml",
                "id": record().id,
                "approver": TOMAS,
                "role": "security-officer",
                "ticket": "CHG-1",
                "changes": ["Role/CEO"],
            }
        ]
        CHANGE.approvals = change_status(CHANGE, NEEDS, policy(), [], facts())
        assert plan_problems(plan) == ["Role/CEO: security-officer: missing"]
        assert approvals_used(plan) == []
    finally:
        CHANGE.approvals = None


def test_a_record_id_is_the_digest_of_its_signed_content_whatever_its_file():
    assert record(path="a.yaml").id == record(path="copy.yaml").id
    assert record().id != record(approver=SAM).id
    assert len(record().id) == 64
