"""What a change's approvals looked like when the plan was made: display only.

Governance (`crmctl.governance`) fills this in after planning. Apply never
trusts it: approvals are verified again, against git, when a plan is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApprovalLine", "ApprovalState", "APPROVED", "MISSING", "STALE", "NOT_COUNTED"]

APPROVED = "approved"
MISSING = "missing"
STALE = "stale"
NOT_COUNTED = "not counted"


@dataclass(frozen=True)
class ApprovalLine:
    """One line of a change's approvals checklist: a role and who (if anyone) approved it."""

    role: str
    state: str  # APPROVED, MISSING, STALE or NOT_COUNTED
    approver: str | None = None
    ticket: str | None = None
    record: str | None = None  # the record file, relative to the project
    record_id: str | None = None  # the digest of the record's signed content (marks it used)
    detail: str = ""  # why it is stale or does not count; what is missing

    @property
    def done(self) -> bool:
        return self.state == APPROVED

    def text(self) -> str:
        """`security-officer: tomas.berg@northwind.example (CHG-1234)` or why not."""
        who = self.approver or ""
        ticket = f" ({self.ticket})" if self.ticket else ""
        if self.state == APPROVED:
            return f"{self.role}: {who}{ticket}"
        if self.state == MISSING:
            return f"{self.role}: {self.detail or 'missing'}"
        if self.state == STALE:
            return f"{self.role}: stale: {who}{ticket} {self.detail}"
        return f"{self.role}: {who}{ticket} does not count: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "state": self.state,
            "approver": self.approver,
            "ticket": self.ticket,
            "record": self.record,
            "recordId": self.record_id,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalLine:
        return cls(
            data["role"],
            data["state"],
            data.get("approver"),
            data.get("ticket"),
            data.get("record"),
            data.get("recordId"),
            data.get("detail", ""),
        )


@dataclass
class ApprovalState:
    """The approvals a change needs and has. `problems` empty means it may be applied."""

    required: list[str]  # governance roles, in the order the policy's rules name them
    rules: list[str]  # the policy rules the change matched
    lines: list[ApprovalLine] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each reason apply refuses
    author: str | None = None  # its requesters, comma-separated (separation of duties)

    @property
    def satisfied(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": list(self.required),
            "rules": list(self.rules),
            "author": self.author,
            "satisfied": self.satisfied,
            "lines": [line.to_dict() for line in self.lines],
            "problems": list(self.problems),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalState:
        return cls(
            list(data.get("required", [])),
            list(data.get("rules", [])),
            [ApprovalLine.from_dict(line) for line in data.get("lines", [])],
            list(data.get("problems", [])),
            data.get("author"),
        )
