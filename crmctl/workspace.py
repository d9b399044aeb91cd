"""One environment opened for work: its manifests, its CRM and its history.

This is the library behind `plan`, `apply`, `rollback` and `recover`; the
CLI only parses arguments, calls one method here and renders the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from crmctl import __version__
from crmctl.config.environment import Environment, display_path
from crmctl.config.loader import load_desired_state
from crmctl.errors import CrmctlError, ManifestError, PlanError
from crmctl.executor import (
    ApplyOutcome,
    Progress,
    journal_state,
    managed_after,
    reconcile,
    resources_from_snapshot,
    restore,
    result_document,
    run_plan,
    snapshot,
    towards,
)
from crmctl.governance.gate import Authorization, authorize
from crmctl.governance.records import BreakGlassRecord
from crmctl.history import HistoryStore, VersionRecord, current_actor
from crmctl.history.journal import Journal, UnfinishedApplyError
from crmctl.history.lock import EnvironmentLock, process_alive
from crmctl.kinds import KINDS
from crmctl.model import DesiredState, Resource
from crmctl.plan import Plan, PlanInputs, canonical, fingerprint, make_plan, matches_any
from crmctl.plan.encode import plan_from_dict, plan_to_dict
from crmctl.providers import Provider, create_provider

__all__ = ["Workspace", "ApplyOutcome", "manifests_digest", "parse_version"]


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


def parse_version(text: str) -> int:
    """12 for `v12` or `12`."""
    raw = text[1:] if text[:1] in "vV" else text
    if not raw.isdigit() or int(raw) < 1:
        raise CrmctlError(
            f"{text!r} is not a version; versions look like v12", hint="crmctl history lists them"
        )
    return int(raw)


class Workspace:
    """An environment with its provider and history, opened for planning and applying."""

    def __init__(self, env: Environment, provider: Provider | None = None) -> None:
        self.env = env
        self._provider = provider
        self.history = HistoryStore(env.history_path, env.history_remote)
        self.journal = Journal(self.history.state_dir / "journal", env.name)
        self.actor = current_actor(env.project_dir)
        self._desired: DesiredState | None = None
        self._synced = False

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = create_provider(self.env)
        return self._provider

    # --- reading -----------------------------------------------------------------
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

    def sync_history(self) -> None:
        """Pull the shared history (once per workspace) when the environment has a remote."""
        if self.history.remote is not None and not self._synced:
            self.history.remote.pull()
            self._synced = True

    def ensure_no_unfinished_apply(self) -> None:
        """Refuse to work on an environment whose last apply was interrupted."""
        state = self.journal.read()
        if state is None:
            return
        if (
            state.pid != os.getpid()
            and state.host == socket.gethostname()
            and process_alive(state.pid)
        ):
            raise UnfinishedApplyError(
                f"{state.describe()} is still running", hint="wait for it to finish"
            )
        raise UnfinishedApplyError(
            f"{state.describe()} did not finish: the CRM may be half-changed; nothing was done",
            hint=f"run crmctl recover -e {self.env.name} to restore the state from before it "
            f"(or --finish to complete it)",
        )

    # --- planning ----------------------------------------------------------------
    def _stamp(self, plan: Plan, digest: str) -> Plan:
        plan.manifests_digest = digest
        plan.provider = self.provider.describe()
        plan.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        plan.crmctl_version = __version__
        return plan

    def plan(self, targets: Iterable[str] = (), excludes: Iterable[str] = ()) -> Plan:
        """Compare the manifests with the live CRM."""
        self.ensure_no_unfinished_apply()
        self.sync_history()
        desired = self.desired()
        plan = make_plan(
            PlanInputs(
                environment=self.env.name,
                desired=desired.resources,
                live=self.read_live(),
                managed=self.history.managed(self.env.name),
                protect=self._protect(),
                supported_kinds=self.provider.supported_kinds(),
                requires_replace=self.provider.requires_replace,
                targets=list(targets),
                excludes=list(excludes),
            )
        )
        plan.diagnostics = [*desired.diagnostics, *plan.diagnostics]
        return self._stamp(plan, self.digest())

    def _protect(self) -> list:
        return [(p, self.env.location("protect", i)) for i, p in enumerate(self.env.protect)]

    def rollback_plan(self, version: int) -> Plan:
        """A plan whose desired state is what version N left (for the resources crmctl managed then)."""
        self.ensure_no_unfinished_apply()
        self.sync_history()
        record = self.history.version(self.env.name, version)
        managed_then = self.history.managed_at(self.env.name, version)
        target = {
            a: r for a, r in resources_from_snapshot(record.after).items() if a in managed_then
        }
        plan = make_plan(
            PlanInputs(
                environment=self.env.name,
                desired=target,
                live=self.read_live(),
                managed=self.history.managed(self.env.name) | managed_then,
                protect=self._protect(),
                supported_kinds=self.provider.supported_kinds(),
                requires_replace=self.provider.requires_replace,
            )
        )
        plan.rollback_to = f"v{version}"
        return self._stamp(plan, "")

    def check_fresh(self, plan: Plan) -> None:
        """Refuse a saved plan whose environment, manifests or live resources changed since."""
        if plan.environment != self.env.name:
            raise PlanError(
                f"the plan was made for environment {plan.environment}, not {self.env.name}",
                hint=f"run: crmctl apply -e {plan.environment} PLANFILE",
            )
        self.ensure_no_unfinished_apply()
        self.sync_history()
        problems = []
        if plan.rollback_to is None and plan.manifests_digest != self.digest():
            problems.append("the manifests or the environment file changed since the plan was made")
        live = self.read_live()
        for change in plan.changes:
            current = live.get(change.address)
            now = (
                fingerprint(canonical(current.kind, current.spec, current.name))
                if current
                else None
            )
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

    # --- applying ----------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, command: str) -> Iterator[EnvironmentLock]:
        """Hold the environment's lock (and the remote one, with a history remote) for a command."""
        lock = EnvironmentLock(
            self.history.state_dir / "locks", self.env.name, self.actor.email, command
        )
        with lock:
            if lock.taken_over is not None:
                self.history.record_event(
                    self.env.name,
                    {"event": "stale-lock-taken-over", "held-by": lock.taken_over.__dict__},
                    self.actor,
                    f"took over a stale lock of {lock.taken_over.describe()}",
                )
            remote = self.history.remote
            if remote is not None:
                remote.lock(self.env.name, self.actor.email, command, os.getpid())
            try:
                yield lock
            finally:
                if remote is not None:
                    remote.unlock(self.env.name)

    def _governed_resources(self) -> dict[str, Resource]:
        """The desired resources, for finding who asked for each change (none if unreadable)."""
        try:
            return self.desired().resources
        except ManifestError:
            return {}

    def apply(
        self,
        plan: Plan,
        progress: Progress | None = None,
        restore_on_failure: bool = True,
        break_glass: BreakGlassRecord | None = None,
    ) -> ApplyOutcome:
        """Carry out a plan (the caller holds the lock); record it as a new version.

        The approval gate runs first: ApprovalError unless every approval the
        plan needs is verified now (or a signed `break_glass` record stands in).
        """
        if not plan.applicable:
            raise PlanError("the plan has errors and cannot be applied", diagnostics=plan.errors)
        self.ensure_no_unfinished_apply()
        grant = authorize(self.env, plan, self._governed_resources(), self.history, break_glass)
        if not plan.changes:
            outcome = ApplyOutcome(plan)
            if grant.governance_changed:  # the new governance settings become the baseline
                outcome.note = "governance settings applied"
                live = snapshot(self.read_live().values())
                outcome.version = self._record(plan, outcome, live, live, grant)
            return outcome
        live_before = self.read_live()
        before = snapshot(live_before.values())
        state = journal_state(self.env.name, self.actor.email, plan, before)
        self.journal.start(state)
        outcome = run_plan(self.provider, plan, self.journal, state, progress)
        if not outcome.ok:
            live_now = self.read_live()
            reconcile(outcome, live_now)
            if restore_on_failure:
                # Everything sent may have landed (a dropped connection hides the answer).
                outcome.restore = restore(
                    self.env.name,
                    self.provider,
                    live_before,
                    set(state.sent),
                    live_now,
                    self.read_live,
                )
        outcome.version = self._record(
            plan, outcome, before, snapshot(self.read_live().values()), grant
        )
        self.journal.clear()
        return outcome

    def recover(self, finish: bool = False) -> ApplyOutcome:
        """After an interrupted apply: restore the state from before it, or finish it."""
        state = self.journal.read()
        if state is None:
            raise CrmctlError(f"nothing to recover: no apply of {self.env.name} was interrupted")
        if (
            state.host == socket.gethostname()
            and state.pid != os.getpid()
            and process_alive(state.pid)
        ):
            raise UnfinishedApplyError(
                f"{state.describe()} is still running; it cannot be recovered now"
            )
        original = plan_from_dict(state.plan)
        scope = {c.address for c in original.changes}
        # Finishing carries out the interrupted plan: it needs its approvals, verified again.
        grant = (
            authorize(self.env, original, self._governed_resources(), self.history)
            if finish
            else None
        )
        if finish:
            target = {
                c.address: Resource(c.kind, c.name, c.after)
                for c in original.changes
                if c.after is not None
            }
        else:
            target = resources_from_snapshot(state.before)
        live_before = self.read_live()
        plan = self._stamp(
            towards(self.env.name, self.provider, target, live_before, scope),
            original.manifests_digest,
        )
        plan.rollback_to = original.rollback_to
        # Keep the original journal: if recovery is interrupted too, recovering again still
        # aims at the state from before the first apply.
        outcome = run_plan(self.provider, plan, self.journal, state)
        outcome.note = (
            ("interrupted, finished" if finish else "interrupted, restored")
            if outcome.ok
            else ("interrupted, recovery failed")
        )
        outcome.version = self._record(
            plan,
            outcome,
            snapshot(live_before.values()),
            snapshot(self.read_live().values()),
            grant,
        )
        if outcome.ok:
            self.journal.clear()
        return outcome

    def _record(
        self,
        plan: Plan,
        outcome: ApplyOutcome,
        before: dict,
        after: dict,
        grant: Authorization | None = None,
    ) -> int:
        managed = managed_after(self.history.managed(self.env.name), outcome)
        if outcome.ok and plan.rollback_to is None and self._desired is not None:
            # What already matched the manifests is adopted too.
            selected = (
                a
                for a in self._desired.resources
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
            **(grant.history_meta() if grant is not None else {"approvals": []}),
        }
        label = f"rollback to {plan.rollback_to}" if plan.rollback_to else "apply"
        message = f"{label} ({counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy), {outcome.status}"
        record = VersionRecord(
            self.env.name, meta, plan_to_dict(plan), result_document(outcome), before, after
        )
        return self.history.record(record, managed, self.actor, message)

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
