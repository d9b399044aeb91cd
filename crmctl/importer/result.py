"""What an import did: the resources written, the files created or removed, what to check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crmctl.errors import Diagnostic

__all__ = ["Imported", "ImportResult"]


@dataclass(frozen=True)
class Imported:
    """One resource written to (or removed from) a manifest file."""

    address: str
    file: Path
    what: str  # "written" (whole-org), "updated", "added", "removed"


@dataclass
class ImportResult:
    """What an import wrote, what to look at, and validation problems in the written files."""

    imported: list[Imported] = field(default_factory=list)
    created_files: list[Path] = field(default_factory=list)
    deleted_files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    without_owner: list[str] = field(default_factory=list)  # written with a TODO for the owner

    @property
    def files(self) -> list[Path]:
        return list(dict.fromkeys(i.file for i in self.imported))
