"""Classify how the live CRM departs from what crmctl last applied. Pure: no I/O.

Three states of every resource are compared:

- **baseline**: what crmctl last applied (the `after` snapshot of the latest
  version, or of the version `--since-version` names); the manifests when
  no apply is recorded yet;
- **live**: what the CRM holds now;
- **desired**: what the manifests say now.

baseline -> live differences are *drift* (someone changed the CRM outside
crmctl): modified, deleted or created out of band. baseline -> desired
differences are *pending* (a manifest change not applied yet): reported
apart, because an unmerged or unapplied change is not tampering. Drift the
manifests now agree with (`crmctl import` adopted it) is *adopted*: reported,
not counted, until the next recorded apply makes it part of the baseline.

Only resources crmctl answers for can be modified or deleted out of band:
those declared in the manifests or managed (created or adopted by an apply).
A live resource is created out of band when it is of a kind crmctl manages,
neither declared nor managed, and was not there at the baseline; resources
that were already there and never adopted are listed as unmanaged, as
`crmctl plan` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.drift.attribution import attribute
from crmctl.drift.ignore import path_rule, resource_rule
from crmctl.drift.model import (
    Baseline,
    Drift,
    DriftReport,
    DriftType,
    IgnoredDiff,
    IgnoreRule,
    PendingChange,
)
from crmctl.kinds import HANDLERS, KINDS
from crmctl.kinds.base import ConfigIndex
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.diff import diff_specs
from crmctl.plan.planner import keep_undeclarable, without_keys
from crmctl.providers.base import ChangeLogEntry

__all__ = ["DriftInputs", "classify_drift"]

_KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}


@dataclass
class DriftInputs:
    """Everything drift is computed from; gathered by the caller so that classifying stays pure."""

    environment: str
    baseline_info: Baseline
    desired: Mapping[str, Resource]  # by address, overrides applied
    live: Mapping[str, Resource]  # by address, as the provider read it
    baseline: Mapping[str, dict[str, Any]] | None = None  # address -> spec; None: the manifests
    # The latest applied snapshot, which pending changes are measured against; None: `baseline`.
    # It differs from `baseline` only when drift is measured since an older version.
    applied: Mapping[str, dict[str, Any]] | None = None
    managed: set[str] = field(default_factory=set)
    ignore: list[IgnoreRule] = field(default_factory=list)
    change_log: list[ChangeLogEntry] | None = None  # None: the CRM keeps no audit trail
    crmctl_actors: set[str] = field(default_factory=set)  # whom crmctl's own writes are under
    supported_kinds: tuple[str, ...] = KINDS
    #: kind -> spec keys the CRM does not store: left out of every side (they cannot drift).
    unstored: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: The provider's name dialect (`crmctl.dialect.dialect_of`): which objects and fields
    #: the manifests can define, so which permission entries are not crmctl's.
    dialect: str = DEFAULT_DIALECT
    #: address -> the unstored keys' values the last apply recorded (`HistoryStore.labels`):
    #: a relabel in the manifests is pending against them (None: not tracked).
    labels: Mapping[str, Mapping[str, Any]] | None = None


def _sort_key(address: str) -> tuple[int, str]:
    kind, _, name = address.partition("/")
    return (_KIND_RANK.get(kind, len(KINDS)), name)


_Unstored = Mapping[str, frozenset[str]]


def _canonical(address: str, spec: dict[str, Any], unstored: _Unstored) -> dict[str, Any]:
    kind, _, name = address.partition("/")
    return without_keys(HANDLERS[kind].canonical(spec, name), unstored.get(kind, frozenset()))


def _specs(
    resources: Mapping[str, Resource], kinds: set[str], unstored: _Unstored
) -> dict[str, dict[str, Any]]:
    return {a: _canonical(a, r.spec, unstored) for a, r in resources.items() if r.kind in kinds}


def _snapshot(
    snapshot: Mapping[str, dict[str, Any]], kinds: set[str], unstored: _Unstored
) -> dict[str, dict[str, Any]]:
    # Canonical again: a snapshot taken by an older crmctl may lack defaults added since.
    return {
        a: _canonical(a, spec, unstored)
        for a, spec in snapshot.items()
        if a.partition("/")[0] in kinds
    }


def _adopted(
    specs: dict[str, dict[str, Any]], live: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """`specs` with what the CRM chose where they say nothing (`KindHandler.adopt_unsaid`)."""
    out = {}
    for address, spec in specs.items():
        now = live.get(address)
        kind = address.partition("/")[0]
        out[address] = spec if now is None else HANDLERS[kind].adopt_unsaid(spec, now)
    return out


def _with_ignores(drift: Drift, rules: list[IgnoreRule]) -> Drift:
    whole = resource_rule(drift.address, rules)
    if whole is not None:
        drift.ignored_by = whole
        return drift
    if drift.type is DriftType.MODIFIED:
        kept = []
        for diff in drift.diffs:
            rule = path_rule(drift.address, diff, rules)
            if rule is None:
                kept.append(diff)
            else:
                drift.ignored.append(IgnoredDiff(diff, rule))
        drift.diffs = kept
    return drift


def _pending(
    address: str, desired: dict[str, Any] | None, base: dict[str, Any] | None, managed: bool
) -> PendingChange | None:
    kind, _, name = address.partition("/")
    if desired is not None and base is None:
        return PendingChange(kind, name, Action.CREATE, diff_specs(None, desired))
    if desired is not None and base is not None and desired != base:
        return PendingChange(kind, name, Action.UPDATE, diff_specs(base, desired))
    if desired is None and base is not None and managed:
        return PendingChange(kind, name, Action.DELETE, diff_specs(base, None))
    return None


def classify_drift(inputs: DriftInputs) -> DriftReport:
    """Sort every difference into drift (modified, deleted, created), ignored, pending and in sync."""
    kinds = set(inputs.supported_kinds)
    unstored = inputs.unstored
    desired = _specs(inputs.desired, kinds, unstored)
    live = _specs(inputs.live, kinds, unstored)
    from_history = inputs.baseline is not None
    baseline = (
        _snapshot(inputs.baseline, kinds, unstored) if inputs.baseline is not None else desired
    )
    applied = _snapshot(inputs.applied, kinds, unstored) if inputs.applied is not None else baseline
    # What the manifests left to the CRM (a Dataverse option's value) is what the CRM gave it
    # when crmctl applied it (the applied snapshot), else what it holds now: a value changed
    # by hand since is drift, never taken for the manifests' wish.
    desired = _adopted(_adopted(desired, applied), live)
    baseline, applied = (_adopted(specs, live) for specs in (baseline, applied))
    managed = {a for a in inputs.managed if a.partition("/")[0] in kinds}
    answerable = set(desired) | managed
    managed_kinds = {a.partition("/")[0] for a in answerable}
    report = DriftReport(
        inputs.environment, inputs.baseline_info, attribution=inputs.change_log is not None
    )
    since = inputs.baseline_info.applied_at if from_history else None

    # What no manifest can declare (entries on objects made elsewhere) is not crmctl's: the
    # desired spec keeps it as each side holds it, exactly as `make_plan` does.
    index = ConfigIndex(inputs.desired.values(), inputs.dialect)
    deleted = {a for a in managed if a not in desired}

    def declared(address: str, other: dict[str, Any] | None) -> dict[str, Any] | None:
        spec = desired.get(address)
        if spec is None or other is None:
            return spec
        kind, _, name = address.partition("/")
        return keep_undeclarable(kind, name, spec, other, index, deleted)

    for address in sorted(set(baseline) | set(applied) | set(live) | answerable, key=_sort_key):
        kind, _, name = address.partition("/")
        base, now = baseline.get(address), live.get(address)
        drift = None
        if base is not None and now is not None:
            if address in answerable and base != now:
                drift = Drift(kind, name, DriftType.MODIFIED, base, now, diff_specs(base, now))
            elif address in answerable:
                report.in_sync.append(address)
            else:
                report.unmanaged.append(address)
        elif base is not None and address in answerable:
            drift = Drift(kind, name, DriftType.DELETED, base, None, diff_specs(base, None))
        elif now is not None:
            if kind in managed_kinds:
                drift = Drift(kind, name, DriftType.CREATED, None, now, diff_specs(None, now))
            else:
                report.unmanaged.append(address)
        adopted = (
            drift is not None
            and from_history
            # What no manifest can declare counts as the baseline held it: a grant added
            # by hand on an object made in Setup is drift, never adopted.
            and declared(address, base) == now
            and applied.get(address) != now  # else a later apply made it (--since-version)
        )
        if drift is not None:
            drift.adopted = adopted
            if inputs.change_log is not None:
                drift.changed_by = attribute(
                    address, inputs.change_log, since, inputs.crmctl_actors
                )
            report.drifts.append(_with_ignores(drift, inputs.ignore))
        if from_history and not adopted:
            want, had = declared(address, applied.get(address)), applied.get(address)
            keys = unstored.get(kind, frozenset())
            if keys and inputs.labels is not None and want is not None and had is not None:
                # Labels the CRM does not store: pending against the recorded ones, as in plan.
                spec = HANDLERS[kind].canonical(inputs.desired[address].spec, name)
                want = {**want, **{k: spec[k] for k in keys if k in spec}}
                had = {**had, **(inputs.labels.get(address) or {})}
            pending = _pending(address, want, had, address in managed)
            if pending is not None:
                report.pending.append(pending)
    return report
