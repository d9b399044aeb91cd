"""Verify a plan's approvals: read the records, check their signatures, ask git and the history.

Not pure: it reads the approval files and the allowed-signers file, runs
`ssh-keygen` (through `sshsig`) and asks git (through `gitverify`). The
apply path calls it through `crmctl.governance.gate` right before every
apply, so a plan's approvals are never trusted from the plan itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crmctl.access.widening import widening_changes
from crmctl.config.environment import Environment
from crmctl.config.yamlsource import read_yaml_file
from crmctl.errors import ApprovalError, Diagnostic, Severity, SourceLocation
from crmctl.governance.breakglass import BreakGlassStatus, break_glass_status
from crmctl.governance.facts import GitFacts, GovernanceBaseline, Requesters
from crmctl.governance.gitverify import ProjectGit, gather_requesters, record_provenance
from crmctl.governance.matching import (
    Impacts,
    policy_requirements,
    required_roles,
    requirements_for,
)
from crmctl.governance.policy import Policy
from crmctl.governance.policy_change import (
    governance_state,
    owners_policy,
    policy_change,
    signers_text,
)
from crmctl.governance.records import (
    ApprovalRecord,
    BreakGlassRecord,
    MissingApproval,
    read_approvals,
)
from crmctl.governance.sshsig import SIGNERS_FILE, signature_problem
from crmctl.governance.status import change_status, plan_problems
from crmctl.model import Resource
from crmctl.plan import Change, Plan

__all__ = [
    "Governance",
    "HistoryFacts",
    "govern",
    "read_signers",
    "require_approvals",
    "missing_approvals",
]


@dataclass
class HistoryFacts:
    """What the environment's history says governance needs to know (read after a pull)."""

    baseline: GovernanceBaseline = field(default_factory=lambda: GovernanceBaseline(None))
    since: str | None = None  # the project commit of the last complete apply
    used: frozenset[str] = frozenset()  # ids of approval and break-glass records already used
    break_glass: list[BreakGlassRecord] = field(default_factory=list)  # every break-glass apply


@dataclass
class Governance:
    """What verifying a plan's approvals found, for reports beyond the plan itself."""

    policy: Policy
    records: list[ApprovalRecord] = field(default_factory=list)
    flags: list[BreakGlassRecord] = field(default_factory=list)
    facts: GitFacts = field(default_factory=lambda: GitFacts(repository=False))
    diagnostics: list[Diagnostic] = field(default_factory=list)  # unreadable records
    state: dict = field(default_factory=dict)  # the current governance settings
    signers: str = ""  # the allowed-signers file as it is now
    pseudo_requesters: Requesters | None = None  # who asked for the governance change

    def break_glass(self, now: datetime | None = None) -> list[BreakGlassStatus]:
        stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        return break_glass_status(self.flags, self.records, self.policy, self.facts, stamp)


def read_signers(project_dir: Path) -> str | None:
    """The project's allowed-signers file (None when there is none)."""
    path = project_dir / SIGNERS_FILE
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ApprovalError(f"{SIGNERS_FILE} is unreadable: {exc}") from None


def read_project_settings(project_dir: Path) -> dict | None:
    """The project settings file `crmctl.yaml` as a mapping (None when absent or unreadable:
    the configuration loader reports a broken one with its file and line)."""
    path = project_dir / "crmctl.yaml"
    if not path.is_file():
        return None
    docs, problems = read_yaml_file(path, "crmctl.yaml")
    if problems or len(docs) != 1 or not isinstance(docs[0].data, dict):
        return None
    return docs[0].data


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


def _files_of(env: Environment, resource: Resource | None) -> list[Path]:
    """The files whose commits requested a change: its manifest (and the environment file
    when an override shapes it); for a delete, every manifest folder and the environment file."""
    if resource is None or resource.source is None:
        return [*env.manifest_paths, env.file]
    files = [Path(os.path.abspath(resource.source.file))]
    if resource.overrides:
        files.append(env.file)
    return files


def _signature_facts(
    records: Iterable[ApprovalRecord], signers: str, identity_note: str
) -> dict[str, str | None]:
    return {
        r.path: signature_problem(r.payload, r.signature, signers, r.approver, identity_note)
        for r in records
        if r.signature is not None
    }


