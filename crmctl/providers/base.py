"""The provider protocol: what crmctl needs from a CRM, and nothing more.

A provider reads the live configuration of the kinds it supports (through
list endpoints, never one request per resource) and applies a batch of
changes, returning what was applied and what failed: partial success is a
normal result, not an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from crmctl.errors import Diagnostic, Severity
from crmctl.model import Resource
from crmctl.plan.model import Change

__all__ = [
    "Provider",
    "ApplyResult",
    "ChangeFailure",
    "ChangeLogEntry",
    "KeepsChangeLog",
    "ResolvesWrites",
    "ChecksPlan",
    "LeavesKeysUnstored",
    "unstored_keys_of",
]


@dataclass(frozen=True)
class ChangeFailure:
    """A change the CRM refused, with the CRM's reason."""

    address: str
    message: str


@dataclass
class ApplyResult:
    """What a provider did with a batch: applied addresses in order, and failures."""

    applied: list[str] = field(default_factory=list)
    failed: list[ChangeFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class Provider(Protocol):
    """One CRM behind the same small interface."""

    #: Provider type as named in environment files (`sandbox`, `salesforce`).
    type: str

    def describe(self) -> str:
        """Where this provider points, for display (never includes secrets)."""
        ...

    def supported_kinds(self) -> tuple[str, ...]:
        """The manifest kinds this CRM has an equivalent for."""
        ...

    def read(self, kinds: Iterable[str]) -> list[Resource]:
        """The live configuration of `kinds` (specs in crmctl's canonical shape)."""
        ...

    def apply(self, changes: list[Change]) -> ApplyResult:
        """Carry out changes in the given order; stop at the first failure."""
        ...

    def requires_replace(
        self, kind: str, before: dict[str, Any], after: dict[str, Any]
    ) -> str | None:
        """Why a change cannot be made in place (so it must be a replace), or None."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class ChangeLogEntry:
    """One configuration change from the CRM's audit trail: who changed what, and when."""

    address: str  # Kind/name
    action: str  # create | update | delete
    actor: str  # the CRM user who made it
    at: str  # ISO-8601 time, as the CRM recorded it
    seq: int | None = None  # the CRM's sequence number, where it has one


@runtime_checkable
class KeepsChangeLog(Protocol):
    """Optional capability: a CRM with an audit trail of configuration changes.

    Drift detection uses it to say who made an out-of-band change; providers
    without it report drift without attribution.
    """

    def change_log(self, since: str | None = None) -> list[ChangeLogEntry]:
        """Configuration changes in order, from ISO time `since` (everything when None)."""
        ...

    def change_log_actor(self) -> str | None:
        """The CRM user this provider's own changes are recorded under, if known."""
        ...


@runtime_checkable
class ResolvesWrites(Protocol):
    """Optional capability: writes carry an id the CRM remembers, so a lost answer can be settled.

    The executor gives each chunk of changes a write id and journals it before
    sending. After a crash or a dropped connection, `resolve_write` asks the
    CRM whether that write landed and makes sure nothing of it can land later
    (a request still in flight is refused), so the next read of the CRM is final.
    """

    def apply_write(
        self, changes: list[Change], write_id: str, note_ref: Callable[[str], None] | None
    ) -> ApplyResult:
        """`apply` as write `write_id`; `note_ref` hears any id the CRM gives the write (a
        Salesforce deploy id), which the journal keeps for `resolve_write`."""
        ...

    def resolve_write(self, write_id: str, refs: Sequence[str] = ()) -> bool:
        """Whether any request of write `write_id` (CRM ids `refs`) landed; nothing of it can
        land after this returns."""
        ...


@runtime_checkable
class ChecksPlan(Protocol):
    """Optional capability: a CRM that refuses some changes up front, at the manifest line.

    The plan asks it after comparing: an error diagnostic makes the plan
    unappliable (a Dataverse column's data type cannot change), a warning
    says what the CRM will not do with a resource (a rule it cannot author).
    """

    def plan_diagnostics(
        self, desired: Mapping[str, Resource], changes: Sequence[Change]
    ) -> list[Diagnostic]:
        """Problems with the desired resources and the planned changes, located in the manifests."""
        ...


@runtime_checkable
class LeavesKeysUnstored(Protocol):
    """Optional capability: a CRM with no place for some spec keys of a kind.

    Such a key (a Dataverse column's `classification`) is a label crmctl keeps in git:
    the plan carries the desired value into the live spec before comparing, so the key
    never shows as a change and is never sent; the desired spec (governance, lint,
    impact) keeps it. Drift leaves it out on every side.
    """

    def unstored_keys(self, kind: str) -> frozenset[str]:
        """The spec keys of `kind` this CRM does not store (empty when it stores them all)."""
        ...


def unstored_keys_of(provider: object, kinds: Iterable[str]) -> dict[str, frozenset[str]]:
    """kind -> the keys `provider` does not store, for the kinds that have any."""
    if not isinstance(provider, LeavesKeysUnstored):
        return {}
    found = {kind: frozenset(provider.unstored_keys(kind)) for kind in kinds}
    return {kind: keys for kind, keys in found.items() if keys}


def unsupported_warnings(
    vendor: str, notes: Mapping[str, Sequence[str]], shown: int = 5
) -> list[Diagnostic]:
    """One warning per note a read left: how many components, the first `shown` addresses.

    `notes` maps a note ("left alone (...)") to the addresses it is about; the text is
    "N <vendor> component(s): <note> (a, b, c and N more)", in the notes' sorted order.
    """
    out = []
    for note, addresses in sorted(notes.items()):
        listed = ", ".join(addresses[:shown])
        more = f" and {len(addresses) - shown} more" if len(addresses) > shown else ""
        out.append(
            Diagnostic(
                f"{len(addresses)} {vendor} component(s): {note} ({listed}{more})",
                severity=Severity.WARNING,
                code="unsupported",
            )
        )
    return out
