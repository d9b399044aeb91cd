"""The approval gate of the apply path: every apply, rollback and recovery passes through here.

`Workspace.apply` calls `authorize` before it reads or writes anything in
the CRM, so a program that uses the library is governed exactly like the
CLI: the plan's own approval notes are ignored and everything is verified
again from the signed records, git and the history (pulled from its remote
first). `authorize` raises `ApprovalError` with every reason, or returns
the `Authorization` the history records with the new version: the
approvals it used (single-use, so no runner can use them again), the
governance settings (the next baseline), the project commit, and the
break-glass record when glass was broken.

The CLI only shows what `review` found and renders `ApprovalError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crmctl.config.environment import DEFAULT_ENVIRONMENT, Environment
from crmctl.errors import ApprovalError
from crmctl.governance.access_review import ReviewPolicy, review_age_problem
from crmctl.governance.breakglass import check_break_glass, record_covers
from crmctl.governance.facts import GovernanceBaseline
from crmctl.governance.gitverify import head_commit
from crmctl.governance.matching import Impacts
from crmctl.governance.policy import Policy
from crmctl.governance.records import (
    ApprovedChange,
    BreakGlassRecord,
    MissingApproval,
    break_glass_from_dict,
    new_break_glass,
)
from crmctl.governance.sshsig import SIGNERS_FILE, signature_problem
from crmctl.governance.status import approvals_used, duty_problem, plan_problems
from crmctl.governance.verify import (
    Governance,
    HistoryFacts,
    govern,
    missing_approvals,
    require_approvals,
)
from crmctl.model import Resource
from crmctl.plan import Change, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crmctl.history.store import HistoryStore

__all__ = [
    "Authorization",
    "authorize",
    "review",
    "history_facts",
    "approvable",
    "break_glass_request",
]


@dataclass
class Authorization:
    """Why an apply may go ahead; recorded with the version it makes."""

    approvals: list[dict[str, Any]] = field(default_factory=list)
    governance: dict[str, Any] | None = None
    governance_changed: bool = False
    project_commit: str | None = None
    complete: bool = False  # the plan covers every resource (no --target/--exclude, no rollback)
    break_glass: dict[str, Any] | None = None

    def history_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "approvals": self.approvals,
            "governance": self.governance,
            "projectCommit": self.project_commit,
            "complete": self.complete,
        }
        if self.break_glass is not None:
            meta["breakGlass"] = self.break_glass
        return meta


def history_facts(history: HistoryStore, env: str) -> HistoryFacts:
    """What the (freshly pulled) history says: baseline, last complete apply, used records."""
    if history.remote is not None:
        history.remote.pull()
    state, version = history.governance_baseline(env)
    return HistoryFacts(
        baseline=GovernanceBaseline(state, version),
        since=history.last_complete_apply(env),
        used=frozenset(history.approvals_used(env)),
        break_glass=[
            break_glass_from_dict(data, version, status)
            for data, version, status in history.break_glass_applies(env)
        ],
    )


def review(
    env: Environment,
    plan: Plan,
    resources: Mapping[str, Resource],
    history: HistoryStore,
    impacts: Impacts = None,
    in_effect: Mapping[str, str] | None = None,
) -> Governance:
    """Note every change's approvals on `plan` (for `plan`, `approvals`, `approve`); raises nothing."""
    return govern(env, plan, resources, history_facts(history, env.name), impacts, in_effect)


def _exempt(env: Environment) -> bool:
    return env.name == DEFAULT_ENVIRONMENT and env.provider.get("type") == "sandbox"


def _require_remote(env: Environment, history: HistoryStore, baseline: GovernanceBaseline) -> None:
    governed = (
        Policy.from_section(env.name, env.approvals).governed
        or Policy.from_section(env.name, (baseline.state or {}).get("approvals")).governed
    )
    if not governed or history.remote is not None or _exempt(env):
        return
    raise ApprovalError(
        f"{env.name} has approval rules but no history remote; nothing was applied. Approvals "
        "are single-use, and only a history shared by every runner (each CI job, each laptop) "
        "shows which were used already",
        hint=f"set history.remote in {env.file.name} to a git repository every runner can "
        "push to, e.g. history: {remote: git@github.com:northwind/crm-history.git}",
    )


def _require_access_review(env: Environment, plan: Plan, history: HistoryStore) -> None:
    """With `accessReview.requireBeforeApply`, a change of access needs a recent review."""
    policy = ReviewPolicy.from_section(env.approvals)
    if policy is None or not policy.required_before_apply:
        return
    problem = review_age_problem(
        policy, [c.kind for c in plan.changes], history.events(env.name), env.name
    )
    if problem is None:
        return
    raise ApprovalError(
        f"{problem}; nothing was applied",
        hint=f"review access first: crmctl access review start -e {env.name}, have the "
        f"reviewers attest (crmctl access review attest), then crmctl access review complete "
        f"-e {env.name}",
    )


def authorize(
    env: Environment,
    plan: Plan,
    resources: Mapping[str, Resource],
    history: HistoryStore,
    break_glass: BreakGlassRecord | None = None,
    impacts: Impacts = None,
    in_effect: Mapping[str, str] | None = None,
) -> Authorization:
    """Verify everything `plan` needs before it may change the CRM; raise ApprovalError if not.

    `break_glass`: a signed record authorising the apply without its missing
    approvals (never without the policy owners' approval of a governance change).
    `impacts`: the changes' impact on stored records, measured now by the caller
    (rules with an `impact` criterion apply to every change they match when None).
    `in_effect`: each field's classification in effect now (`rule_matches`).
    """
    facts = history_facts(history, env.name)
    _require_remote(env, history, facts.baseline)
    gov = govern(env, plan, resources, facts, impacts, in_effect)
    _require_access_review(env, plan, history)
    grant = Authorization(
        governance=gov.state,
        governance_changed=plan.policy_change is not None,
        project_commit=head_commit(env.project_dir),
        complete=not (plan.targets or plan.excludes or plan.rollback_to),
    )
    if break_glass is None:
        require_approvals(plan)
    else:
        grant.break_glass = _break_glass(env, plan, gov, facts, break_glass)
    grant.approvals = approvals_used(plan)
    return grant


def _break_glass(
    env: Environment,
    plan: Plan,
    gov: Governance,
    facts: HistoryFacts,
    record: BreakGlassRecord,
) -> dict[str, Any] | None:
    pseudo = plan.policy_change
    if pseudo is not None and pseudo.approvals is not None and not pseudo.approvals.satisfied:
        raise ApprovalError(
            "break-glass cannot stand in for the policy owners' approval of a governance change; "
            "nothing was applied:\n"
            + "\n".join(f"  - {pseudo.address}: {p}" for p in pseudo.approvals.problems),
            hint=f"crmctl approvals -e {env.name} shows who must approve it",
        )
    missing = missing_approvals(plan)
    if not missing:
        return None
    check_break_glass(gov.policy, record.actor, record.reason)
    problem = None
    if record.environment != env.name:
        problem = f"it was made for environment {record.environment}, not {env.name}"
    elif record.signature is None:
        problem = "it is not signed"
    else:
        problem = signature_problem(
            record.payload, record.signature, gov.signers, record.actor, SIGNERS_FILE
        )
    if problem is None and not record_covers(record, [ApprovedChange.of(c) for c in plan.changes]):
        problem = "it was signed for other changes than this plan's"
    if problem is None and record.id in facts.used:
        problem = f"break-glass record {record.id} was used already"
    if problem:
        raise ApprovalError(
            f"the break-glass record does not count: {problem}; nothing was applied"
        )
    data = {**record.content(), "signature": record.signature}
    data["missing"] = [
        {"address": m.address, "role": m.role, "problem": m.problem} for m in missing
    ]
    return data


def approvable(
    gov: Governance, plan: Plan, changes: list[Change], approver: str
) -> tuple[list[Change], list[tuple[Change, str]]]:
    """The changes `approver` may approve, and those separation of duties keeps from them."""
    ok, skipped = [], []
    for change in changes:
        policy = gov.policy
        requesters = gov.facts.requesters.get(change.address)
        if change is plan.policy_change:
            requesters = gov.pseudo_requesters
        problem = duty_problem(approver, requesters, policy)
        (skipped.append((change, problem)) if problem else ok.append(change))
    return ok, skipped


def break_glass_request(
    env: Environment, plan: Plan, actor: str, reason: str | None
) -> BreakGlassRecord | None:
    """The unsigned break-glass record for `plan` (None when no approval is missing)."""
    policy = Policy.from_section(env.name, env.approvals)
    check_break_glass(policy, actor, reason)
    missing: list[MissingApproval] = missing_approvals(plan)
    if not missing or plan_problems(plan) == []:
        return None
    return new_break_glass(
        env.project_dir,
        env.name,
        actor,
        policy.break_glass.role or "",
        reason or "",
        policy.break_glass.review_within_days,
        [ApprovedChange.of(c) for c in plan.changes],
        missing,
    )
