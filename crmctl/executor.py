"""Carrying out a plan: in order, journaled, stopping at the first failure, restoring after it.

Library code behind `apply`, `rollback` and `recover`; it never prints.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crmctl.dialect import dialect_of
from crmctl.errors import CrmctlError
from crmctl.history.journal import Journal, JournalState, Write
from crmctl.history.jsonstream import Streamed
from crmctl.kinds import HANDLERS
from crmctl.model import Resource
from crmctl.plan import Action, Change, Plan, PlanInputs, canonical, fingerprint, make_plan
from crmctl.plan.encode import change_to_dict, plan_to_dict
from crmctl.plan.planner import labels_only, without_keys
from crmctl.providers import ApplyResult, ChangeFailure, Provider
from crmctl.providers.base import ResolvesWrites, unstored_keys_of

__all__ = [
    "ApplyOutcome",
    "RestoreOutcome",
    "StopRequest",
    "run_plan",
    "restore",
    "resolve_writes",
    "disown_unconfirmed",
    "snapshot",
    "snapshot_stream",
    "plan_document",
    "chunk_size",
]

Progress = Callable[[int, int], None]


def chunk_size() -> int:
    """Changes handed to the provider at a time ($CRMCTL_APPLY_CHUNK, default 200).

    Progress is reported and the journal written between chunks.
    """
    try:
        return max(1, int(os.environ.get("CRMCTL_APPLY_CHUNK", "200")))
    except ValueError:
        raise CrmctlError(
            f"CRMCTL_APPLY_CHUNK={os.environ['CRMCTL_APPLY_CHUNK']!r} is not a number"
        ) from None


def snapshot(resources: Iterable[Resource]) -> dict[str, dict]:
    """Live resources as {address: canonical spec}, sorted."""
    return {
        r.address: canonical(r.kind, r.spec, r.name)
        for r in sorted(resources, key=lambda r: r.address)
    }


def snapshot_stream(resources: dict[str, Resource]) -> Streamed:
    """`snapshot(resources.values())`, computed while it is written (never held whole)."""

    def items() -> Iterable[tuple[str, dict]]:
        for address in sorted(resources):
            r = resources[address]
            yield address, canonical(r.kind, r.spec, r.name)

    return Streamed.mapping(items)


def plan_document(plan: Plan) -> dict:
    """`plan_to_dict(plan)` whose changes are encoded while they are written."""
    return plan_to_dict(plan, Streamed.sequence(lambda: map(change_to_dict, plan.changes)))


@dataclass
class RestoreOutcome:
    """What the automatic restore after a failure did, and whether the CRM is back as it was."""

    changes: list[Change] = field(default_factory=list)
    error: str | None = None
    mismatched: list[str] = field(default_factory=list)  # addresses still different from before

    @property
    def complete(self) -> bool:
        """The CRM, read after the last write, equals the snapshot from before (errors or not)."""
        return not self.mismatched


@dataclass
class ApplyOutcome:
    """What an apply did: each change applied, the one that failed, those never attempted."""

    plan: Plan
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    not_applied: list[Change] = field(default_factory=list)
    restore: RestoreOutcome | None = None
    version: int | None = None
    note: str | None = None  # e.g. "interrupted, restored" for recover
    interrupted: bool = False  # stopped on request (Ctrl-C) between two chunks
    recorded_only: bool = False  # recover only finished recording an apply that was over

    @property
    def ok(self) -> bool:
        return self.failed is None and not self.interrupted

    @property
    def status(self) -> str:
        if self.note:
            return self.note
        if not self.plan.changes:
            return "no changes"
        if self.ok:
            return "applied"
        how = "interrupted" if self.interrupted and self.failed is None else "failed"
        if self.restore is None:
            return f"{how}, partial"
        return f"{how}, restored" if self.restore.complete else f"{how}, restore incomplete"


def _apply_chunk(
    provider: Provider, chunk: list[Change], write: Write | None, journal: Journal | None
) -> ApplyResult:
    try:
        if write is not None and journal is not None and isinstance(provider, ResolvesWrites):
            return provider.apply_write(
                chunk, write.write_id, lambda ref: journal.noted(write, ref)
            )
        return provider.apply(chunk)
    except CrmctlError as exc:  # the whole request failed: nothing of this chunk is known applied
        return ApplyResult(failed=[ChangeFailure(chunk[0].address, str(exc))])


def journal_state(
    env: str, actor: str, plan: Plan, before: dict[str, dict] | Streamed
) -> JournalState:
    return JournalState(
        environment=env,
        actor=actor,
        pid=os.getpid(),
        host=socket.gethostname(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        plan=plan_document(plan),
        before=before,
    )


def send(
    provider: Provider, chunk: list[Change], journal: Journal, state: JournalState
) -> ApplyResult:
    """One write: journaled under a fresh write id before it goes out, its answer after."""
    write = Write(uuid.uuid4().hex, [c.address for c in chunk])
    journal.sent(state, write)
    result = _apply_chunk(provider, chunk, write, journal)
    applied = set(result.applied)
    journal.answered(state, write, [c.address for c in chunk if c.address in applied])
    return result


class StopRequest:
    """Set from outside (a first Ctrl-C) to stop an apply after the chunk in flight."""

    def __init__(self) -> None:
        self.requested = False

    def set(self) -> None:
        self.requested = True


def run_plan(
    provider: Provider,
    plan: Plan,
    journal: Journal,
    state: JournalState,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
    unstored: Mapping[str, frozenset[str]] | None = None,
) -> ApplyOutcome:
    """Send the plan's changes chunk by chunk, journaling before and after each; stop at a failure.

    Each chunk is a write with its own id, journaled before it is sent, so that
    a crash leaves enough behind to ask the CRM what became of it. A change of
    labels the CRM does not store (`unstored`, `labels_only`) is sent nowhere: it
    is applied as its chunk is, and the version records the new labels.
    """
    outcome = ApplyOutcome(plan)
    changes = plan.changes
    size = chunk_size()
    keys = unstored or {}
    for start in range(0, len(changes), size):
        if stop is not None and stop.requested:
            outcome.interrupted = True
            outcome.not_applied = changes[start:]
            break
        chunk = changes[start : start + size]
        unsent = {
            id(c) for c in chunk if labels_only(c.before, c.after, keys.get(c.kind, frozenset()))
        }
        sent = [c for c in chunk if id(c) not in unsent]
        result = send(provider, sent, journal, state) if sent else ApplyResult()
        applied = set(result.applied)
        outcome.applied.extend(c for c in chunk if id(c) in unsent or c.address in applied)
        if progress:
            progress(min(start + len(chunk), len(changes)), len(changes))
        if result.failed:
            failure = result.failed[0]
            outcome.failed = next(c for c in chunk if c.address == failure.address)
            outcome.error = failure.message
            done = {id(c) for c in outcome.applied}
            outcome.not_applied = [
                c for c in changes if id(c) not in done and c is not outcome.failed
            ]
            break
    return outcome


def resolve_writes(provider: Provider, writes: Iterable[Write]) -> None:
    """Settle writes whose answer was lost, so that nothing of them can land after a read.

    Providers without the capability cannot promise it: their next read is the best
    there is.
    """
    if isinstance(provider, ResolvesWrites):
        for write in writes:
            provider.resolve_write(write.write_id, write.refs)


def towards(
    env: str,
    provider: Provider,
    target: dict[str, Resource],
    live: dict[str, Resource],
    scope: set[str],
) -> Plan:
    """A plan that makes the resources in `scope` equal `target` (absent from it: deleted)."""
    return make_plan(
        PlanInputs(
            environment=env,
            desired={a: r for a, r in target.items() if a in scope},
            live={a: r for a, r in live.items() if a in scope},
            managed=set(scope),
            supported_kinds=provider.supported_kinds(),
            requires_replace=provider.requires_replace,
            dialect=dialect_of(provider.type),
            declared=target,
            # The target's labels are carried: a restore or recovery never sends them.
            unstored=unstored_keys_of(provider, provider.supported_kinds()),
        )
    )


def restore(
    env: str,
    provider: Provider,
    before: dict[str, Resource],
    touched: set[str],
    live: dict[str, Resource],
    read_live: Callable[[], dict[str, Resource]],
    journal: Journal,
    state: JournalState,
) -> tuple[RestoreOutcome, dict[str, Resource]]:
    """Put the touched resources back as they were before (`live`: the CRM now), then verify.

    Returns the outcome and the CRM as read after the last write: whether the
    restore is complete is decided by that read alone, not by what the requests
    answered.
    """
    outcome = RestoreOutcome()
    plan = towards(env, provider, before, live, touched)
    outcome.changes = plan.changes
    if plan.changes:
        result = send(provider, plan.changes, journal, state)
        if result.failed:
            outcome.error = f"{result.failed[0].address}: {result.failed[0].message}"
            resolve_writes(provider, state.unanswered_or_failed())
    live = read_live()
    outcome.mismatched = differing(before, live, touched)
    return outcome, live


def differing(
    want: dict[str, Resource], have: dict[str, Resource], addresses: Iterable[str]
) -> list[str]:
    """The addresses among `addresses` whose resource differs between `want` and `have`."""

    def print_of(resource: Resource | None) -> str | None:
        if resource is None:
            return None
        return fingerprint(canonical(resource.kind, resource.spec, resource.name))

    return [a for a in sorted(addresses) if print_of(want.get(a)) != print_of(have.get(a))]


def landed(
    change: Change,
    live: Mapping[str, Resource],
    unstored: Mapping[str, frozenset[str]] | None = None,
) -> bool:
    """Whether the CRM (`live`) holds what `change` wanted, but for the keys it does not store."""
    have = live.get(change.address)
    if change.after is None:
        return have is None or HANDLERS[have.kind].retired(have.spec)
    if have is None:
        return False
    keys = (unstored or {}).get(change.kind, frozenset())
    now = canonical(have.kind, have.spec, have.name)
    # What the change left to the CRM (a Dataverse option's value) is whatever it chose.
    wanted = HANDLERS[change.kind].adopt_unsaid(
        canonical(change.kind, change.after, change.name), now
    )
    return without_keys(now, keys) == without_keys(wanted, keys)


def disown_unconfirmed(
    outcome: ApplyOutcome,
    live: Mapping[str, Resource],
    unstored: Mapping[str, frozenset[str]] | None = None,
) -> bool:
    """After a successful apply: fail it if the CRM, read after the last write, does not hold
    a change the provider reported applied (a write the CRM acknowledged and then undid, or
    a later write that overwrote it). True when it did so.

    The first such change becomes the failure and the others are not applied; the caller
    handles the outcome as any failed apply (restore, report, exit code 1).
    """
    missing = [c for c in outcome.applied if not landed(c, live, unstored)]
    if not missing:
        return False
    gone = {id(c) for c in missing}
    outcome.applied = [c for c in outcome.applied if id(c) not in gone]
    outcome.failed, outcome.not_applied = missing[0], missing[1:]
    count = len(missing)
    names = ", ".join(c.address for c in missing[:5]) + (", ..." if count > 5 else "")
    outcome.error = (
        f"the CRM answered that {count} change{'s' * (count != 1)} applied, but read after "
        f"the apply it does not hold {'them' if count != 1 else 'it'}: {names}"
    )
    return True


def reconcile(
    outcome: ApplyOutcome,
    live: dict[str, Resource],
    unstored: Mapping[str, frozenset[str]] | None = None,
) -> None:
    """After a failure whose outcome may be unknown (a dropped connection), ask the CRM.

    Changes reported as not applied (or failed) whose resource now looks
    exactly as the plan wanted (but for the keys the CRM does not store,
    `unstored`) are moved to `applied`, so the report and
    the managed set tell the truth.
    """
    if outcome.ok:
        return
    moved = [
        c
        for c in [outcome.failed, *outcome.not_applied]
        if c is not None and landed(c, live, unstored)
    ]
    if not moved:
        return
    order = {c.address: i for i, c in enumerate(outcome.plan.changes)}
    outcome.applied = sorted([*outcome.applied, *moved], key=lambda c: order[c.address])
    outcome.not_applied = [c for c in outcome.not_applied if c not in moved]
    if outcome.failed in moved:
        # The request failed, yet its changes landed; the apply still stopped there.
        rest = outcome.not_applied
        outcome.failed = rest[0] if rest else None
        outcome.not_applied = rest[1:]
        outcome.error = (
            f"not attempted: the apply stopped because {outcome.error}" if rest else None
        )


def resources_from_snapshot(data: dict[str, dict]) -> dict[str, Resource]:
    """A snapshot ({address: spec}) as live-like resources."""
    out = {}
    for address, spec in data.items():
        kind, _, name = address.partition("/")
        out[address] = Resource(kind, name, spec)
    return out


def _result_rows(outcome: ApplyOutcome) -> Iterator[dict]:
    for c in outcome.applied:
        yield {"address": c.address, "action": c.action.word, "result": "applied"}
    if outcome.failed is not None:
        yield {
            "address": outcome.failed.address,
            "action": outcome.failed.action.word,
            "result": "failed",
            "error": outcome.error or "",
        }
    for c in outcome.not_applied:
        yield {"address": c.address, "action": c.action.word, "result": "not applied"}


def result_document(outcome: ApplyOutcome, streamed: bool = False) -> dict:
    """The per-change result recorded in the history.

    With `streamed`, its `changes` are made while they are written (a Streamed sequence:
    a row for each change of a large apply is not held at once).
    """
    rows: list[dict] | Streamed = (
        Streamed.sequence(lambda: _result_rows(outcome))
        if streamed
        else list(_result_rows(outcome))
    )
    document: dict = {"status": outcome.status, "changes": rows}
    if outcome.restore is not None:
        document["restore"] = {
            "complete": outcome.restore.complete,
            "error": outcome.restore.error,
            "mismatched": outcome.restore.mismatched,
            "changes": [
                {"address": c.address, "action": c.action.word} for c in outcome.restore.changes
            ],
        }
    return document


def managed_after(managed: set[str], outcome: ApplyOutcome) -> set[str]:
    """The managed set after an apply: created and changed resources in, deleted ones out."""
    managed = set(managed)
    if outcome.restore is not None and outcome.restore.complete:
        return managed  # back to how it was
    for change in outcome.applied:
        if change.action is Action.DELETE:
            managed.discard(change.address)
        else:
            managed.add(change.address)
    return managed
