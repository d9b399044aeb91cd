"""What a planned change does to the records already in the CRM: findings and the report.

A `Finding` is one effect of one change on one object's records ("rejects
12 of 250 Contact records"). Samples are record ids only; field values are
kept only when the caller asked for them (`--show-values`), so a report can
be pasted into a pull request without leaking personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_SAMPLES", "Finding", "ChangeImpact", "ImpactReport"]

#: At most this many sample record ids (or pairs) per finding.
MAX_SAMPLES = 5


@dataclass
class Finding:
    """One effect of a change on existing records of one object."""

    effect: str  # rejects | invalid | holds-removed-value | drops-values | drops-records |
    #              retention | duplicates | not-evaluated
    object: str
    count: int  # records affected (pairs, for duplicates)
    total: int  # records of the object that were examined
    summary: str  # one sentence, without the numbers' percentage
    samples: list[str] = field(default_factory=list)  # record ids ("id1/id2" for pairs)
    values: dict[str, Any] = field(default_factory=dict)  # sample -> values (--show-values only)
    details: dict[str, Any] = field(default_factory=dict)  # effect-specific figures

    @property
    def percent(self) -> float:
        """Share of the object's examined records affected (0 when it has none)."""
        return 100.0 * self.count / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "effect": self.effect,
            "object": self.object,
            "count": self.count,
            "total": self.total,
            "percent": round(self.percent, 2),
            "summary": self.summary,
            "samples": list(self.samples),
            "details": self.details,
        }
        if self.values:
            out["values"] = self.values
        return out


@dataclass
class ChangeImpact:
    """Every finding of one change (none: it touches no existing record)."""

    address: str
    action: str  # the plan's symbol: + ~ - ±
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class ImpactReport:
    """The impact of a plan's changes, measured on one set of records."""

    source: str  # where the records came from, for the reader
    now: str  # the moment retention was measured at (ISO date-time, UTC)
    records: dict[str, int] = field(default_factory=dict)  # object -> records examined
    changes: list[ChangeImpact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # limits, truncation, what was not measured
    show_values: bool = False

    def get(self, address: str) -> ChangeImpact | None:
        return next((c for c in self.changes if c.address == address), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "now": self.now,
            "records": dict(self.records),
            "showValues": self.show_values,
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }
