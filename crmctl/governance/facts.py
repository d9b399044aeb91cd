"""What git says about approval records and changes: plain values, no git here.

`crmctl.governance.gitverify` gathers these facts from the project's git
repository; the pure status code (`crmctl.governance.status`) decides what
they mean for an approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordProvenance", "GitFacts", "PolicyBaseline", "UNSIGNED", "GOOD", "BAD"]

UNSIGNED = "unsigned"
GOOD = "good"
BAD = "bad"


@dataclass(frozen=True)
class RecordProvenance:
    """How one record file got into the repository."""

    committed: bool  # a commit in HEAD's history added it
    commit: str | None = None  # short id of the commit that added it
    author: str | None = None  # that commit's author email
    changed_by: str | None = None  # a later commit that changed the file, or "the working tree"
    signature: str | None = None  # UNSIGNED, GOOD or BAD (None: not checked)
    signer: str | None = None  # email of the key that made a good signature
    signature_detail: str = ""  # what `git verify-commit` said about a bad one


@dataclass
class GitFacts:
    """Everything the approval status needs to know from git, gathered in one place."""

    repository: bool  # False when the project is not in a git repository
    records: dict[str, RecordProvenance] = field(default_factory=dict)  # by record path
    authors: dict[str, str] = field(default_factory=dict)  # change address -> author email


@dataclass(frozen=True)
class PolicyBaseline:
    """The approvals section before its latest change, and who changed it."""

    section: dict[str, Any] | None  # None: the file had no approvals section (or did not exist)
    since: (
        str  # where the current section comes from: "in commit 1a2b3c4" or "in uncommitted edits"
    )
    author: str  # author of that commit, or the current actor for uncommitted edits
