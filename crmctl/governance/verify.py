"""Verify a plan's approvals: read the records, ask git, and note each change's status on it.

Not pure: it reads the approval files and asks git (through `gitverify`).
The CLI calls it after every plan and again right before an apply, so a
saved plan's approvals are never trusted from the file.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crmctl.config.environment import Environment
from crmctl.errors import ApprovalError, Diagnostic
from crmctl.governance.breakglass import BreakGlassStatus, break_glass_status
from crmctl.governance.facts import GitFacts
from crmctl.governance.gitverify import gather_facts, policy_baseline
from crmctl.governance.matching import policy_requirements, required_roles, requirements_for
from crmctl.governance.policy import Policy
from crmctl.governance.policy_change import owners_policy, policy_change
from crmctl.governance.records import (
    ApprovalRecord,
    BreakGlassRecord,
    MissingApproval,
    read_approvals,
    read_break_glass,
)
from crmctl.governance.status import change_status, plan_problems
from crmctl.model import Resource
from crmctl.plan import Change, Plan

__all__ = ["Governance", "govern", "require_approvals", "missing_approvals"]


@dataclass
class Governance:
    """What verifying a plan's approvals found, for reports beyond the plan itself."""

    policy: Policy
    records: list[ApprovalRecord] = field(default_factory=list)
    flags: list[BreakGlassRecord] = field(default_factory=list)
    facts: GitFacts = field(default_factory=lambda: GitFacts(repository=False))
    diagnostics: list[Diagnostic] = field(default_factory=list)  # unreadable records

    def break_glass(self, now: datetime | None = None) -> list[BreakGlassStatus]:
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        return break_glass_status(self.flags, self.records, self.policy, self.facts, stamp)


def field_classifications(
    resources: Iterable[Resource], changes: Iterable[Change]
) -> dict[str, str]:
    """Classification of every field (lower-case Object.Field): desired first, then as planned."""
    out: dict[str, str] = {}
    for change in changes:
        if change.kind == "CustomField":
            for spec in (change.before, change.after):
                if spec and spec.get("classification"):
                    out.setdefault(change.name.lower(), spec["classification"])
    for res in resources:
        if res.kind == "CustomField" and res.spec.get("classification"):
            out[res.name.lower()] = res.spec["classification"]
    return out


def _file_of(resource: Resource | None) -> Path | None:
    if resource is None or resource.source is None:
        return None
    return Path(os.path.abspath(resource.source.file))


def govern(
    env: Environment,
    plan: Plan,
    resources: Mapping[str, Resource],
    actor: str,
    used: Collection[str] = (),
) -> Governance:
    """Set `requires` and `approvals` on every change of `plan` (and its policy change).

    `used`: record paths an earlier apply already used; approvals are single-use,
    so they no longer count (an approval of A -> B cannot justify A -> B again later).
    """
    policy = Policy.from_section(env.name, env.approvals)
    records, problems = read_approvals(env.project_dir, env.name)
    spent = set(used)
    # The policy pseudo-change stays in every plan until the policy changes again,
    # so approvals of it alone are never spent.
    records = [
        r
        for r in records
        if r.path not in spent or all(c.address.startswith("Environment/") for c in r.changes)
    ]
    flags, flag_problems = read_break_glass(env.project_dir, env.name)
    baseline = policy_baseline(env.project_dir, env.file, env.approvals or None, actor)
    pseudo = policy_change(
        env.name, env.approvals, baseline, env.location("approvals") if env.approvals else None
    )
    owners = owners_policy(env.name, env.approvals, baseline) if pseudo and baseline else None
    if owners is not None and not owners.policy_owners:
        pseudo = owners = None
    result = Governance(policy, records, flags, diagnostics=[*problems, *flag_problems])
    if not policy.active and pseudo is None and not flags:
        for change in plan.changes:
            change.requires, change.approvals = [], None
        plan.policy_change = None
        return result
    files = {c.address: _file_of(resources.get(c.address)) for c in plan.changes}
    if pseudo is not None:
        files[pseudo.address] = env.file
    # Only records about this plan (or reviewing a flag) are asked about: old ones pile up.
    relevant = [r.path for r in records if r.reviews or any(c.address in files for c in r.changes)]
    result.facts = gather_facts(
        env.project_dir,
        relevant + [f.path for f in flags],
        files,
        env.manifest_paths,
        actor,
        check_signatures=policy.require_signed_commits
        or bool(owners and owners.require_signed_commits),
    )
    classes = field_classifications(resources.values(), plan.changes)
    for change in plan.changes:
        reqs = requirements_for(change, policy, classes)
        change.requires = required_roles(reqs)
        author = result.facts.authors.get(change.address, actor)
        change.approvals = change_status(change, reqs, policy, records, result.facts, author)
    if pseudo is not None and owners is not None and baseline is not None:
        reqs = policy_requirements(owners)
        pseudo.requires = required_roles(reqs)
        pseudo.approvals = change_status(
            pseudo, reqs, owners, records, result.facts, baseline.author
        )
    plan.policy_change = pseudo
    return result


def require_approvals(plan: Plan) -> None:
    """Raise ApprovalError listing every missing, stale or unverifiable approval."""
    problems = plan_problems(plan)
    if not problems:
        return
    n = len(problems)
    raise ApprovalError(
        f"{n} required approval{'s are' if n != 1 else ' is'} missing or do{'es' * (n == 1)} "
        f"not count; nothing was applied:\n" + "\n".join(f"  - {p}" for p in problems),
        hint=f"crmctl approvals -e {plan.environment} shows who approved what; "
        f"an approver records one with: crmctl approve -e {plan.environment} --role ROLE --ticket ID",
    )


def missing_approvals(plan: Plan) -> list[MissingApproval]:
    """Each approval line the plan still lacks, as a break-glass flag records it."""
    out = []
    for change in [*plan.changes, *([plan.policy_change] if plan.policy_change else [])]:
        if change.approvals is None:
            continue
        for line in change.approvals.lines:
            if line.done:
                continue
            # A rule short of distinct approvers is reviewed by every role the change needs.
            roles = change.approvals.required if line.role.startswith("rule ") else [line.role]
            out.extend(MissingApproval(change.address, role, line.text()) for role in roles)
    return out
