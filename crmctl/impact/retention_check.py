"""What a new, changed or deleted retention policy does to the records it covers.

A policy covers a record when its date field is older than now minus
`retain` and its filter (if any) is true, exactly as a retention run
decides (crmctl.sandbox.retention). Counted twice: now, and 30 days from
now, under the policy as it is and as it would be. Counts are the records
the policy itself covers; master-detail children a delete or archive takes
along are not added.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crmctl.formula import FormulaError
from crmctl.formula.functions import EvalProblem, to_bool
from crmctl.impact.checks import RecordView, Tally, blank
from crmctl.impact.model import Finding
from crmctl.sandbox.enforcement import compiled_formula
from crmctl.sandbox.records import OrgModel, datetime_text
from crmctl.sandbox.retention import cutoff

__all__ = ["RetentionCheck", "HORIZON_DAYS"]

#: How far ahead "soon" looks.
HORIZON_DAYS = 30
_VERB = {"delete": "deletes", "archive": "archives", "anonymize": "anonymises"}


class _Rule:
    """One side (before or after) of the policy, ready to test records."""

    def __init__(self, spec: dict[str, Any], model: OrgModel, now: datetime) -> None:
        self.spec = spec
        obj = model.object(spec["object"])
        fdef = obj.field(spec["dateField"]) if obj else None
        self.field: str | None = None
        self.problem: str | None = None
        if fdef is None or fdef.type not in ("Date", "DateTime"):
            self.problem = f"dateField {spec['dateField']} is not a date field of {spec['object']}"
            return
        self.field = fdef.name
        try:
            limits = [
                cutoff(now, spec["retain"]),
                cutoff(now + timedelta(HORIZON_DAYS), spec["retain"]),
            ]
        except (ValueError, OverflowError) as exc:
            self.problem = f"retain {spec['retain']}: {exc}"
            return
        if fdef.type == "Date":
            self.now_limit, self.soon_limit = (m.date().isoformat() for m in limits)
        else:
            self.now_limit, self.soon_limit = (datetime_text(m) for m in limits)
        self.filter = None
        if spec.get("filter"):
            compiled, error, _ = compiled_formula(model, spec["filter"])
            if compiled is None:
                self.problem = f"filter cannot run: {error}"
            self.filter = compiled

    def covers(self, record: RecordView, which: str) -> tuple[bool, bool]:
        """(covered now, covered within the horizon)."""
        value = record.values.get(self.field or "")
        if self.problem or blank(value) or not isinstance(value, str) or value >= self.soon_limit:
            return False, False
        if self.filter is not None:
            try:
                if not to_bool(self.filter(record.context(which))):
                    return False, False
            except (FormulaError, EvalProblem):
                return False, False  # a run keeps such records too
        return value < self.now_limit, True


class RetentionCheck:
    """Counts a policy's coverage before and after the change, now and in 30 days."""

    def __init__(
        self,
        obj: str,
        name: str,
        sides: dict[str, dict[str, Any]],
        models: dict[str, OrgModel],
        now: datetime,
        show_values: bool,
    ) -> None:
        self.object, self.name, self.show_values = obj.lower(), name, show_values
        self.rules = {
            which: _Rule(spec, models[which], now)
            for which, spec in sides.items()
            if spec["object"].lower() == self.object
        }
        self.now = {which: 0 for which in self.rules}
        self.soon = {which: 0 for which in self.rules}
        self.extra = Tally()  # covered now after the change and not before it

    def observe(self, record: RecordView) -> None:
        covered = {}
        for which, rule in self.rules.items():
            now, soon = rule.covers(record, which)
            covered[which] = now
            self.now[which] += now
            self.soon[which] += soon
        if covered.get("after") and not covered.get("before"):
            field = self.rules["after"].field or ""
            self.extra.add(record.id, {field: record.values.get(field)}, self.show_values)

    def findings(self, total: int) -> list[Finding]:
        after = self.rules.get("after")
        problems = [r.problem for r in self.rules.values() if r.problem]
        if after is not None and after.problem:
            summary = f"retention policy {self.name} cannot be measured: {after.problem}"
            return [Finding("not-evaluated", self.object, 0, total, summary)]
        action = (after or self.rules["before"]).spec["action"]
        now_before, now_after = self.now.get("before", 0), self.now.get("after", 0)
        soon_before = self.soon.get("before", 0) - now_before
        soon_after = self.soon.get("after", 0) - now_after
        delta = now_after - now_before
        verb = _VERB.get(action, action)
        if after is None:
            summary = f"no longer {verb} the {now_before} {{object}} records it covers today"
        else:
            more = f"{delta} more" if delta >= 0 else f"{-delta} fewer"
            summary = (
                f"{verb} {now_after} {{object}} records now ({more} than today) and "
                f"{soon_after} more in the next {HORIZON_DAYS} days"
            )
            if "before" in self.rules:
                summary += f" (today's policy: {soon_before})"
        details = {
            "policy": self.name,
            "action": action,
            "nowBefore": now_before,
            "nowAfter": now_after,
            "delta": delta,
            f"next{HORIZON_DAYS}DaysBefore": soon_before,
            f"next{HORIZON_DAYS}DaysAfter": soon_after,
        }
        if problems:
            details["problems"] = problems
        return [
            Finding(
                "retention",
                self.object,
                max(delta, 0),
                total,
                summary,
                self.extra.samples,
                self.extra.values,
                details,
            )
        ]
