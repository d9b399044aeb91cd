"""One check per kind of effect a change can have on existing records.

Each check looks at the records of one object, one record at a time
(`observe`), and reports its findings at the end; the engine feeds every
record once to every check of its object, so fifty rules cost one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from crmctl.formula import EvalContext, FormulaError
from crmctl.formula.functions import EvalProblem, to_bool
from crmctl.impact.model import MAX_SAMPLES, Finding
from crmctl.sandbox.enforcement import coerce, compiled_formula, convert_value
from crmctl.sandbox.records import FieldDef, OrgModel

__all__ = [
    "RecordView",
    "Check",
    "Tally",
    "RuleCheck",
    "FieldCheck",
    "PicklistCheck",
    "DroppedValuesCheck",
    "blank",
]


def blank(value: Any) -> bool:
    """A value a CRM treats as empty."""
    return value is None or value == "" or value == []


class RecordView(Protocol):
    """One stored record as the checks see it, with formula contexts built on demand."""

    id: str
    values: dict[str, Any]

    def context(self, which: str) -> EvalContext:
        """The record as formulas of the `before` or `after` configuration see it."""
        ...


class Check(Protocol):
    """Looks at every record of `object` once; reports findings at the end."""

    object: str  # object key (lower case)

    def observe(self, record: RecordView) -> None: ...

    def findings(self, total: int) -> list[Finding]: ...


@dataclass
class Tally:
    """A count with its first few sample ids (and their values, when they may be shown)."""

    count: int = 0
    samples: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, record_id: str, value: Any = None, keep_value: bool = False) -> None:
        self.count += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(record_id)
            if keep_value:
                self.values[record_id] = value


def _shown(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The values of the named fields (declared names; blank ones as None)."""
    return {name: values.get(name) for name in names}


_MISS = object()
_FAILED = object()
#: Memoised verdicts are given up for a rule whose hit rate after this many records is low.
_MEMO_TRIAL = 1000
_MEMO_MIN_HITS = 0.3


def _memo_key(model: OrgModel, obj: str, reads: set[str], text: str) -> tuple[str, ...] | None:
    """The stored fields a rule's verdict depends on (None: not known, so never memoised).

    A verdict depends only on the fields the formula reads: a related value
    (Account__r.Name) on the lookup holding its id, $User on the owner (the
    caller here); prior values equal current ones and `now` is fixed in a run.
    """
    objdef = model.object(obj)
    if objdef is None:
        return None
    names = set()
    for ref in reads:
        first, dot, _ = ref.partition(".")
        lookup = objdef.relationships.get(first) if dot else None
        fdef = lookup if lookup is not None else (objdef.field(first) if not dot else None)
        if fdef is None:
            return None
        names.add(fdef.name)
    if "$" in text:
        names.add("OwnerId")
    return tuple(sorted(names))


