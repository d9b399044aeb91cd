"""Measure a plan's impact on stored records: one pass, every check of an object per record.

The configuration before the change is the live one; after it, the live one
with the plan's changes applied. Both are turned into the sandbox's record
model, so validation rules run through the same formula engine, with the
same types and related-record lookups, as a record write in the sandbox CRM.
Each record is evaluated as an edit by its owner that changes nothing
(ISNEW() and ISCHANGED() are false; $User is the owner).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from crmctl.formula import EvalContext
from crmctl.impact.checks import (
    Check,
    DroppedValuesCheck,
    FieldCheck,
    PicklistCheck,
    RuleCheck,
)
from crmctl.impact.duplicate_check import DuplicateCheck
from crmctl.impact.model import ChangeImpact, Finding, ImpactReport
from crmctl.impact.retention_check import RetentionCheck
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.sandbox.enforcement import Caller, formula_context
from crmctl.sandbox.records import OrgModel, SqlRecords, custom_field_def

__all__ = ["IMPACT_KINDS", "measure_impact", "configurations"]

#: The kinds whose changes can affect stored records.
IMPACT_KINDS = ("CustomObject", "CustomField", "ValidationRule", "RetentionPolicy", "DuplicateRule")
_RELATED_CACHE = 50_000


class _CachingReader(SqlRecords):
    """Related records (Account__r.Name) fetched once per run, not once per record."""

    def __init__(self, conn: sqlite3.Connection, model: OrgModel) -> None:
        super().__init__(conn, model)
        self.cache: dict[str, Any] = {}

    def fetch(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        if record_id not in self.cache:
            if len(self.cache) > _RELATED_CACHE:
                self.cache.clear()
            self.cache[record_id] = super().fetch(record_id)
        return self.cache[record_id]


class _Record:
    """One stored record, with its formula contexts made when a check first needs them."""

    __slots__ = ("id", "values", "_obj", "_run", "_contexts")

    def __init__(self, record_id: str, values: dict[str, Any], obj: str, run: _Run) -> None:
        self.id, self.values, self._obj, self._run = record_id, values, obj, run
        self._contexts: dict[str, EvalContext] = {}

    def context(self, which: str) -> EvalContext:
        if which == "before" and self._run.same_records:
            which = "after"  # records read the same under both: one context, values typed once
        found = self._contexts.get(which)
        if found is None:
            found = self._contexts[which] = self._run.context(which, self._obj, self.values)
        return found


class _Run:
    """What every record of a run shares: the two models, readers and callers."""

    def __init__(self, conn: sqlite3.Connection, models: dict[str, OrgModel], now: datetime):
        self.models, self.now = models, now
        self.readers = {which: _CachingReader(conn, m) for which, m in models.items()}
        self.callers: dict[str, Caller] = {}
        # Formulas see a record the same way under both configurations when objects, fields
        # and users are unchanged (a plan that changes only rules and policies).
        before, after = models["before"], models["after"]
        self.same_records = before.objects == after.objects and before.users == after.users

    def context(self, which: str, obj: str, values: dict[str, Any]) -> EvalContext:
        model = self.models[which]
        objdef = model.object(obj)
        if objdef is None:
            return EvalContext(record=values, prior=values, now=self.now)
        owner = str(values.get("OwnerId") or "")
        caller = self.callers.get(owner)
        if caller is None:
            caller = self.callers[owner] = Caller(owner)
        return formula_context(model, self.readers[which], objdef, values, values, caller, self.now)


def configurations(
    live: Mapping[str, Resource], changes: Iterable[Change]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(configuration items before, after) the changes, for `OrgModel.from_config`."""
    before: dict[str, dict[str, Any]] = {
        a: {"kind": r.kind, "name": r.name, "spec": r.spec} for a, r in live.items()
    }
    after = dict(before)
    for change in changes:
        if change.action is Action.DELETE:
            after.pop(change.address, None)
        else:
            after[change.address] = {"kind": change.kind, "name": change.name, "spec": change.after}
    return list(before.values()), list(after.values())


