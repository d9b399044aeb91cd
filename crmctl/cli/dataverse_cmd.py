"""`crmctl import --from dataverse-solution DIR`: convert an unpacked Dataverse solution."""

from __future__ import annotations

from pathlib import Path

from crmctl.cli.sfdx_cmd import write_import
from crmctl.config.environment import display_path
from crmctl.errors import CrmctlError
from crmctl.importer.dataverse import DATAVERSE_HEADER, import_dataverse_solution

__all__ = ["import_from_dataverse_solution"]


def import_from_dataverse_solution(
    folder: Path, out_dir: Path, force: bool, owner: str | None, colour: bool
) -> int:
    """Parse -> convert -> write -> report. Exit status 0 (the report is information)."""
    if not folder.is_dir():
        raise CrmctlError(f"{display_path(folder)} is not a folder")
    result = import_dataverse_solution(folder)
    if not result.resources:
        raise CrmctlError(
            f"nothing to import from {display_path(folder)}: no convertible components found",
            hint="point at an unpacked solution (the folder holding Entities/ and Other/, "
            "as `pac solution unpack` writes it)",
        )
    return write_import(result, out_dir, force, owner, colour, header=DATAVERSE_HEADER)
