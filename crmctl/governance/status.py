"""Which approvals a change has, which are missing and why: pure decisions over plain facts.

An approval record counts for a change when all of these hold (checked in
this order; the first that fails is the reason shown):

1. it approved this exact change: same action, same digest of the desired
   spec, same digest of the live spec (otherwise it is *stale*);
2. it is committed: a commit in the project's history added the file, and
   nothing changed it afterwards;
3. that commit's author is the approver named in the record;
4. with `requireSignedCommits`, that commit's signature verifies and was
   made by the approver's key;
5. the approver holds the record's role in the environment's policy;
6. with `separationOfDuties`, the approver is not the change's author.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmctl.governance.facts import BAD, UNSIGNED, GitFacts
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

__all__ = ["record_problem", "change_status", "approvals_used", "plan_problems"]

COMMIT_HINT = "not committed yet (commit it: git add approvals/ && git commit)"


def record_problem(record: ApprovalRecord, policy: Policy, facts: GitFacts) -> str | None:
    """Why a record cannot count at all (checks 2-5), or None when it can."""
    if not facts.repository:
        return "the project is not a git repository, so no approval can be verified"
    prov = facts.records.get(record.path)
    if prov is None or not prov.committed:
        return COMMIT_HINT
    if prov.changed_by:
        return f"it was changed after commit {prov.commit} added it ({prov.changed_by})"
    if (prov.author or "").lower() != record.approver.lower():
        return f"the commit that added it ({prov.commit}) was authored by {prov.author}, not by {record.approver}"
    if policy.require_signed_commits:
        env = policy.environment
        if prov.signature == UNSIGNED or prov.signature is None:
            return f"commit {prov.commit} is not signed, and {env} requires signed commits"
        if prov.signature == BAD:
            return f"the signature of commit {prov.commit} does not verify: {prov.signature_detail}"
        if (prov.signer or "").lower() != record.approver.lower():
            return f"commit {prov.commit} is signed by {prov.signer or 'an unknown key'}, not by {record.approver}"
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


def _line(record: ApprovalRecord, state: str, commit: str | None, detail: str = "") -> ApprovalLine:
    return ApprovalLine(
        record.role, state, record.approver, record.ticket, record.path, commit, detail
    )


def _judge(
    record: ApprovalRecord, change: Change, policy: Policy, facts: GitFacts, author: str | None
) -> ApprovalLine:
    prov = facts.records.get(record.path)
    commit = prov.commit if prov else None
    stale = _staleness(record, change)
    if stale:
        return _line(record, STALE, commit, stale)
    problem = record_problem(record, policy, facts)
    if problem:
        return _line(record, NOT_COUNTED, commit, f"{problem} [{record.path}]")
    if policy.separation_of_duties and author and author.lower() == record.approver.lower():
        return _line(
            record,
            NOT_COUNTED,
            commit,
            f"{record.approver} authored this change, and {policy.environment} separates duties "
            f"(separationOfDuties) [{record.path}]",
        )
    return _line(record, APPROVED, commit)


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
    author: str | None,
) -> ApprovalState | None:
    """The approvals checklist of one change; None when it needs no approval."""
    if not requirements:
        return None
    roles = required_roles(requirements)
    judged = [
        (r, _judge(r, change, policy, facts, author))
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

    Meant for the history: store it with the version that applied the plan.
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
                    "commit": line.commit,
                    "approver": line.approver,
                    "role": line.role,
                    "ticket": line.ticket,
                    "changes": [],
                },
            )
            entry["changes"].append(change.address)
    return sorted(used.values(), key=lambda e: e["record"])
