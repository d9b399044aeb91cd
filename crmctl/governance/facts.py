"""What git and the signatures say about approval records and changes: plain values.

`crmctl.governance.gitverify` gathers the git facts, `crmctl.governance.verify`
checks the signatures; the pure status code (`crmctl.governance.status`)
decides what they mean for an approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordProvenance", "GitFacts", "Requesters", "GovernanceBaseline"]


@dataclass(frozen=True)
class RecordProvenance:
    """How one record file got into the repository."""

    committed: bool  # a commit in HEAD's history added it
    commit: str | None = None  # short id of the commit that added it
    author: str | None = None  # that commit's author email
    changed_by: str | None = None  # a later commit that changed the file, or "the working tree"
    committer: str | None = None  # that commit's committer email


@dataclass(frozen=True)
class Requesters:
    """Who asked for a change: everyone on the commits to its files since the last apply."""

    people: tuple[str, ...] = ()  # lower-case emails (authors, committers, co-authors, signers)
    problems: tuple[str, ...] = ()  # why they cannot all be known (then nobody may approve)

    def text(self) -> str:
        if self.problems:
            return "unknown"
        return ", ".join(self.people) or "nobody since the last apply"


@dataclass
class GitFacts:
    """Everything the approval status needs to know from git, gathered in one place."""

    repository: bool  # False when the project is not in a git repository
    records: dict[str, RecordProvenance] = field(default_factory=dict)  # unsigned, by path
    signatures: dict[str, str | None] = field(default_factory=dict)  # path -> problem or None
    requesters: dict[str, Requesters] = field(default_factory=dict)  # by change address


@dataclass(frozen=True)
class GovernanceBaseline:
    """The governance settings an environment was last applied with, as its history recorded them."""

    state: dict[str, Any] | None  # None: never applied with governance recorded
    version: int | None = None  # the version that recorded them
