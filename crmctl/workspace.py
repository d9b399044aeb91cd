"""One environment opened for work: its manifests, its CRM and its history.

This is the library behind `plan`, `apply`, `rollback` and `recover`; the
CLI only parses arguments, calls one method here and renders the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from crmctl import __version__
from crmctl.config.environment import Environment, display_path
from crmctl.config.loader import load_desired_state
from crmctl.dialect import dialect_of
from crmctl.errors import ApplyError, CrmctlError, ManifestError, PlanError
from crmctl.executor import (
    ApplyOutcome,
    Progress,
    StopRequest,
    disown_unconfirmed,
    journal_state,
    managed_after,
    plan_document,
    reconcile,
    resolve_writes,
    resources_from_snapshot,
    restore,
    result_document,
    run_plan,
    snapshot,
    snapshot_stream,
    towards,
)
from crmctl.governance.gate import Authorization, authorize
from crmctl.governance.policy import Policy
from crmctl.governance.records import BreakGlassRecord
from crmctl.history import Actor, HistoryStore, VersionRecord, current_actor
from crmctl.history.journal import (
    Journal,
    JournalDamagedError,
    JournalState,
    UnfinishedApplyError,
)
from crmctl.history.jsonstream import Streamed
from crmctl.history.lock import EnvironmentLock, process_alive
from crmctl.impact.model import ChangeImpact
from crmctl.kinds import HANDLERS, KINDS
from crmctl.model import DesiredState, Resource, share_strings
from crmctl.plan import (
    Change,
    Plan,
    PlanInputs,
    canonical,
    fingerprint,
    make_plan,
)
from crmctl.plan.binding import plan_differences, snapshot_digest
from crmctl.plan.encode import plan_from_dict
from crmctl.plan.planner import in_scope
from crmctl.providers import Provider, create_provider
from crmctl.providers.base import ChecksPlan, unstored_keys_of

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

    def __init__(
        self, env: Environment, provider: Provider | None = None, use_cache: bool = True
    ) -> None:
        self.env = env
        self.use_cache = use_cache  # the parse cache (crmctl/config/parsecache.py)
        self._provider = provider
        self.history = HistoryStore(env.history_path, env.history_remote)
        self.journal = Journal(self.history.state_dir / "journal", env.name)
        self._desired: DesiredState | None = None
        self._synced = False
        self.live: dict[str, Resource] | None = None  # as the last plan() read it
        # The desired addresses once apply has released the desired state (_shed_positions).
        self._desired_addresses: list[str] | None = None
        # (the latest version when read, its recorded labels): `recorded_labels`.
        self._labels: tuple[int, dict[str, dict[str, Any]]] | None = None

    @cached_property
    def actor(self) -> Actor:
        """Who runs this command; read when first needed (it may open the project's git config)."""
        return current_actor(self.env.project_dir)

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = create_provider(self.env)
        return self._provider

    # --- reading -----------------------------------------------------------------
    def desired(self) -> DesiredState:
        """The validated desired state; raises ManifestError listing every problem."""
        if self._desired is None:
            state = load_desired_state(self.env, use_cache=self.use_cache)
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

    def _read_held(self) -> dict[str, Resource]:
        """`read_live` for a read apply holds to its end: repeated strings shared (less memory)."""
        live = self.read_live()
        share_strings(live.values())
        return live

    def sync_history(self) -> None:
        """Pull the shared history (once per workspace) when the environment has a remote."""
        if self.history.remote is not None and not self._synced:
            self.history.remote.pull()
            self._synced = True

    def history_may_have_moved(self) -> None:
        """Time has passed (a prompt): the next pull of a shared history fetches again."""
        if self.history.remote is not None:
            self.history.remote.expire()

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
        self.live = self.read_live()  # kept for measuring the plan's impact on records
        unstored = self.unstored()
        plan = make_plan(
            PlanInputs(
                environment=self.env.name,
                desired=desired.resources,
                live=self.live,
                managed=self.history.managed(self.env.name),
                protect=self._protect(),
                supported_kinds=self.provider.supported_kinds(),
                requires_replace=self.provider.requires_replace,
                targets=list(targets),
                excludes=list(excludes),
                dialect=dialect_of(self.provider.type),
                unstored=unstored,
                labels=self.recorded_labels(),
            )
        )
        plan.diagnostics = [*desired.diagnostics, *plan.diagnostics]
        self._provider_checks(plan, desired.resources)
        return self._stamp(plan, self.digest())

    def unstored(self) -> dict[str, frozenset[str]]:
        """kind -> the spec keys this environment's CRM does not store (kept in git only)."""
        return unstored_keys_of(self.provider, self.provider.supported_kinds())

    def _provider_checks(self, plan: Plan, desired: dict[str, Resource]) -> None:
        """What the CRM refuses up front (ChecksPlan), at the manifest line."""
        if isinstance(self.provider, ChecksPlan):
            plan.diagnostics.extend(self.provider.plan_diagnostics(desired, plan.changes))

    def governance_impacts(self, plan: Plan) -> dict[str, ChangeImpact] | None:
        """The plan's impact on the environment's own stored records, for policy rules with an
        `impact` criterion; None when no rule has one or the records are not on this machine
        (then those rules apply: an unknown impact is not a small one)."""
        if not Policy.from_section(self.env.name, self.env.approvals).measures_impact:
            return None
        from crmctl.impact.engine import measure_impact
        from crmctl.impact.sources import environment_database, open_read_only

        path = environment_database(self.env)
        if path is None or not path.is_file():
            return None
        live = self.live if self.live is not None else self.read_live()
        conn = open_read_only(path)
        try:
            report = measure_impact(conn, live, plan.changes, source=str(path))
        finally:
            conn.close()
        return {c.address: c for c in report.changes}

    def _protect(self) -> list:
        return [(p, self.env.location("protect", i)) for i, p in enumerate(self.env.protect)]

    def rollback_plan(self, version: int) -> Plan:
        """A plan whose desired state is what version N left (for the resources crmctl managed then)."""
        self.ensure_no_unfinished_apply()
        self.sync_history()
        record = self.history.version(self.env.name, version)
        managed_then = self.history.managed_at(self.env.name, version)
        target = {
            a: Resource(r.kind, r.name, HANDLERS[r.kind].unsaid(r.spec))
            for a, r in resources_from_snapshot(record.after).items()
            if a in managed_then
        }
        # The labels the CRM does not store, as version N left them: a rollback puts them
        # back too, planned (and governed) like the rest. Where version N recorded none for
        # a resource (an older version, a gap), the label stays as recorded now.
        recorded = self.recorded_labels()
        if recorded is not None:
            then = self.history.version_labels(self.env.name, version) or {}
            target = {
                a: Resource(r.kind, r.name, {**r.spec, **then.get(a, recorded.get(a, {}))})
                for a, r in target.items()
            }
        self.live = self.read_live()
        plan = make_plan(
            PlanInputs(
                environment=self.env.name,
                desired=target,
                live=self.live,
                managed=self.history.managed(self.env.name) | managed_then,
                protect=self._protect(),
                supported_kinds=self.provider.supported_kinds(),
                requires_replace=self.provider.requires_replace,
                dialect=dialect_of(self.provider.type),
                unstored=self.unstored(),
                labels=recorded,
            )
        )
        self._provider_checks(plan, target)
        plan.rollback_to = f"v{version}"
        plan.snapshot_digest = snapshot_digest(record.after)
        return self._stamp(plan, "")

    def check_fresh(self, plan: Plan) -> None:
        """Refuse a saved plan whose environment, manifests, snapshot or live resources changed since."""
        if plan.environment != self.env.name:
            raise PlanError(
                f"the plan was made for environment {plan.environment}, not {self.env.name}",
                hint=f"run: crmctl apply -e {plan.environment} PLANFILE",
            )
        self.ensure_no_unfinished_apply()
        self.sync_history()
        problems = []
        if plan.rollback_to is None:
            if plan.manifests_digest != self.digest():
                problems.append(
                    "the manifests or the environment file changed since the plan was made"
                )
        else:
            problems.extend(self._snapshot_problems(plan))
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

    def _snapshot_problems(self, plan: Plan) -> list[str]:
        """Why a rollback plan is not bound to the snapshot its version has in the history."""
        number = parse_version(plan.rollback_to or "")
        if not plan.snapshot_digest:
            return [
                f"the rollback plan to v{number} records no snapshot digest "
                "(made by an older crmctl, or edited)"
            ]
        recorded = snapshot_digest(self.history.version(self.env.name, number).after)
        if recorded != plan.snapshot_digest:
            return [f"the recorded snapshot of v{number} is not the one the plan was made from"]
        return []

    def bind_saved(self, saved: Plan) -> Plan:
        """The plan to carry out for a saved plan file: recomputed now, identical to the file.

        Checks that the file is fresh (`check_fresh`), computes the plan again -
        from the manifests (at the digest the file records) and the live CRM, or
        for a rollback from the version's snapshot - and refuses the file unless
        its changes are the same (addresses, actions, before and after). Returns
        the recomputed plan, never the file's: its diagnostics (protection) are
        fresh, and the caller runs lint and the approval checks on it.
        """
        self.check_fresh(saved)
        if saved.rollback_to is None:
            fresh = self.plan(saved.targets, saved.excludes)
        else:
            fresh = self.rollback_plan(parse_version(saved.rollback_to))
        differences = plan_differences(saved, fresh)
        if differences:
            raise PlanError(
                "the saved plan is not the plan crmctl computes now from "
                + (
                    f"the recorded snapshot of {saved.rollback_to}"
                    if saved.rollback_to
                    else "the manifests"
                )
                + " and the live CRM; nothing was applied:\n"
                + "\n".join(f"  - {d}" for d in differences),
                hint="a plan file is applied only as crmctl made it; make a new plan: "
                "crmctl plan --out FILE",
            )
        return fresh

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

    def labels_in_effect(self) -> dict[str, str]:
        """Lower-case field -> its classification in effect now: the CRM's, or where the CRM
        does not store it (`unstored`), the label the last apply recorded. A grant is judged
        on it as well as on the manifests' label (`governance.matching.rule_matches`)."""
        if self.live is None:
            self.live = self.read_live()
        out = {
            r.name.lower(): r.spec["classification"]
            for r in self.live.values()
            if r.kind == "CustomField" and r.spec.get("classification")
        }
        if "classification" in self.unstored().get("CustomField", frozenset()):
            for address, labels in (self.recorded_labels() or {}).items():
                kind, _, name = address.partition("/")
                if kind == "CustomField" and labels.get("classification"):
                    out[name.lower()] = labels["classification"]
        return out

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
        stop: StopRequest | None = None,
        break_glass: BreakGlassRecord | None = None,
    ) -> ApplyOutcome:
        """Carry out a plan (the caller holds the lock); record it as a new version.

        The approval gate runs first: ApprovalError unless every approval the
        plan needs is verified now (or a signed `break_glass` record stands in).
        The outcome reported and recorded is the CRM's, as read after the last
        write: a failure whose changes all landed is an apply, and a restore is
        complete exactly when that read equals the snapshot from before.
        """
        if not plan.applicable:
            raise PlanError("the plan has errors and cannot be applied", diagnostics=plan.errors)
        self.ensure_no_unfinished_apply()
        grant = authorize(
            self.env,
            plan,
            self._governed_resources(),
            self.history,
            break_glass,
            self.governance_impacts(plan),
            self.labels_in_effect(),
        )
        if not plan.changes:
            outcome = ApplyOutcome(plan)
            if grant.governance_changed:  # the new governance settings become the baseline
                outcome.note = "governance settings applied"
                number = self.history.preflight(self.env.name)
                live = snapshot(self.read_live().values())
                state = journal_state(self.env.name, self.actor.email, plan, live)
                self.journal.start(state)
                outcome.version = self._record(
                    plan, outcome, live, live, number, state, live, grant
                )
                self.journal.clear()
            return outcome
        number = self.history.preflight(self.env.name)
        self._shed_positions()
        live_before = self._read_held()
        # Snapshots are computed while they are written (journal, history): never held whole.
        before = snapshot_stream(live_before)
        state = journal_state(self.env.name, self.actor.email, plan, before)
        self.journal.start(state)
        outcome = run_plan(
            self.provider, plan, self.journal, state, progress, stop, self.unstored()
        )
        try:
            live_after = self._settle(outcome, state, live_before, restore_on_failure)
        except CrmctlError as exc:
            # Without the CRM's word the outcome is unknown: keep the journal for recover.
            raise ApplyError(
                f"the apply {'stopped' if not outcome.ok else 'ended'}"
                f"{f' ({outcome.error})' if outcome.error else ''}, and then crmctl could not "
                f"find out what the CRM holds: {exc}. The journal is kept; nothing is recorded",
                hint=f"run crmctl recover -e {self.env.name} once the CRM answers again",
            ) from None
        after = snapshot_stream(live_after)
        outcome.version = self._record(
            plan,
            outcome,
            before,
            after,
            number,
            state,
            live_after,
            grant,
            # What the changes labelled is now in effect, unless the CRM went back to before.
            labels_from=outcome.applied if outcome.restore is None else (),
        )
        self.journal.clear()
        return outcome

    def _shed_positions(self) -> None:
        """Free what an authorised apply no longer needs before it reads the CRM again.

        Once the plan is made, linted and authorised, an apply carries out the plan's own
        canonical specs: of the desired state it needs only the addresses (to adopt what
        already matched, see `_record`), and of the plan's live read nothing (apply reads the
        CRM afresh just before it writes). Holding either next to the before- and after-reads
        would cost a large org as much memory as its specs again.
        """
        self.live = None
        if self._desired is None:
            return
        self._desired_addresses = list(self._desired.resources)
        # A later desired() reads the manifests again rather than see a thinned state.
        self._desired = None

    def _settle(
        self,
        outcome: ApplyOutcome,
        state: JournalState,
        live_before: dict[str, Resource],
        restore_on_failure: bool,
    ) -> dict[str, Resource]:
        """After the changes went out: the CRM as read after the last write, restored if need be.

        A change the provider reported applied that this read does not show fails the apply
        (`disown_unconfirmed`): "Apply complete" is only said of what the CRM holds.
        """
        if outcome.ok:
            live_after = self._read_held()
            if not disown_unconfirmed(outcome, live_after, self.unstored()):
                return live_after
        else:
            # Nothing of the write that failed may land after this read.
            resolve_writes(self.provider, state.unanswered_or_failed())
            live_after = self._read_held()
            reconcile(outcome, live_after, self.unstored())
        if not outcome.ok and restore_on_failure:
            # Everything sent may have landed (a dropped connection hides the answer).
            outcome.restore, live_after = restore(
                self.env.name,
                self.provider,
                live_before,
                set(state.sent),
                live_after,
                self.read_live,
                self.journal,
                state,
            )
        return live_after

    def recover(self, finish: bool = False, from_snapshot: bool = False) -> ApplyOutcome | None:
        """After an interrupted apply: restore the state from before it, or finish it.

        None when no apply was interrupted: there is nothing to do, which is not a failure
        (as `unlock` of an unlocked environment).

        Writes the interrupted apply left in flight are settled first, so the CRM
        read that recovery plans from is final. With `from_snapshot`, a journal
        that cannot be read is replaced by the last snapshot crmctl has.
        """
        try:
            state = self.journal.read()
        except JournalDamagedError:
            if not from_snapshot:
                raise
            return self._recover_from_snapshot()
        if state is None:
            return None
        if (
            state.host == socket.gethostname()
            and state.pid != os.getpid()
            and process_alive(state.pid)
        ):
            raise UnfinishedApplyError(
                f"{state.describe()} is still running; it cannot be recovered now"
            )
        if from_snapshot:
            return self._recover_from_snapshot(state)
        if state.recording is not None:
            return self._finish_recording(state)
        try:
            original = plan_from_dict(state.plan)
        except (KeyError, TypeError, ValueError, AttributeError, CrmctlError) as exc:
            raise JournalDamagedError(
                f"the apply journal of {self.env.name} holds a plan crmctl cannot read ({exc})",
                hint=f"run crmctl recover -e {self.env.name} --from-snapshot",
            ) from None
        scope = {c.address for c in original.changes}
        # Finishing carries out the interrupted plan: it needs its approvals, verified again.
        grant = (
            authorize(
                self.env,
                original,
                self._governed_resources(),
                self.history,
                impacts=self.governance_impacts(original),
                in_effect=self.labels_in_effect(),
            )
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
        resolve_writes(self.provider, state.unanswered_or_failed())
        return self._recover_towards(
            target, scope, state, original, "finished" if finish else "restored", grant
        )

    def _recover_towards(
        self,
        target: dict[str, Resource],
        scope: set[str],
        state: JournalState,
        original: Plan | None,
        how: str,
        grant: Authorization | None = None,
    ) -> ApplyOutcome:
        live_before = self.read_live()
        plan = self._stamp(
            towards(self.env.name, self.provider, target, live_before, scope),
            original.manifests_digest if original else "",
        )
        plan.rollback_to = original.rollback_to if original else None
        number = self.history.preflight(self.env.name)
        # Keep the original journal: if recovery is interrupted too, recovering again still
        # aims at the state from before the first apply.
        outcome = run_plan(self.provider, plan, self.journal, state)
        live_after = self._settle(outcome, state, live_before, restore_on_failure=False)
        outcome.note = f"interrupted, {how}" if outcome.ok else "interrupted, recovery failed"
        outcome.version = self._record(
            plan,
            outcome,
            snapshot_stream(live_before),
            snapshot_stream(live_after),
            number,
            state,
            live_after,
            grant,
            # Finished: the interrupted plan's changes are in effect, their labels with them.
            labels_from=original.changes if original and how == "finished" and outcome.ok else (),
        )
        if outcome.ok:
            self.journal.clear()
        return outcome

    def _recover_from_snapshot(self, state: JournalState | None = None) -> ApplyOutcome:
        """Restore what crmctl manages to the journal's snapshot, else the last version's."""
        env = self.env.name
        resolve_writes(self.provider, self.journal.writes_anyhow())
        # What crmctl manages, and whatever the interrupted plan touched (if it can be read).
        scope = self.history.managed(env)
        if state is not None:
            changes = state.plan.get("changes")
            scope |= {
                c["address"]
                for c in (changes if isinstance(changes, list) else [])
                if isinstance(c, dict) and isinstance(c.get("address"), str)
            }
            snapshot_before = state.before
            how = "restored from the journal's snapshot"
        else:
            latest = self.history.latest_version(env)
            while latest and not self.history.committed(env, latest):
                latest -= 1  # a version whose recording was cut off is no snapshot
            snapshot_before = self.history.version(env, latest).after if latest else {}
            how = f"restored to the snapshot of v{latest}" if latest else "nothing to restore"
            # A fresh journal that aims at the same snapshot, should this recovery stop too.
            state = journal_state(
                env,
                self.actor.email,
                Plan(env),
                {a: snapshot_before[a] for a in scope if a in snapshot_before},
            )
            self.journal.start(state)
        target = resources_from_snapshot(snapshot_before)
        return self._recover_towards(target, scope, state, None, how)

    def _finish_recording(self, state: JournalState) -> ApplyOutcome:
        """The CRM work was over when the apply stopped: write the version it was recording."""
        assert state.recording is not None
        pending = self.journal.pending_record()
        if pending is None:
            raise JournalDamagedError(
                f"the apply journal of {self.env.name} says version v{state.recording} was being "
                "recorded, but the version's data is missing",
                hint=f"run crmctl recover -e {self.env.name} --from-snapshot",
            )
        record = VersionRecord(
            self.env.name,
            pending["meta"],
            pending["plan"],
            pending["result"],
            pending["before"],
            pending["after"],
            pending.get("labels") if isinstance(pending.get("labels"), dict) else None,
        )
        outcome = ApplyOutcome(plan_from_dict(pending["plan"]))
        outcome.note = f"{pending['meta'].get('status')}; recording finished by recover"
        outcome.recorded_only = True
        outcome.version = self.history.record(
            record,
            set(pending["managed"]),
            self.actor,
            pending["message"],
            state.recording,
            finishing=True,
        )
        self.journal.clear()
        return outcome

    def _record(
        self,
        plan: Plan,
        outcome: ApplyOutcome,
        before: dict | Streamed,
        after: dict | Streamed,
        number: int,
        state: JournalState,
        present: Container[str],
        grant: Authorization | None = None,
        labels_from: Iterable[Change] = (),
    ) -> int:
        """Record the version (`present`: the addresses the CRM holds after it).

        `labels_from`: changes now in effect whose `after` carries labels the CRM does not
        store, which the version records (`_labels_after`).
        """
        managed = managed_after(self.history.managed(self.env.name), outcome)
        addresses = (
            self._desired_addresses
            if self._desired_addresses is not None
            else list(self._desired.resources)
            if self._desired is not None
            else None
        )
        if outcome.ok and plan.rollback_to is None and addresses is not None:
            # What already matched the manifests is adopted too.
            managed.update(
                a for a in addresses if in_scope(a, plan.targets, plan.excludes) and a in present
            )
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
            self.env.name,
            meta,
            plan_document(plan),
            result_document(outcome, streamed=True),
            before,
            after,
            self._labels_after(managed, present, labels_from),
        )
        # If the process dies from here on, recover finishes this recording.
        self.journal.recording(
            state,
            number,
            {**record.__dict__, "managed": sorted(managed), "message": message},
        )
        return self.history.record(record, managed, self.actor, message, number)

    def recorded_labels(self) -> dict[str, dict[str, Any]] | None:
        """The labels the last apply recorded (`HistoryStore.labels`; {} before any did), or
        None when this CRM stores every key (nothing to compare)."""
        keys = {kind: k for kind, k in self.unstored().items() if k}
        if not keys:
            return None
        # Read once per version: plan, the approval checks and the recording all ask.
        version = self.history.latest_version(self.env.name)
        if self._labels is not None and self._labels[0] == version:
            return self._labels[1]
        recorded = self.history.labels(self.env.name)
        if recorded is None:  # a history from before versions recorded labels
            recorded = self.history.labels_from_plans(self.env.name, keys)
        self._labels = (version, recorded)
        return recorded

    def _labels_after(
        self, managed: set[str], present: Container[str], changes: Iterable[Change]
    ) -> dict[str, dict[str, Any]] | None:
        """The labels the CRM does not store, as this version leaves them (None: no such keys).

        Per managed resource the CRM holds: that of a change now in effect (`changes`),
        else what the last version recorded. A label no apply carried out is not recorded,
        so the next plan shows it (as new, or changed) until one does.
        """
        keys = {kind: k for kind, k in self.unstored().items() if k}
        if not keys:
            return None
        previous = self.recorded_labels() or {}
        changed = {c.address: c.after for c in changes if c.after is not None}
        out: dict[str, dict[str, Any]] = {}
        for address in sorted(managed):
            kind = address.partition("/")[0]
            if kind not in keys or address not in present:
                continue
            if address in changed:
                spec = changed[address]
                out[address] = {k: spec[k] for k in keys[kind] if k in spec}
            elif address in previous:
                out[address] = previous[address]
        return out

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
