"""Make a plan: compare the desired state with the live one. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic, Severity, SourceLocation
from crmctl.kinds import HANDLERS, KINDS, ConfigIndex
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.diff import AddedDiffs, diff_specs
from crmctl.plan.model import Change, Plan, fingerprint
from crmctl.plan.ordering import order_changes
from crmctl.plan.selection import matches_any, unmatched_selection

__all__ = [
    "PlanInputs",
    "make_plan",
    "matches_any",
    "canonical",
    "carry_unstored",
    "in_scope",
    "keep_undeclarable",
    "labels_only",
    "without_keys",
]

#: (kind, before, after) -> why the change cannot be made in place, or None.
ReplaceRule = Callable[[str, dict[str, Any], dict[str, Any]], str | None]


def canonical(kind: str, spec: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """A spec in the form both sides are compared in (give the name wherever it is known)."""
    return HANDLERS[kind].canonical(spec, name)


@dataclass
class PlanInputs:
    """Everything a plan is computed from; gathered by the caller, so planning stays pure."""

    environment: str
    desired: Mapping[str, Resource]  # by address
    live: Mapping[str, Resource]  # by address, as the provider read it
    managed: set[str] = field(default_factory=set)
    protect: list[tuple[str, SourceLocation | None]] = field(default_factory=list)
    supported_kinds: tuple[str, ...] = KINDS
    requires_replace: ReplaceRule | None = None
    targets: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    #: The name dialect of the environment's provider (`crmctl.dialect.dialect_of`): it
    #: decides which names are custom objects and fields, so the order of the changes.
    dialect: str = DEFAULT_DIALECT
    #: kind -> spec keys the CRM does not store (`providers.base.LeavesKeysUnstored`): labels
    #: crmctl keeps in git, never compared with the CRM nor sent to it.
    unstored: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: address -> the values of its unstored keys as the last apply recorded them
    #: (`HistoryStore.labels`): a label the manifests changed since, or one never recorded,
    #: is a change (nothing is sent for it, but it is shown and governed like any other).
    #: None: labels are not compared (the desired spec's are carried: restore, recovery).
    labels: Mapping[str, Mapping[str, Any]] | None = None
    #: The configuration whose objects and fields a permission entry may name (what is not
    #: in it is not crmctl's and is kept, `KindHandler.undeclarable`); None: `desired`. A
    #: restore or rollback plans a few resources towards a whole snapshot: the snapshot.
    declared: Mapping[str, Resource] | None = None


def in_scope(address: str, targets: Sequence[str], excludes: Sequence[str]) -> bool:
    """Whether --target patterns (none: everything) select `address` and no --exclude drops it."""
    if targets and not matches_any(address, targets):
        return False
    return not (excludes and matches_any(address, excludes))


def _selected(address: str, inputs: PlanInputs) -> bool:
    return in_scope(address, inputs.targets, inputs.excludes)


def _protected(change: Change, inputs: PlanInputs) -> Diagnostic | None:
    for pattern, location in inputs.protect:
        if matches_any(change.address, [pattern]):
            verb = "delete" if change.action is Action.DELETE else "replace (delete and re-create)"
            return Diagnostic(
                f"refusing to {verb} a protected resource (protect: {pattern})",
                location,
                address=change.address,
                hint="remove it from the environment's protect list first, or keep it in the manifests",
                code="protected",
            )
    return None


def _with(spec: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """`spec` plus the live entries `kept` (mappings merged one level deep)."""
    out = dict(spec)
    for key, value in kept.items():
        out[key] = {**value, **(out.get(key) or {})} if isinstance(value, dict) else value
    return out


def carry_unstored(
    live: dict[str, Any], desired: Mapping[str, Any], keys: frozenset[str]
) -> dict[str, Any]:
    """`live` with the desired value of each key in `keys` (the CRM does not store them)."""
    if not keys:
        return live
    out = {k: v for k, v in live.items() if k not in keys}
    out.update({k: desired[k] for k in keys if k in desired})
    return out


#: Why a change of labels alone is planned (`labels_only`).
UNSTORED_REASON = (
    "a label crmctl keeps in git is new or changed since the last apply "
    "(nothing is sent to the CRM)"
)


def _recorded(
    address: str, keys: frozenset[str], inputs: PlanInputs, otherwise: dict[str, Any]
) -> Mapping[str, Any]:
    """Where the live spec's unstored keys come from: the labels the last apply recorded
    (none recorded for `address`: no label, so the manifests' one is new), or, when the
    plan tracks no labels (`inputs.labels` None), `otherwise`."""
    if not keys or inputs.labels is None:
        return otherwise
    return inputs.labels.get(address) or {}


def labels_only(
    before: dict[str, Any] | None, after: dict[str, Any] | None, keys: frozenset[str]
) -> bool:
    """Whether an update changes nothing but keys the CRM does not store."""
    return (
        bool(keys)
        and before is not None
        and after is not None
        and before != after
        and without_keys(before, keys) == without_keys(after, keys)
    )


def without_keys(spec: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """`spec` without `keys`."""
    return {k: v for k, v in spec.items() if k not in keys} if keys else spec


def keep_undeclarable(
    kind: str,
    name: str,
    desired: dict[str, Any],
    live: dict[str, Any],
    index: ConfigIndex,
    deleted: set[str],
) -> dict[str, Any]:
    """`desired` (canonical) with what of `live` (canonical) no manifest can declare: not
    crmctl's, kept as it is and never shown (`KindHandler.undeclarable`). Plan and drift
    both compare through it, so they agree on what is crmctl's."""
    kept = HANDLERS[kind].undeclarable(live, index, deleted)
    return canonical(kind, _with(desired, kept), name) if kept else desired


def make_plan(inputs: PlanInputs) -> Plan:
    """The changes that make the live CRM match the desired state, in apply order.

    What of a live resource no manifest of the desired state can declare (a permission
    set's entries on objects and fields the manifests do not define) is kept as it is:
    it is added to the desired spec, so it neither shows nor changes. What the CRM does
    not store (`inputs.unstored`) is carried into the live spec from the labels the last
    apply recorded (`inputs.labels`), else from the desired spec: a relabel since the last
    apply is a change, one that sends nothing to the CRM (`labels_only`).
    """
    plan = Plan(
        environment=inputs.environment, targets=list(inputs.targets), excludes=list(inputs.excludes)
    )
    supported = set(inputs.supported_kinds)
    unsupported: dict[str, int] = {}
    changes: list[Change] = []
    index: ConfigIndex | None = None  # what the desired state defines, built when first needed
    deleted: set[str] = set()  # live resources crmctl manages that the desired state drops
    for address, resource in inputs.desired.items():
        if resource.kind not in supported:
            unsupported[resource.kind] = unsupported.get(resource.kind, 0) + 1
            continue
        if not _selected(address, inputs):
            continue
        after = canonical(resource.kind, resource.spec, resource.name)
        live = inputs.live.get(address)
        source = resource.location()
        if live is None:
            changes.append(
                Change(
                    resource.kind,
                    resource.name,
                    Action.CREATE,
                    None,
                    after,
                    AddedDiffs(after),
                    None,
                    "not in the CRM yet",
                    source,
                    address_key=address,
                )
            )
            continue
        read = canonical(live.kind, live.spec, live.name)
        keys = inputs.unstored.get(resource.kind, frozenset())
        before = carry_unstored(read, _recorded(address, keys, inputs, after), keys)
        after = HANDLERS[resource.kind].adopt_unsaid(after, before)
        if index is None:
            declared = inputs.desired if inputs.declared is None else inputs.declared
            index = ConfigIndex(declared.values(), inputs.dialect)
            deleted = {a for a in inputs.live if a not in inputs.desired and a in inputs.managed}
        after = keep_undeclarable(resource.kind, resource.name, after, before, index, deleted)
        if before == after:
            continue
        why = (
            inputs.requires_replace(resource.kind, before, after)
            if inputs.requires_replace
            else None
        )
        action, reason = (
            (Action.REPLACE, why) if why else (Action.UPDATE, "the CRM differs from the manifests")
        )
        if keys and labels_only(before, after, keys):
            reason = UNSTORED_REASON
        changes.append(
            Change(
                resource.kind,
                resource.name,
                action,
                before,
                after,
                diff_specs(before, after),
                fingerprint(read),  # the CRM's own read: apply checks freshness against it
                reason,
                source,
                address_key=address,
            )
        )
    for address, live in inputs.live.items():
        if address in inputs.desired or live.kind not in supported:
            continue
        if address not in inputs.managed:
            plan.unmanaged.append(address)
            continue
        if not _selected(address, inputs):
            continue
        read = canonical(live.kind, live.spec, live.name)
        keys = inputs.unstored.get(live.kind, frozenset())
        # A deleted column's label as recorded: a rule on PII governs deleting a PII column.
        before = carry_unstored(read, _recorded(address, keys, inputs, {}), keys)
        changes.append(
            Change(
                live.kind,
                live.name,
                Action.DELETE,
                before,
                None,
                diff_specs(before, None),
                fingerprint(read),
                "removed from the manifests (crmctl manages it)",
                address_key=address,
            )
        )
    for kind, count in sorted(unsupported.items()):
        plan.diagnostics.append(
            Diagnostic(
                f"{kind}: {count} resource{'s' * (count != 1)} not planned: this provider does not support {kind}",
                severity=Severity.WARNING,
                code="unsupported-kind",
            )
        )
    for change in changes:
        if change.action in (Action.DELETE, Action.REPLACE):
            problem = _protected(change, inputs)
            if problem:
                plan.diagnostics.append(problem)
    plan.diagnostics.extend(
        unmatched_selection(inputs.targets, inputs.excludes, [*inputs.desired, *inputs.live])
    )
    plan.changes = order_changes(changes, inputs.dialect)
    plan.unmanaged.sort()
    return plan
