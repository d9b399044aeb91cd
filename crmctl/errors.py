"""Errors and diagnostics: the one place crmctl's failures are defined.

Diagnostics are *collected* (validation reports every problem it finds);
exceptions are for *aborting* (a server that cannot be reached, a plan that is
stale). The CLI's root command is the only place either is rendered.

Exception tree::

    CrmctlError                 exit 1; message + hint + optional location
     ├── ManifestError          bad manifests; carries a list of Diagnostics
     ├── EnvironmentFileError   unknown or invalid environment file
     ├── ProviderError          the CRM said no, or could not be reached
     │    ├── TransportError    connection refused / reset / timed out
     │    ├── AuthError         401 / 403 / bad credentials
     │    └── RateLimitError    429 after retries ran out
     ├── PlanError              a plan that cannot be made or applied (stale, protected)
     ├── ApprovalError          required approvals missing or invalid
     ├── ApplyError             an apply that stopped part-way
     └── HistoryError           the history store cannot be read or written
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Severity",
    "SourceLocation",
    "Diagnostic",
    "CrmctlError",
    "ManifestError",
    "EnvironmentFileError",
    "ProviderError",
    "TransportError",
    "AuthError",
    "RateLimitError",
    "PlanError",
    "ApprovalError",
    "ApplyError",
    "HistoryError",
]


_MAX_SHOWN_ADDRESS = 120


class Severity(StrEnum):
    """How bad a diagnostic is: errors make a command fail, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A place in a file: 1-based line; column is 1-based or 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the user's input, with where it is and how to fix it."""

    message: str
    location: SourceLocation | None = None
    address: str | None = None  # "Kind/name" of the resource it is about
    hint: str | None = None
    severity: Severity = Severity.ERROR
    code: str = "invalid"  # stable machine-readable identifier
    #: The file whose parse failure probably caused this problem (a reference to a resource
    #: that file declares but could not be read); shown grouped under that file's error.
    caused_by: str | None = None

    def render(self) -> str:
        """`file:line: Kind/name: message` (the format users grep for)."""
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.address:
            # A name can be any length until validate refuses it; keep the line readable.
            long = len(self.address) > _MAX_SHOWN_ADDRESS
            parts.append(self.address[: _MAX_SHOWN_ADDRESS - 3] + "..." if long else self.address)
        parts.append(self.message)
        return ": ".join(parts)

    def sort_key(self) -> tuple:
        loc = self.location or SourceLocation("")
        return (loc.file, loc.line, loc.column, self.address or "", self.message)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "column": (self.location.column or None) if self.location else None,
            "address": self.address,
            "hint": self.hint,
            **({"causedBy": self.caused_by} if self.caused_by else {}),
        }


@dataclass
class CrmctlError(Exception):
    """Base of every error crmctl reports to a user; never shown as a traceback."""

    message: str
    hint: str | None = None
    location: SourceLocation | None = None
    exit_code: int = 1
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: {self.message}"
        return self.message


class ManifestError(CrmctlError):
    """The manifests (or one file of them) are invalid; see `diagnostics`."""


class EnvironmentFileError(CrmctlError):
    """An environment file is missing or invalid."""


class ProviderError(CrmctlError):
    """The CRM refused a request or answered with something unusable."""


class TransportError(ProviderError):
    """The CRM could not be reached (refused, reset, timed out)."""


class AuthError(ProviderError):
    """The CRM rejected the credentials or the caller lacks permission."""


class RateLimitError(ProviderError):
    """The CRM kept answering 429 after every retry."""


class PlanError(CrmctlError):
    """A plan cannot be made or applied (stale saved plan, protected delete…)."""


class ApprovalError(CrmctlError):
    """Required approvals are missing, stale or not verifiable."""


class ApplyError(CrmctlError):
    """An apply stopped part-way; the message says what was and was not applied."""


class HistoryError(CrmctlError):
    """The history store could not be read or written."""
