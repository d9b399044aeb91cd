"""`crmctl import --from dataverse-solution DIR`: convert an unpacked Dataverse solution."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.config.environment import display_path
from crmctl.errors import CrmctlError
from crmctl.importer.dataverse import DATAVERSE_HEADER, import_dataverse_solution
from crmctl.importer.sfdx import manifest_files, write_manifests
from crmctl.render.sfdx_view import sfdx_import_text

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
    existing = [f for f in manifest_files(result) if (out_dir / f).exists()]
    if existing and not force:
        raise CrmctlError(
            f"{len(existing)} file(s) to write already exist in {display_path(out_dir)}, "
            f"e.g. {existing[0]}; nothing was written",
            hint="import into an empty folder, or pass --force to overwrite them",
        )
    written = write_manifests(result, out_dir, owner, header=DATAVERSE_HEADER)
    click.echo(sfdx_import_text(result, out_dir, written, colour))
    return 0