class RuleCheck:
    """A validation rule's verdict on every record, under the configuration before and after.

    Verdicts are memoised by the values of the fields the rule reads: records
    that agree on them get the same verdict without evaluating again (a
    picklist and a blank test have few combinations). The evaluator still
    decides every distinct case.
    """

    def __init__(
        self,
        obj: str,
        name: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        models: dict[str, OrgModel],
        show_values: bool,
    ) -> None:
        self.object, self.name, self.show_values = obj.lower(), name, show_values
        self.after_spec = after
        self.rules: dict[str, Callable[[EvalContext], Any]] = {}
        self.keys: dict[str, tuple[str, ...] | None] = {}
        self.reads: list[str] = []
        self.broken: str | None = None
        for which, spec in (("before", before), ("after", after)):
            if spec is None or not spec.get("active", True):
                continue
            compiled, error, reads = compiled_formula(models[which], spec["condition"])
            if compiled is None:
                if which == "after":
                    self.broken = error
                continue
            self.rules[which] = compiled
            declared = _memo_key(models[which], obj, reads, "")
            self.reads = list(declared) if declared is not None else sorted(reads)
            self.keys[which] = _memo_key(models[which], obj, reads, spec["condition"])
        self.memo: dict[str, dict[tuple[Any, ...], Any]] = {which: {} for which in self.rules}
        self.lookups = 0
        self.hits = 0
        self.tallies = {which: Tally() for which in self.rules}
        self.failures = Tally()
        self.first_failure = ""

    def observe(self, record: RecordView) -> None:
        values = record.values
        for which, rule in self.rules.items():
            fields = self.keys[which]
            key: Any = None
            verdict: Any = _MISS
            if fields is not None:
                key = tuple([values.get(name) for name in fields])
                self.lookups += 1
                try:
                    verdict = self.memo[which].get(key, _MISS)
                except TypeError:  # a list or object value: not a key
                    key = None
                if verdict is not _MISS:
                    self.hits += 1
            if verdict is _MISS:
                try:
                    verdict = to_bool(rule(record.context(which)))
                except (FormulaError, EvalProblem) as exc:
                    verdict = exc
                if key is not None:
                    self.memo[which][key] = verdict
            if verdict is True:
                tally = self.tallies[which]
                if len(tally.samples) >= MAX_SAMPLES:
                    tally.count += 1
                else:
                    shown = _shown(values, self.reads) if self.show_values else None
                    tally.add(record.id, shown, self.show_values)
            elif verdict is not False and which == "after":
                self.failures.add(record.id)
                self.first_failure = self.first_failure or f"{record.id}: {verdict}"
        if self.lookups == _MEMO_TRIAL and self.hits < _MEMO_MIN_HITS * self.lookups:
            self.keys = dict.fromkeys(self.keys)  # values mostly distinct: memoising only costs
            self.memo = {which: {} for which in self.memo}

    def findings(self, total: int) -> list[Finding]:
        obj = self.object
        out: list[Finding] = []
        if self.broken is not None:
            summary = f"validation rule {self.name} cannot run: {self.broken}"
            return [Finding("not-evaluated", obj, 0, total, summary)]
        after, before = self.tallies.get("after"), self.tallies.get("before")
        if after is not None:
            message = (self.after_spec or {}).get("errorMessage", "")
            details: dict[str, Any] = {"message": message, "rule": self.name}
            if before is not None:
                details["before"] = before.count
            out.append(
                Finding(
                    "rejects",
                    obj,
                    after.count,
                    total,
                    f"rejects {{n}} {{object}} records on their next edit: {message}",
                    after.samples,
                    after.values,
                    details,
                )
            )
        elif before is not None:
            out.append(
                Finding(
                    "no-longer-rejects",
                    obj,
                    before.count,
                    total,
                    "no longer rejects {n} {object} records it rejects today",
                    before.samples,
                    before.values,
                    {"rule": self.name},
                )
            )
        if self.failures.count:
            out.append(
                Finding(
                    "not-evaluated",
                    obj,
                    self.failures.count,
                    total,
                    f"could not be evaluated for {{n}} {{object}} records (first: "
                    f"{self.first_failure})",
                    self.failures.samples,
                )
            )
        return out


_REASONS = {
    "required": "{n} {object} records have no {field}, which becomes required",
    "length": "{n} {object} records hold a {field} longer than {limit} characters",
    "number": "{n} {object} records hold a {field} beyond precision {precision}, scale {scale}",
    "type": "{n} {object} records hold a {field} that cannot become a {type}",
    "unique": "{n} {object} records share a {field} value with another record",
}


