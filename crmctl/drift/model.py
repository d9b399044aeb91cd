"""What drift detection found: out-of-band changes, ignored ones, and pending manifest changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crmctl.errors import SourceLocation
from crmctl.plan.action import Action
from crmctl.plan.diff import FieldDiff

__all__ = [
    "DriftType",
    "IgnoreRule",
    "Attribution",
    "IgnoredDiff",
    "Drift",
    "PendingChange",
    "Baseline",
    "DriftReport",
]


class DriftType(StrEnum):
    """How the live CRM departs from what crmctl last applied; the values are what reports print."""

    MODIFIED = "modified"
    DELETED = "deleted"
    CREATED = "created"

    @property
    def symbol(self) -> str:
        return {"modified": "~", "deleted": "-", "created": "+"}[self.value]


@dataclass(frozen=True)
class IgnoreRule:
    """One `drift.ignore` entry of the environment file."""

    target: str  # Kind/name glob
    path: str | None  # spec path glob; None: the whole resource
    reason: str
    location: SourceLocation | None = None  # display only


@dataclass(frozen=True)
class Attribution:
    """Who made an out-of-band change and when, from the CRM's audit trail."""

    actor: str
    at: str
    action: str  # create | update | delete, as the CRM recorded it


@dataclass(frozen=True)
class IgnoredDiff:
    """A field-level difference an ignore rule covers: reported, never counted."""

    diff: FieldDiff
    rule: IgnoreRule


@dataclass
class Drift:
    """One resource that differs from the baseline in the live CRM.

    `diffs` are the differences that count (baseline -> live); `ignored` the
    ones an ignore rule covers. `ignored_by` is set when a whole-resource rule
    covers it. A drift counts unless it is ignored as a whole or all its
    differences are.
    """

    kind: str
    name: str
    type: DriftType
    baseline: dict[str, Any] | None
    live: dict[str, Any] | None
    diffs: list[FieldDiff] = field(default_factory=list)
    ignored: list[IgnoredDiff] = field(default_factory=list)
    ignored_by: IgnoreRule | None = None
    changed_by: Attribution | None = None
    # The manifests now say what the live CRM holds (`crmctl import` adopted the change):
    # reported, not counted; the next recorded apply makes it part of the baseline.
    adopted: bool = False

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def counts(self) -> bool:
        """Whether this drift makes `crmctl drift` exit 2."""
        if self.ignored_by is not None or self.adopted:
            return False
        return bool(self.diffs) or self.type is not DriftType.MODIFIED

    @property
    def reasons(self) -> list[str]:
        """Why (parts of) it are ignored, each reason once."""
        found = [self.ignored_by.reason] if self.ignored_by else []
        found += [i.rule.reason for i in self.ignored]
        return list(dict.fromkeys(found))


@dataclass
class PendingChange:
    """A manifest change not applied yet (desired differs from the baseline): never drift."""

    kind: str
    name: str
    action: Action  # CREATE, UPDATE or DELETE
    diffs: list[FieldDiff] = field(default_factory=list)  # baseline -> desired

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Baseline:
    """What the live CRM is compared with.

    `source` is "history" (the `after` snapshot of an applied version) or
    "manifests" (no apply recorded yet: then a difference may also be a
    manifest change that was never applied).
    """

    source: str
    version: int | None = None
    applied_at: str | None = None
    applied_by: str | None = None
    latest: int | None = None  # the latest version, when drift is measured since an older one

    @property
    def older(self) -> bool:
        """Whether this is an older version than the latest (`--since-version`)."""
        return bool(self.version and self.latest and self.version < self.latest)

    @property
    def description(self) -> str:
        if self.source == "manifests":
            return "the manifests (no apply is recorded for this environment yet)"
        by = f" by {self.applied_by}" if self.applied_by else ""
        at = f" at {self.applied_at}" if self.applied_at else ""
        later = f"; later versions up to v{self.latest} count as changes" if self.older else ""
        return f"what v{self.version} applied{at}{by}{later}"


@dataclass
class DriftReport:
    """Everything `crmctl drift` found for one environment."""

    environment: str
    baseline: Baseline
    drifts: list[Drift] = field(default_factory=list)  # in address order
    pending: list[PendingChange] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)  # managed or declared, live equals baseline
    unmanaged: list[str] = field(default_factory=list)  # left alone: never managed, not new
    attribution: bool = False  # whether the CRM's audit trail was available
    provider: str = ""
    checked_at: str = ""

    @property
    def drifted(self) -> list[Drift]:
        """The drifts that count."""
        return [d for d in self.drifts if d.counts]

    @property
    def ignored(self) -> list[Drift]:
        """Drifts with anything ignored (whole or some of their differences)."""
        return [d for d in self.drifts if d.ignored_by is not None or d.ignored]

    @property
    def fully_ignored(self) -> list[Drift]:
        return [d for d in self.drifts if not d.counts and not d.adopted]

    @property
    def adopted(self) -> list[Drift]:
        return [d for d in self.drifts if d.adopted]

    @property
    def exit_code(self) -> int:
        """0 in sync (pending changes and ignored drift included), 2 drifted."""
        return 2 if self.drifted else 0

    def counts(self) -> dict[str, int]:
        drifted = self.drifted
        return {
            "modified": sum(d.type is DriftType.MODIFIED for d in drifted),
            "deleted": sum(d.type is DriftType.DELETED for d in drifted),
            "created": sum(d.type is DriftType.CREATED for d in drifted),
            "ignored": len(self.fully_ignored),
            "adopted": len(self.adopted),
            "pending": len(self.pending),
            "inSync": len(self.in_sync),
        }

    def summary(self) -> str:
        """The one line every output format ends with (and `--output` still prints)."""
        c = self.counts()
        tail = []
        if c["ignored"]:
            tail.append(f"{c['ignored']} ignored")
        if c["adopted"]:
            tail.append(f"{c['adopted']} adopted into the manifests")
        if c["pending"]:
            tail.append(f"{c['pending']} pending manifest change{'s' * (c['pending'] != 1)}")
        tail.append(f"{c['inSync']} in sync")
        if not self.drifted:
            return f"No drift in {self.environment}: " + ", ".join(tail) + "."
        counted = f"{c['modified']} modified, {c['deleted']} deleted, {c['created']} created"
        if self.baseline.older:
            head = f"Drift in {self.environment} since v{self.baseline.version}: {counted}"
        else:
            head = f"Drift in {self.environment}: {counted} out of band"
        return head + "; " + ", ".join(tail) + "."