def govern(
    env: Environment,
    plan: Plan,
    resources: Mapping[str, Resource],
    history: HistoryFacts,
    impacts: Impacts = None,
    in_effect: Mapping[str, str] | None = None,
) -> Governance:
    """Set `requires` and `approvals` on every change of `plan` (and its governance change).

    `impacts`: each change's measured impact on stored records, for rules with
    an `impact` criterion (None: not measured, so those rules apply).
    `in_effect`: lower-case field -> its classification in effect now (`rule_matches`).

    Approvals are single-use: a record whose id the history lists as used
    no longer counts (an approval of A -> B cannot justify A -> B again later).
    """
    policy = Policy.from_section(env.name, env.approvals)
    all_records, problems = read_approvals(env.project_dir, env.name)
    records = [r for r in all_records if r.id not in history.used]
    signers = read_signers(env.project_dir)
    state = governance_state(env.data, signers, read_project_settings(env.project_dir))
    baseline = history.baseline
    owners = owners_policy(env.name, state, baseline)
    pseudo = policy_change(env.name, state, baseline, env.location("approvals"))
    if not owners.policy_owners:
        pseudo = None
    result = Governance(
        policy,
        records,
        list(history.break_glass),
        diagnostics=problems,
        state=state,
        signers=signers or "",
    )
    if signers is None and (policy.active or pseudo is not None) and env.approvals:
        result.diagnostics.append(
            Diagnostic(
                f"{SIGNERS_FILE} does not exist, so no signed approval can count",
                SourceLocation(SIGNERS_FILE, 1),
                hint="list each approver's SSH public key: EMAIL ssh-ed25519 AAAA... "
                "(docs/governance.md, Signing keys)",
                severity=Severity.WARNING,
                code="approval-record",
            )
        )
    if policy.active and not owners.policy_owners:
        result.diagnostics.append(
            Diagnostic(
                f"{env.name} has approval rules but no policyOwners: its governance settings "
                "(rules, roles, allowed signers, provider, ...) change without anyone's approval",
                env.location("approvals"),
                hint="name the roles that approve them: approvals.policyOwners: [security-officer]",
                severity=Severity.WARNING,
                code="policy-owners",
            )
        )
    if not policy.active and pseudo is None and not result.flags:
        for change in plan.changes:
            change.requires, change.approvals = [], None
        plan.policy_change = None
        return result
    files = {c.address: _files_of(env, resources.get(c.address)) for c in plan.changes}
    relevant = [r for r in records if r.reviews or any(c.address in files for c in r.changes)]
    facts = GitFacts(repository=True)
    project = ProjectGit(env.project_dir)  # asked about the changes, then the governance change
    facts.requesters = gather_requesters(
        env.project_dir,
        files,
        history.since,
        signers or "" if policy.require_signed_commits else None,
        SIGNERS_FILE,
        project,
    )
    facts.signatures = _signature_facts(relevant, signers or "", SIGNERS_FILE)
    if policy.allow_unsigned_approvals:
        facts.records = record_provenance(
            env.project_dir, [r.path for r in relevant if r.signature is None], project
        )
    result.facts = facts
    classes = field_classifications(resources.values(), plan.changes)
    widened = None
    watched = {c for rule in policy.rules for c in rule.access_widening}
    if watched:
        widened = widening_changes(resources, plan.changes, watched)
    for change in plan.changes:
        reqs = requirements_for(change, policy, classes, impacts, widened, in_effect)
        change.requires = required_roles(reqs)
        change.approvals = change_status(change, reqs, policy, records, facts)
    if pseudo is not None:
        pseudo_facts = _baseline_facts(
            env, pseudo, records, owners, baseline, history.since, project
        )
        reqs = policy_requirements(owners)
        pseudo.requires = required_roles(reqs)
        pseudo.approvals = change_status(pseudo, reqs, owners, records, pseudo_facts)
        result.pseudo_requesters = pseudo_facts.requesters.get(pseudo.address)
    plan.policy_change = pseudo
    return result


def _baseline_facts(
    env: Environment,
    pseudo: Change,
    records: list[ApprovalRecord],
    owners: Policy,
    baseline: GovernanceBaseline,
    since: str | None,
    project: ProjectGit,
) -> GitFacts:
    """Facts for the governance change: signatures checked against the signers as last applied."""
    if baseline.state is not None:
        signers = signers_text(baseline.state)
        name = f"the allowed signers as last applied (v{baseline.version})"
    else:
        signers = signers_text(pseudo.after)
        name = SIGNERS_FILE
    mine = [r for r in records if r.entry(pseudo.address) is not None]
    facts = GitFacts(repository=True)
    facts.requesters = gather_requesters(
        env.project_dir,
        {pseudo.address: [env.file, env.project_dir / SIGNERS_FILE]},
        since,
        signers if owners.require_signed_commits else None,
        name,
        project,
    )
    facts.signatures = _signature_facts(mine, signers, name)
    if owners.allow_unsigned_approvals:
        facts.records = record_provenance(
            env.project_dir, [r.path for r in mine if r.signature is None], project
        )
    return facts


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
    """Each approval line the plan still lacks, as a break-glass record lists it."""
    out: list[MissingApproval] = []
    for change in plan.changes:
        if change.approvals is None:
            continue
        for line in change.approvals.lines:
            if line.done:
                continue
            # A rule short of distinct approvers is reviewed by every role the change needs.
            roles = change.approvals.required if line.role.startswith("rule ") else [line.role]
            out.extend(MissingApproval(change.address, role, line.text()) for role in roles)
    return out
