"""Break-glass: who may apply without the missing approvals, and which such applies await review.

A break-glass apply is authorised by a `BreakGlass` record that its actor
signs with their SSH key (the actor is who the signature proves, never
`$CRMCTL_ACTOR`), naming the exact changes it applies. The history records
the record with the version it made, so every break-glass apply is listed
by `crmctl approvals` until, for every role whose approval it went without,
a holder of that role other than the actor has signed a review
(`crmctl approve --review ID`). Deleting the copy under
`approvals/<env>/break-glass/` changes nothing. After its `reviewBy` time a
waiting apply is marked overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crmctl.errors import ApprovalError
from crmctl.governance.facts import GitFacts
from crmctl.governance.policy import Policy
from crmctl.governance.records import ApprovalRecord, ApprovedChange, BreakGlassRecord
from crmctl.governance.status import record_problem

__all__ = ["BreakGlassStatus", "break_glass_status", "check_break_glass"]


@dataclass
class BreakGlassStatus:
    """One break-glass apply and how far its review has come."""

    record: BreakGlassRecord
    reviewed: dict[str, str] = field(default_factory=dict)  # role -> reviewer
    waiting: list[str] = field(default_factory=list)  # roles still to review
    not_counted: list[str] = field(default_factory=list)  # reviews that do not count, and why
    overdue: bool = False

    @property
    def done(self) -> bool:
        return not self.waiting


def break_glass_status(
    flags: list[BreakGlassRecord],
    records: list[ApprovalRecord],
    policy: Policy,
    facts: GitFacts,
    now: str,
) -> list[BreakGlassStatus]:
    """The review status of every break-glass apply; `now` is an ISO-8601 UTC time."""
    out = []
    for flag in flags:
        status = BreakGlassStatus(flag)
        for review in (r for r in records if r.reviews == flag.id):
            problem = record_problem(review, policy, facts)
            if problem is None and review.role not in flag.missing_roles:
                problem = f"{flag.id} did not go without {review.role}"
            if problem is None and review.approver.lower() == flag.actor.lower():
                problem = f"{review.approver} broke the glass and cannot review it"
            if problem:
                status.not_counted.append(
                    f"{review.role}: {review.approver}: {problem} [{review.path}]"
                )
            else:
                status.reviewed.setdefault(review.role, review.approver)
        status.waiting = [r for r in flag.missing_roles if r not in status.reviewed]
        status.overdue = bool(status.waiting) and now > flag.review_by
        out.append(status)
    return out


def check_break_glass(policy: Policy, actor: str, reason: str | None) -> None:
    """Refuse `apply --break-glass` unless the policy allows it and the actor holds its role."""
    bg = policy.break_glass
    env = policy.environment
    if not bg.enabled or not bg.role:
        raise ApprovalError(
            f"break-glass is not enabled for {env}; nothing was applied",
            hint=f"set approvals.breakGlass.enabled and .role in the environment file of {env}",
        )
    if not (reason or "").strip():
        raise ApprovalError(
            "--break-glass needs --reason saying why the approvals cannot wait; nothing was applied"
        )
    if not policy.holds(actor, bg.role):
        raise ApprovalError(
            f"{actor} does not hold the break-glass role {bg.role} in {env}'s policy; nothing was applied",
            hint=f"holders of {bg.role}: {', '.join(policy.holders(bg.role)) or 'none'}",
        )


def record_covers(record: BreakGlassRecord, changes: list[ApprovedChange]) -> bool:
    """Whether a break-glass record was signed for exactly these changes."""
    return sorted(record.changes, key=lambda c: c.address) == sorted(
        changes, key=lambda c: c.address
    )
