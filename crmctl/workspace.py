"""One environment opened for work: its manifests, its CRM and its history.

This is the library behind `plan` and `apply`; the CLI only parses
arguments, calls one method here and renders the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crmctl import __version__
from crmctl.config.environment import Environment, display_path
from crmctl.config.loader import load_desired_state
from crmctl.errors import CrmctlError, ManifestError, PlanError
from crmctl.history import HistoryStore, VersionRecord, current_actor
from crmctl.kinds import KINDS
from crmctl.model import DesiredState, Resource
from crmctl.plan import (
    Action,
    Change,
    Plan,
    PlanInputs,
    canonical,
    fingerprint,
    make_plan,
    matches_any,
)
from crmctl.plan.encode import plan_to_dict
from crmctl.providers import ApplyResult, ChangeFailure, Provider, create_provider

__all__ = ["Workspace", "ApplyOutcome", "manifests_digest"]

Progress = Callable[[int, int], None]
#: Changes handed to the provider at a time (progress is reported between chunks).
CHUNK = 200


def manifests_digest(env: Environment, files: Iterable) -> str:
    """sha256 of the environment file and every manifest file (path and content)."""
    digest = hashlib.sha256()
    for path in [env.file, *sorted(files)]:
        digest.update(display_path(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class ApplyOutcome:
    """What an apply did: each change applied, the one that failed, those never attempted."""

    plan: Plan
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    not_applied: list[Change] = field(default_factory=list)
    version: int | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def status(self) -> str:
        if not self.plan.changes:
            return "no changes"
        return "applied" if self.ok else "failed, partial"


def _snapshot(resources: Iterable[Resource]) -> dict[str, dict]:
    return {
        r.address: canonical(r.kind, r.spec) for r in sorted(resources, key=lambda r: r.address)
    }


class Workspace:
    """An environment with its provider and history, opened for planning and applying."""

    def __init__(self, env: Environment, provider: Provider | None = None) -> None:
        self.env = env
        self._provider = provider
        self.history = HistoryStore(env.history_path)
        self._desired: DesiredState | None = None

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = create_provider(self.env)
        return self._provider

    def desired(self) -> DesiredState:
        """The validated desired state; raises ManifestError listing every problem."""
        if self._desired is None:
            state = load_desired_state(self.env)
            if state.errors:
                count = len(state.errors)
                raise ManifestError(
                    f"the manifests have {count} problem{'s' * (count != 1)}; nothing was planned",
                    diagnostics=state.errors,
                    hint="fix them and run again (crmctl validate shows the same list)",
                )
            self._desired = state
        return self._desired

    def digest(self) -> str:
        return manifests_digest(self.env, self.desired().files)

    def read_live(self) -> dict[str, Resource]:
        kinds = [k for k in KINDS if k in self.provider.supported_kinds()]
        return {r.address: r for r in self.provider.read(kinds)}

    def plan(self, targets: Iterable[str] = (), excludes: Iterable[str] = ()) -> Plan:
        """Compare the manifests with the live CRM."""
        desired = self.desired()
        live = self.read_live()
        plan = make_plan(
            PlanInputs(
                environment=self.env.name,
                desired=desired.resources,
                live=live,
                managed=self.history.managed(self.env.name),
                protect=[
                    (p, self.env.location("protect", i)) for i, p in enumerate(self.env.protect)
                ],
                supported_kinds=self.provider.supported_kinds(),
                requires_replace=self.provider.requires_replace,
                targets=list(targets),
                excludes=list(excludes),
            )
        )
        plan.diagnostics = [*desired.diagnostics, *plan.diagnostics]
        plan.manifests_digest = self.digest()
        plan.provider = self.provider.describe()
        plan.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        plan.crmctl_version = __version__
        return plan

    def check_fresh(self, plan: Plan) -> None:
        """Refuse a saved plan whose environment, manifests or live resources changed since."""
        if plan.environment != self.env.name:
            raise PlanError(
                f"the plan was made for environment {plan.environment}, not {self.env.name}",
                hint=f"run: crmctl apply -e {plan.environment} PLANFILE",
            )
        problems = []
        if plan.rollback_to is None and plan.manifests_digest != self.digest():
            problems.append("the manifests or the environment file changed since the plan was made")
        live = self.read_live()
        for change in plan.changes:
            current = live.get(change.address)
            now = fingerprint(canonical(current.kind, current.spec)) if current else None
            if now != change.live_fingerprint:
                state = (
                    "was deleted"
                    if now is None
                    else ("now exists" if change.live_fingerprint is None else "changed")
                )
                problems.append(f"{change.address} {state} in the CRM since the plan was made")
        if problems:
            raise PlanError(
                "the saved plan is stale; nothing was applied:\n"
                + "\n".join(f"  - {p}" for p in problems),
                hint="make a new plan: crmctl plan --out FILE",
            )

    def apply(self, plan: Plan, progress: Progress | None = None) -> ApplyOutcome:
        """Carry out a plan in order, stop at the first failure, record the version."""
        if not plan.applicable:
            raise PlanError("the plan has errors and cannot be applied", diagnostics=plan.errors)
        outcome = ApplyOutcome(plan)
        if not plan.changes:
            return outcome
        before = self.read_live()
        changes = plan.changes
        done = 0
        for start in range(0, len(changes), CHUNK):
            chunk = changes[start : start + CHUNK]
            try:
                result = self.provider.apply(chunk)
            except (
                CrmctlError
            ) as exc:  # the whole request failed: nothing of this chunk is known applied
                result = ApplyResult(failed=[ChangeFailure(chunk[0].address, str(exc))])
            applied = set(result.applied)
            outcome.applied.extend(c for c in chunk if c.address in applied)
            done += len(chunk)
            if progress:
                progress(min(done, len(changes)), len(changes))
            if result.failed:
                failure = result.failed[0]
                outcome.failed = next(c for c in chunk if c.address == failure.address)
                outcome.error = failure.message
                outcome.not_applied = [
                    c for c in changes if c not in outcome.applied and c is not outcome.failed
                ]
                break
        after = self.read_live()
        outcome.version = self._record(plan, outcome, before, after)
        return outcome

    def _record(self, plan: Plan, outcome: ApplyOutcome, before: dict, after: dict) -> int:
        managed = self.history.managed(self.env.name)
        for change in outcome.applied:
            if change.action is Action.DELETE:
                managed.discard(change.address)
            else:
                managed.add(change.address)
        if outcome.ok:  # what already matched the manifests is adopted too
            selected = (
                a
                for a in self.desired().resources
                if (not plan.targets or matches_any(a, plan.targets))
                and not (plan.excludes and matches_any(a, plan.excludes))
            )
            managed.update(a for a in selected if a in after)
        counts = plan.counts()
        meta = {
            "status": outcome.status,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "crmctlVersion": __version__,
            "summary": counts,
            "rollbackTo": plan.rollback_to,
            "error": outcome.error,
        }
        result = {
            "status": outcome.status,
            "changes": [
                {
                    "address": c.address,
                    "action": c.action.word,
                    "result": r,
                    **({"error": outcome.error} if r == "failed" else {}),
                }
                for c, r in (
                    *((c, "applied") for c in outcome.applied),
                    *(((outcome.failed, "failed"),) if outcome.failed else ()),
                    *((c, "not applied") for c in outcome.not_applied),
                )
            ],
        }
        label = f"rollback to {plan.rollback_to}" if plan.rollback_to else "apply"
        message = f"{label} ({counts['add']} added, {counts['change']} changed, {counts['destroy']} destroyed), {outcome.status}"
        record = VersionRecord(
            self.env.name,
            meta,
            plan_to_dict(plan),
            result,
            _snapshot(before.values()),
            _snapshot(after.values()),
        )
        return self.history.record(record, managed, current_actor(self.env.project_dir), message)

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
