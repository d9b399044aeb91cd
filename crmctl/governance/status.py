"""Which approvals a change has, which are missing and why: pure decisions over plain facts.

An approval record counts for a change when all of these hold (checked in
this order; the first that fails is the reason shown):

1. it approved this exact change: same action, same digest of the desired
   spec, same digest of the live spec (otherwise it is *stale*);
2. its SSH signature over its content verifies with a key that the allowed
   signers list for the approver it names (where the environment says
   `allowUnsignedApprovals`, an unsigned record instead needs a commit that
   added it, authored and committed by its approver, and unchanged since);
3. the approver holds the record's role in the environment's policy;
4. with `separationOfDuties`, the requesters of the change are known and the
   approver is not one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmctl.governance.facts import GitFacts, Requesters
from crmctl.governance.matching import Requirement, required_roles
from crmctl.governance.policy import Policy
from crmctl.governance.records import ApprovalRecord
from crmctl.plan import Change, Plan, fingerprint
from crmctl.plan.approval_state import (
    APPROVED,
    MISSING,
    NOT_COUNTED,
    STALE,
    ApprovalLine,
    ApprovalState,
)

__all__ = [
    "record_problem",
    "duty_problem",
    "change_status",
    "approvals_used",
    "plan_problems",
]


def _unsigned_problem(record: ApprovalRecord, policy: Policy, facts: GitFacts) -> str | None:
    env = policy.environment
    if not policy.allow_unsigned_approvals:
        return (
            f"it is not signed, and {env} counts only signed approvals "
            f"(crmctl approve signs with your SSH key)"
        )
    prov = facts.records.get(record.path)
    if prov is None or not prov.committed:
        return (
            "not committed yet, and an unsigned approval counts only once its approver commits it"
        )
    if prov.changed_by:
        return f"it was changed after commit {prov.commit} added it ({prov.changed_by})"
    for who, email in (("authored", prov.author), ("committed", prov.committer)):
        if (email or "").lower() != record.approver.lower():
            return f"the commit that added it ({prov.commit}) was {who} by {email}, not by {record.approver}"
    return None


def record_problem(record: ApprovalRecord, policy: Policy, facts: GitFacts) -> str | None:
    """Why a record cannot count at all (checks 2-3), or None when it can."""
    if record.signature is None:
        problem = _unsigned_problem(record, policy, facts)
    else:
        problem = facts.signatures.get(record.path, "its signature was not checked")
    if problem:
        return problem
    if not policy.holds(record.approver, record.role):
        return f"{record.approver} does not hold the role {record.role} in {policy.title}"
    return None


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _staleness(record: ApprovalRecord, change: Change) -> str | None:
    entry = record.entry(change.address)
    if entry is None:
        return None
    if entry.action != change.action.word:
        return f"approved it as {_a(entry.action)}; it is now {_a(change.action.word)}"
    if entry.desired != fingerprint(change.after):
        return "approved an earlier version of the desired spec"
    if entry.live != change.live_fingerprint:
        return "approved it against a different live state"
    return None


def _line(record: ApprovalRecord, state: str, detail: str = "") -> ApprovalLine:
    return ApprovalLine(
        record.role, state, record.approver, record.ticket, record.path, record.id, detail
    )


def duty_problem(approver: str, requesters: Requesters | None, policy: Policy) -> str | None:
    """Why separation of duties forbids `approver` to approve a change, or None."""
    if not policy.separation_of_duties:
        return None
    if requesters is None:
        return "who asked for this change is not known"
    if requesters.problems:
        return requesters.problems[0]
    if approver.lower() in requesters.people:
        return (
            f"{approver} is among the requesters of this change (authors, committers, co-authors "
            f"and signers of its commits since the last apply), and {policy.environment} "
            "separates duties (separationOfDuties)"
        )
    return None


def _judge(
    record: ApprovalRecord,
    change: Change,
    policy: Policy,
    facts: GitFacts,
    requesters: Requesters | None,
) -> ApprovalLine:
    stale = _staleness(record, change)
    if stale:
        return _line(record, STALE, stale)
    problem = record_problem(record, policy, facts) or duty_problem(
        record.approver, requesters, policy
    )
    if problem:
        return _line(record, NOT_COUNTED, f"{problem} [{record.path}]")
    return _line(record, APPROVED)


def _one_per_approver(lines: Iterable[ApprovalLine]) -> list[ApprovalLine]:
    """Approvals of one role, one per approver (approving twice is still one person), by approver."""
    best: dict[str, ApprovalLine] = {}
    for line in lines:
        best.setdefault((line.approver or "").lower(), line)
    return sorted(best.values(), key=lambda line: (line.approver or "", line.record or ""))


def change_status(
    change: Change,
    requirements: list[Requirement],
    policy: Policy,
    records: list[ApprovalRecord],
    facts: GitFacts,
) -> ApprovalState | None:
    """The approvals checklist of one change; None when it needs no approval."""
    if not requirements:
        return None
    roles = required_roles(requirements)
    requesters = facts.requesters.get(change.address)
    author = requesters.text() if requesters is not None else None
    judged = [
        (r, _judge(r, change, policy, facts, requesters))
        for r in records
        if r.role in roles and r.entry(change.address) is not None and not r.reviews
    ]
    state = ApprovalState(roles, [req.rule for req in requirements], author=author)
    approved: dict[str, set[str]] = {role: set() for role in roles}
    for role in roles:
        lines = [line for r, line in sorted(judged, key=lambda rl: rl[0].path) if r.role == role]
        good = _one_per_approver(line for line in lines if line.done)
        if good:
            state.lines.extend(good)
            approved[role] = {line.approver.lower() for line in good if line.approver}
            continue
        bad = lines or [ApprovalLine(role, MISSING)]
        state.lines.extend(bad)
        state.problems.extend(line.text() for line in bad)
    for req in requirements:
        people = set().union(*(approved[role] for role in req.roles))
        if req.min_approvers > 1 and len(people) < req.min_approvers:
            line = ApprovalLine(
                f"rule {req.rule}",
                MISSING,
                detail=f"needs {req.min_approvers} distinct approvers ({', '.join(req.roles)}); "
                f"{len(people)} so far",
            )
            state.lines.append(line)
            state.problems.append(line.text())
    return state


def _all_changes(plan: Plan) -> list[Change]:
    return [*plan.changes, *([plan.policy_change] if plan.policy_change else [])]


def plan_problems(plan: Plan) -> list[str]:
    """`address: problem` for every approval the plan still lacks (empty: it may be applied)."""
    return [
        f"{change.address}: {problem}"
        for change in _all_changes(plan)
        if change.approvals is not None
        for problem in change.approvals.problems
    ]


def approvals_used(plan: Plan) -> list[dict[str, Any]]:
    """The approval records that justified an annotated plan, one entry per record file.

    Meant for the history: store it with the version that applied the plan;
    `id` (the digest of the signed content) is what marks it used.
    """
    used: dict[str, dict[str, Any]] = {}
    for change in _all_changes(plan):
        for line in change.approvals.lines if change.approvals else ():
            if not line.done or line.record is None:
                continue
            entry = used.setdefault(
                line.record,
                {
                    "record": line.record,
                    "id": line.record_id,
                    "approver": line.approver,
                    "role": line.role,
                    "ticket": line.ticket,
                    "changes": [],
                },
            )
            entry["changes"].append(change.address)
    return sorted(used.values(), key=lambda e: e["record"])
