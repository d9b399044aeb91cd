"""The plan: the ordered changes that would make the CRM match the manifests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crmctl.errors import Diagnostic, Severity, SourceLocation
from crmctl.plan.action import Action
from crmctl.plan.approval_state import ApprovalState
from crmctl.plan.diff import FieldDiff

__all__ = ["Change", "Plan", "fingerprint"]


def fingerprint(spec: dict[str, Any] | None) -> str | None:
    """A digest of a canonical spec: equal specs, equal fingerprints."""
    if spec is None:
        return None
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class Change:
    """One resource's change.

    `before` is the live spec and `after` the desired one (both canonical;
    None where the resource is absent). `live_fingerprint` is the digest of
    `before` at planning time: apply uses it to refuse a stale saved plan.
    `reason` is for display only, never for apply-time decisions.
    """

    kind: str
    name: str
    action: Action
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    diffs: Sequence[FieldDiff]  # a list, or AddedDiffs for a create
    live_fingerprint: str | None
    reason: str
    source: SourceLocation | None = None  # where the manifest declares it (display only)
    requires: list[str] = field(default_factory=list)  # governance roles whose approval it needs
    # What approvals it had when planned: display only, never for apply-time decisions
    # (apply verifies approvals again).
    approvals: ApprovalState | None = None
    # The address as the planner had it (the desired state's or the live read's key): shared,
    # so a large plan and what apply records from it hold one string per address, not one
    # per use. None: made from kind and name when asked.
    address_key: str | None = field(default=None, repr=False, compare=False)

    @property
    def address(self) -> str:
        key = self.address_key
        return key if key is not None else f"{self.kind}/{self.name}"


@dataclass
class Plan:
    """Everything `crmctl plan` found: changes in apply order, unmanaged resources, problems."""

    environment: str
    changes: list[Change] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)  # live resources crmctl leaves alone
    diagnostics: list[Diagnostic] = field(default_factory=list)
    manifests_digest: str = ""
    targets: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    provider: str = ""
    created_at: str = ""
    crmctl_version: str = ""
    rollback_to: str | None = None  # set when the plan returns to an earlier version
    # For a rollback plan: sha256 of the version's recorded snapshot (crmctl.plan.binding);
    # apply refuses the plan when the history no longer holds that snapshot.
    snapshot_digest: str | None = None
    # The environment file's approvals section changed: the pseudo-change
    # `Environment/<name>` and its approvals. Display only; not applied, not counted.
    policy_change: Change | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def applicable(self) -> bool:
        """Whether apply may carry this plan out (no error diagnostics)."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """How many resources are added, changed and destroyed (a replace is one add and one destroy)."""
        add = sum(c.action in (Action.CREATE, Action.REPLACE) for c in self.changes)
        change = sum(c.action is Action.UPDATE for c in self.changes)
        destroy = sum(c.action in (Action.DELETE, Action.REPLACE) for c in self.changes)
        return {"add": add, "change": change, "destroy": destroy}

    def summary(self) -> str:
        if not self.changes:
            if self.errors:
                return "No changes planned."
            if self.targets or self.excludes:
                return "No changes in the selected resources."
            return "No changes. The CRM matches the manifests."
        c = self.counts()
        return f"Plan: {c['add']} to add, {c['change']} to change, {c['destroy']} to destroy."