class FieldCheck:
    """A field created or changed with a constraint some stored values break."""

    def __init__(
        self, obj: str, old: FieldDef | None, new: FieldDef, is_new: bool, show_values: bool
    ) -> None:
        self.object, self.new, self.show_values = obj.lower(), new, show_values
        self.reasons: list[str] = []
        if new.required and (old is None or not old.required):
            self.reasons.append("required")
        if old is not None and not is_new:
            if new.is_text and new.length is not None and (old.length or 1 << 30) > new.length:
                self.reasons.append("length")
            numeric = new.type in ("Number", "Currency", "Percent") and old.type == new.type
            if numeric and (new.precision, new.scale) != (old.precision, old.scale):
                self.reasons.append("number")
            if new.type != old.type:
                self.reasons.append("type")
            if new.unique and not old.unique:
                self.reasons.append("unique")
        self.tallies = {reason: Tally() for reason in self.reasons}
        self.seen: dict[Any, list[str]] = {}

    def observe(self, record: RecordView) -> None:
        name = self.new.name
        value = record.values.get(name)
        for reason in self.reasons:
            if reason == "required":
                broken = blank(value)
            elif blank(value):
                continue
            elif reason == "length":
                broken = isinstance(value, str) and len(value) > (self.new.length or 0)
            elif reason == "number":
                broken = coerce(self.new, value)[1] is not None
            elif reason == "type":
                broken = convert_value(value, self.new)[1] is not None
            else:
                key = value.lower() if isinstance(value, str) else value
                self.seen.setdefault(key, []).append(record.id)
                continue
            if broken:
                self.tallies[reason].add(record.id, {name: value}, self.show_values)

    def findings(self, total: int) -> list[Finding]:
        if "unique" in self.tallies:
            tally = self.tallies["unique"]
            for ids in self.seen.values():
                if len(ids) > 1:
                    for record_id in ids:
                        tally.add(record_id, None, False)
        out = []
        new = self.new
        for reason, tally in self.tallies.items():
            summary = _REASONS[reason].format(
                n="{n}",
                object="{object}",
                field=new.name,
                limit=new.length,
                precision=new.precision,
                scale=new.scale,
                type=new.type,
            )
            details = {"field": new.name, "reason": reason}
            out.append(
                Finding(
                    "invalid",
                    self.object,
                    tally.count,
                    total,
                    summary,
                    tally.samples,
                    tally.values,
                    details,
                )
            )
        return out


class PicklistCheck:
    """Picklist values removed or deactivated that records still hold."""

    def __init__(self, obj: str, name: str, removed: list[str], multi: bool, show: bool) -> None:
        self.object, self.name, self.multi, self.show_values = obj.lower(), name, multi, show
        self.removed = removed
        self.tally = Tally()
        self.per_value = dict.fromkeys(removed, 0)

    def observe(self, record: RecordView) -> None:
        value = record.values.get(self.name)
        if not isinstance(value, str) or not value:
            return
        held = [v for v in value.split(";")] if self.multi else [value]
        hit = [v for v in held if v in self.per_value]
        if hit:
            for v in hit:
                self.per_value[v] += 1
            self.tally.add(record.id, {self.name: value}, self.show_values)

    def findings(self, total: int) -> list[Finding]:
        listed = ", ".join(f"'{v}'" for v in self.removed)
        summary = f"{{n}} {{object}} records still hold the removed {self.name} value(s) {listed}"
        details = {"field": self.name, "removed": self.per_value}
        return [
            Finding(
                "holds-removed-value",
                self.object,
                self.tally.count,
                total,
                summary,
                self.tally.samples,
                self.tally.values,
                details,
            )
        ]


class DroppedValuesCheck:
    """A field deleted (or deleted and re-created): its non-empty values are lost.

    With `name` None the whole object goes, and with it every record.
    """

    def __init__(self, obj: str, name: str | None, show_values: bool) -> None:
        self.object, self.name, self.show_values = obj.lower(), name, show_values
        self.tally = Tally()

    def observe(self, record: RecordView) -> None:
        if self.name is None:
            self.tally.add(record.id)
            return
        value = record.values.get(self.name)
        if not blank(value) and value is not False:
            self.tally.add(record.id, {self.name: value}, self.show_values)

    def findings(self, total: int) -> list[Finding]:
        if self.name is None:
            return [
                Finding(
                    "drops-records",
                    self.object,
                    self.tally.count,
                    total,
                    "deletes all {n} {object} records with the object",
                    self.tally.samples,
                )
            ]
        return [
            Finding(
                "drops-values",
                self.object,
                self.tally.count,
                total,
                f"drops the {self.name} value of {{n}} {{object}} records",
                self.tally.samples,
                self.tally.values,
                {"field": self.name},
            )
        ]