def _checks(change: Change, models: dict[str, OrgModel], now: datetime, show: bool) -> list[Check]:
    kind, name, action = change.kind, change.name, change.action
    before, after = change.before, change.after
    if action is Action.DELETE:
        after = None
    if action is Action.CREATE:
        before = None
    obj = name.partition(".")[0]
    if kind == "CustomObject":
        return [DroppedValuesCheck(name, None, show)] if action is Action.DELETE else []
    if kind == "ValidationRule":
        return [RuleCheck(obj, name, before, after, models, show)]
    if kind == "RetentionPolicy":
        sides = {w: s for w, s in (("before", before), ("after", after)) if s}
        objects = {s["object"].lower(): s["object"] for s in sides.values()}
        return [RetentionCheck(o, name, sides, models, now, show) for o in objects.values()]
    if kind == "DuplicateRule":
        sides = {w: s for w, s in (("before", before), ("after", after)) if s}
        return [DuplicateCheck(obj, name, sides, models)]
    if kind != "CustomField":
        return []
    field_name = name.partition(".")[2]
    if action in (Action.DELETE, Action.REPLACE):
        checks: list[Check] = [DroppedValuesCheck(obj, _declared(models, obj, field_name), show)]
        if action is Action.REPLACE and after is not None:
            new, _ = custom_field_def(field_name, after)
            if new.required:
                checks.append(FieldCheck(obj, None, new, True, show))
        return checks
    assert after is not None
    new, _ = custom_field_def(field_name, after)
    old = custom_field_def(field_name, before)[0] if before is not None else None
    checks = [FieldCheck(obj, old, new, before is None, show)]
    if old is not None and old.type in ("Picklist", "MultiPicklist"):
        removed = [v for v in old.values if v not in new.values]
        if removed and new.type in ("Picklist", "MultiPicklist"):
            checks.append(PicklistCheck(obj, new.name, removed, new.type == "MultiPicklist", show))
    return [c for c in checks if not isinstance(c, FieldCheck) or c.reasons]


def _declared(models: dict[str, OrgModel], obj: str, field_name: str) -> str:
    objdef = models["before"].object(obj)
    fdef = objdef.field(field_name) if objdef else None
    return fdef.name if fdef else field_name


def measure_impact(
    conn: sqlite3.Connection,
    live: Mapping[str, Resource],
    changes: list[Change],
    *,
    source: str,
    now: datetime | None = None,
    show_values: bool = False,
) -> ImpactReport:
    """What `changes` do to the records in `conn` (a sandbox database's connection)."""
    now = now or datetime.now(UTC)
    before, after = configurations(live, changes)
    models = {"before": OrgModel.from_config(before), "after": OrgModel.from_config(after)}
    report = ImpactReport(
        source=source,
        now=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        show_values=show_values,
    )
    plan: list[tuple[Change, list[Check]]] = []
    by_object: dict[str, list[Check]] = {}
    for change in changes:
        if change.kind not in IMPACT_KINDS:
            continue
        checks = _checks(change, models, now, show_values)
        plan.append((change, checks))
        for check in checks:
            by_object.setdefault(check.object, []).append(check)
    run = _Run(conn, models, now)
    totals: dict[str, int] = {}
    names: dict[str, str] = {}
    for obj, checks in by_object.items():
        totals[obj] = _one_pass(conn, obj, checks, run)
        objdef = models["before"].object(obj) or models["after"].object(obj)
        names[obj] = objdef.name if objdef else obj
    report.records = {names[o]: n for o, n in totals.items()}
    for change, checks in plan:
        impact = ChangeImpact(change.address, change.action.value)
        for check in checks:
            for finding in check.findings(totals.get(check.object, 0)):
                impact.findings.append(_named(finding, names.get(check.object, check.object)))
        report.changes.append(impact)
    return report


def _one_pass(conn: sqlite3.Connection, obj: str, checks: list[Check], run: _Run) -> int:
    """Feed every record of `obj` to every check once; returns how many there were."""
    total = 0
    rows = conn.execute("SELECT id, fields FROM records WHERE object = ? ORDER BY seq", (obj,))
    loads = json.loads
    for record_id, text in rows:
        total += 1
        record = _Record(record_id, loads(text), obj, run)
        for check in checks:
            check.observe(record)
    return total


def _named(finding: Finding, display: str) -> Finding:
    finding.object = display
    finding.summary = finding.summary.replace("{n}", str(finding.count)).replace(
        "{object}", display
    )
    return finding
